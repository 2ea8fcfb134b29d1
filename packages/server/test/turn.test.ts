/**
 * GET /v1/turn-credentials (src/http/turn-routes.ts) on a real server in this process: a session
 * is required; the credential is HMAC-SHA1 of the username under the configured secret (what
 * coturn's `use-auth-secret` recomputes), the username starts with its expiry, and a server
 * without TURN hands out none. The flags are checked too.
 */
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { ConfigError, parseConfig } from '../src/config.ts'
import { startTestServer, type TestServer } from './support/test-server.ts'

const SECRET = 'a turn secret of some length 1234'
const URLS = ['turn:127.0.0.1:3478?transport=udp', 'turn:127.0.0.1:3478?transport=tcp']

function code(r: { body: Record<string, unknown> | null }): unknown {
  return (r.body?.error as { code?: unknown } | undefined)?.code
}

describe('TURN credentials', () => {
  let dir = ''
  let withTurn: TestServer
  let without: TestServer
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tacit-turn-test-'))
    const secretFile = join(dir, 'turn-secret')
    writeFileSync(secretFile, `${SECRET}\n`, { mode: 0o600 })
    withTurn = await startTestServer([
      '--turn-url',
      URLS.join(','),
      '--turn-secret-file',
      secretFile,
      '--turn-ttl-s',
      '600',
    ])
    without = await startTestServer()
  })
  after(async () => {
    await withTurn?.stop()
    await without?.stop()
    if (dir !== '') rmSync(dir, { recursive: true, force: true })
  })

  it('needs a device session', async () => {
    const none = await withTurn.api.request('GET', '/v1/turn-credentials')
    assert.equal(none.status, 401)
    assert.equal(code(none), 'unauthenticated')
    const forged = await withTurn.api.request('GET', '/v1/turn-credentials', { token: 'A'.repeat(43) })
    assert.equal(forged.status, 401)
    assert.equal(code(forged), 'unauthenticated')
  })

  it('hands out credentials that verify with the secret and expire after the TTL', async () => {
    const alice = await withTurn.api.register(withTurn.invite, 'alice')
    const before = Math.floor(Date.now() / 1000)
    const r = await withTurn.api.request('GET', '/v1/turn-credentials', { token: alice.token })
    const after = Math.floor(Date.now() / 1000)
    assert.equal(r.status, 200)
    assert.equal(r.headers.get('cache-control'), 'no-store')
    const servers = r.body!.iceServers as { urls: string[]; username: string; credential: string }[]
    assert.equal(servers.length, 1)
    const [server] = servers
    assert.deepEqual(server!.urls, URLS)
    const m = /^(\d+):([A-Za-z0-9_-]{16})$/.exec(server!.username)
    assert.ok(m, `username ${server!.username}`)
    const expiry = Number(m[1])
    assert.ok(expiry >= before + 600 && expiry <= after + 600, 'expiry is now + TTL')
    assert.equal(r.body!.expiresAt, expiry * 1000)
    const expected = createHmac('sha1', SECRET).update(server!.username).digest('base64')
    assert.equal(server!.credential, expected)
    const wrong = createHmac('sha1', 'another secret of some length 1234')
      .update(server!.username)
      .digest('base64')
    assert.notEqual(server!.credential, wrong)
    // A fresh opaque id each time: allocations cannot be linked to each other or to the account.
    const again = await withTurn.api.request('GET', '/v1/turn-credentials', { token: alice.token })
    const second = (again.body!.iceServers as { username: string }[])[0]!
    assert.notEqual(second.username.split(':')[1], m[2])
  })

  it('hands out none when TURN is not configured', async () => {
    const bob = await without.api.register(without.invite, 'bob')
    const r = await without.api.request('GET', '/v1/turn-credentials', { token: bob.token })
    assert.equal(r.status, 200)
    assert.deepEqual(r.body, { iceServers: [], expiresAt: 0 })
  })

  it('checks the TURN flags', () => {
    const secretFile = join(dir, 'turn-secret')
    const ok = parseConfig(['--turn-url', URLS[0]!, '--turn-secret-file', secretFile], {})
    assert.deepEqual(ok.policy.turn?.urls, [URLS[0]])
    assert.equal(ok.policy.turn?.ttlSeconds, 3600)
    assert.equal(new TextDecoder().decode(ok.policy.turn?.secret), SECRET)
    const fromEnv = parseConfig([], { TACIT_TURN_URLS: URLS.join(','), TACIT_TURN_SECRET: SECRET })
    assert.deepEqual(fromEnv.policy.turn?.urls, URLS)
    assert.equal(parseConfig([], {}).policy.turn, null)
    const refused = [
      ['--turn-url', URLS[0]!],
      ['--turn-url', 'http://example.org', '--turn-secret-file', secretFile],
      ['--turn-url', URLS[0]!, '--turn-secret-file', join(dir, 'missing')],
      ['--turn-url', URLS[0]!, '--turn-secret-file', secretFile, '--turn-ttl-s', '5'],
    ]
    for (const argv of refused) assert.throws(() => parseConfig(argv, {}), ConfigError, argv.join(' '))
    assert.throws(() => parseConfig(['--turn-url', URLS[0]!], { TACIT_TURN_SECRET: 'short' }), ConfigError)
  })
})
