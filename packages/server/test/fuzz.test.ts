/**
 * Random and malformed requests and frames against the running server (in this process): every
 * answer is a well-formed error or success, never a 500, and the server keeps serving. Each
 * property runs a bounded number of cases.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { WIRE_ERRORS } from '@tacit/protocol/wire/errors'
import fc from 'fast-check'
import { newInvite, startTestServer, type TestServer } from './support/test-server.ts'
import { WsTestClient } from './support/ws-client.ts'

let t: TestServer
let token = ''
before(async () => {
  t = await startTestServer()
  token = (await t.api.register(await newInvite(t), 'fuzzer')).token
})
after(async () => {
  await t.stop()
})

const PATHS = [
  '/v1/accounts',
  '/v1/accounts/fuzzer',
  '/v1/accounts/fuzzer/devices',
  '/v1/devices/AAAAAAAAAAAAAAAAAAAAAA',
  '/v1/sessions',
  '/v1/key-packages',
  '/v1/key-packages/count',
  '/v1/key-packages/claim',
  '/v1/delivery-tokens',
  '/v1/blobs',
  '/v1/blobs/AAAAAAAAAAAAAAAAAAAAAA',
  '/v1/blobs/AAAAAAAAAAAAAAAAAAAAAA/upload',
  '/v1/challenges',
  '/%ZZ',
]

const jsonValue = fc.jsonValue({ maxDepth: 3 })
const fieldNames = fc.constantFrom(
  'invite',
  'handle',
  'identityKey',
  'challenge',
  'device',
  'oneTime',
  'lastResort',
  'token',
  'size',
  'deviceId',
  'signature',
)

describe('fuzzing the HTTP core', () => {
  it('answers random JSON bodies on every endpoint with a known error code or success', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PATCH', 'DELETE', 'PUT'),
        fc.constantFrom(...PATHS),
        fc.oneof(jsonValue, fc.dictionary(fieldNames, jsonValue)),
        fc.boolean(),
        async (method, path, body, withToken) => {
          const r = await t.api.request(method, path, {
            ...(method === 'GET' || method === 'DELETE' ? {} : { json: body }),
            ...(withToken ? { token } : {}),
          })
          assert.ok(r.status < 500, `${method} ${path} -> ${r.status} ${JSON.stringify(r.body)}`)
          if (r.status >= 400) {
            const code = (r.body?.error as { code?: string } | undefined)?.code
            assert.ok(
              code !== undefined && code in WIRE_ERRORS,
              `unknown error body ${JSON.stringify(r.body)}`,
            )
          }
        },
      ),
      { numRuns: 300 },
    )
  })

  it('answers random raw bytes as bodies without a 500', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...PATHS),
        fc.uint8Array({ maxLength: 2000 }),
        fc.constantFrom('application/json', 'application/octet-stream'),
        async (path, body, type) => {
          const r = await t.api.request('POST', path, { body, token, headers: { 'content-type': type } })
          assert.ok(r.status < 500)
        },
      ),
      { numRuns: 200 },
    )
  })
})

describe('fuzzing the WebSocket endpoint', () => {
  it('answers random frames with decodable error frames and keeps the connection usable', async () => {
    const c = await WsTestClient.connect(t.wsUrl)
    const frames = fc.sample(
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        fc
          .tuple(fc.constantFrom(1, 2, 3, 4, 5), fc.uint8Array({ maxLength: 300 }))
          .map(([type, rest]) => Uint8Array.of(type, 0, 0, 0, 1, ...rest)),
      ),
      { numRuns: 300, seed: 42 },
    )
    for (const f of frames) c.sendRaw(f)
    // Every frame gets exactly one answer (an error: nothing random authenticates or resolves).
    await c.waitFor(
      () => c.frames.filter((f) => f.type === 'error').length >= frames.length || c.closeCode !== null,
      'answers',
    )
    assert.equal(c.closeCode, null)
    const answers = c.frames.filter((f) => f.type !== 'challenge')
    assert.equal(answers.length, frames.length)
    for (const f of answers) assert.ok(f.type === 'error' && f.code in WIRE_ERRORS)
    const ok = await c.request({
      type: 'send-sealed',
      ttlSeconds: 0,
      tokens: [new Uint8Array(32)],
      payload: Uint8Array.of(1),
    })
    assert.equal(ok.type === 'error' && ok.code, 'not-found')
    await c.close()
  })
})
