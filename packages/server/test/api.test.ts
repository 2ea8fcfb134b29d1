/**
 * The HTTP API through the `fetch(Request) -> Response` core (no socket), on SQLite in a
 * temporary folder.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { base64urlToBytes, bytesToBase64url } from '@tacit/protocol/wire/encoding'
import {
  MAX_JSON_BODY_BYTES,
  MAX_KEY_PACKAGES_PER_UPLOAD,
  MAX_LOOKUP_HANDLES,
} from '@tacit/protocol/wire/limits'
import { MAX_CLAIM_HANDLES } from '../src/http/key-routes.ts'
import { generateTestKey } from './support/keys.ts'
import { interceptStorage, newInvite, startTestServer, type TestServer } from './support/test-server.ts'

let t: TestServer
before(async () => {
  t = await startTestServer(['--blob-quota-mb', '1', '--max-blob-mb', '1'])
})
after(async () => {
  await t.stop()
})

function code(r: { body: Record<string, unknown> | null }): unknown {
  return (r.body?.error as { code?: unknown } | undefined)?.code
}

describe('health and metrics', () => {
  it('answers /healthz and /metrics in Prometheus text', async () => {
    assert.equal((await t.api.request('GET', '/healthz')).status, 200)
    const m = await t.api.request('GET', '/metrics')
    assert.equal(m.status, 200)
    assert.match(new TextDecoder().decode(m.bytes), /# TYPE tacit_http_requests_total counter/)
  })

  it('maps unknown paths to not-found and wrong methods to method-not-allowed', async () => {
    const a = await t.api.request('GET', '/v1/nothing')
    assert.equal(a.status, 404)
    assert.equal(code(a), 'not-found')
    const b = await t.api.request('PUT', '/v1/accounts')
    assert.equal(b.status, 405)
    assert.equal(code(b), 'method-not-allowed')
    assert.equal(b.headers.get('allow'), 'POST')
  })
})

describe('registration by invite', () => {
  it('registers with the first-start invite, and the invite works only once', async () => {
    assert.match(t.invite, /^[A-Za-z0-9_-]{22}$/)
    const alice = await t.api.register(t.invite, 'alice')
    assert.equal(alice.deviceId.length, 22)
    const again = await t.api.request('POST', '/v1/accounts', {
      json: await t.api.registrationBody(t.invite, 'alice2', generateTestKey(), generateTestKey()),
    })
    assert.equal(again.status, 403)
    assert.equal(code(again), 'invite-invalid')
  })

  it('refuses a bad signature and a replayed challenge, and leaves the invite usable', async () => {
    const invite = await newInvite(t)
    const identity = generateTestKey()
    const key = generateTestKey()
    const body = await t.api.registrationBody(invite, 'bob', identity, key)
    const forged = { ...body, deviceSignature: bytesToBase64url(generateTestKey().sign(Uint8Array.of(1))) }
    const r1 = await t.api.request('POST', '/v1/accounts', { json: forged })
    assert.equal(r1.status, 401)
    assert.equal(code(r1), 'auth-failed')
    // The same (now consumed) challenge with valid signatures: refused as a replay.
    const r2 = await t.api.request('POST', '/v1/accounts', { json: body })
    assert.equal(r2.status, 401)
    assert.equal(code(r2), 'auth-failed')
    // The invite was not consumed by either failure.
    const bob = await t.api.register(invite, 'bob')
    assert.equal(bob.handle, 'bob')
  })

  it('refuses a taken handle without consuming the invite', async () => {
    const invite = await newInvite(t)
    await t.api.register(invite, 'carol')
    const invite2 = await newInvite(t)
    const r = await t.api.request('POST', '/v1/accounts', {
      json: await t.api.registrationBody(invite2, 'carol', generateTestKey(), generateTestKey()),
    })
    assert.equal(r.status, 409)
    assert.equal(code(r), 'already-exists')
    await t.api.register(invite2, 'carol2')
  })

  it('validates every field with a stable code', async () => {
    const invite = await newInvite(t)
    const good = await t.api.registrationBody(invite, 'dave', generateTestKey(), generateTestKey())
    const cases: [unknown, number, string][] = [
      [{ ...good, handle: 'Dave' }, 400, 'invalid-field'],
      [{ ...good, handle: 'x'.repeat(33) }, 413, 'too-large'],
      [{ ...good, handle: 7 }, 400, 'invalid-field'],
      [{ ...good, identityKey: 'AAAA' }, 400, 'invalid-field'],
      [{ ...good, identityKey: `${good.identityKey.slice(0, -1)}=` }, 400, 'invalid-field'],
      [{ ...good, device: null }, 400, 'invalid-field'],
      [{ ...good, device: { ...good.device, credential: 'A'.repeat(6000) } }, 413, 'too-large'],
      [[1, 2], 400, 'malformed'],
    ]
    for (const [json, status, c] of cases) {
      const r = await t.api.request('POST', '/v1/accounts', { json })
      assert.equal(r.status, status, JSON.stringify(r.body))
      assert.equal(code(r), c)
    }
    const notJson = await t.api.request('POST', '/v1/accounts', {
      body: Uint8Array.of(1),
      headers: { 'content-type': 'application/json' },
    })
    assert.equal(code(notJson), 'malformed')
    const wrongType = await t.api.request('POST', '/v1/accounts', { body: Uint8Array.of(1) })
    assert.equal(wrongType.status, 415)
    const huge = await t.api.request('POST', '/v1/accounts', {
      body: new Uint8Array(MAX_JSON_BODY_BYTES + 1),
      headers: { 'content-type': 'application/json' },
    })
    assert.equal(huge.status, 413)
  })
})

describe('sessions and devices', () => {
  it('opens a session by challenge, lists, adds and revokes devices', async () => {
    const erin = await t.api.register(await newInvite(t), 'erin')
    const s = await t.api.session(erin)
    assert.equal(s.status, 201)
    const token = String(s.body!.sessionToken)
    const second = await t.api.addDevice(erin)
    const listed = await t.api.request('GET', '/v1/accounts/erin', { token })
    assert.equal(listed.status, 200)
    const ids = (listed.body!.devices as { deviceId: string }[]).map((d) => d.deviceId).sort()
    assert.deepEqual(ids, [erin.deviceId, second.deviceId].sort())
    assert.deepEqual(base64urlToBytes(String(listed.body!.identityKey), 'k'), erin.identity.publicKey)

    // Another account cannot revoke erin's device.
    const frank = await t.api.register(await newInvite(t), 'frank')
    const forbidden = await t.api.request('DELETE', `/v1/devices/${second.deviceId}`, { token: frank.token })
    assert.equal(code(forbidden), 'forbidden')

    const revoked = await t.api.request('DELETE', `/v1/devices/${second.deviceId}`, { token })
    assert.equal(revoked.status, 200)
    const after = await t.api.request('GET', '/v1/accounts/erin', { token })
    assert.deepEqual(
      (after.body!.devices as { deviceId: string }[]).map((d) => d.deviceId),
      [erin.deviceId],
    )
    // The revoked device's session is gone and it cannot open a new one.
    const old = await t.api.request('GET', '/v1/key-packages/count', { token: second.token })
    assert.equal(old.status, 401)
    const again = await t.api.session(second)
    assert.equal(again.status, 403)
    assert.equal(code(again), 'device-revoked')
  })

  it('looks up many handles in one request: entries in request order, null for no such account', async () => {
    const gus = await t.api.register(await newInvite(t), 'gus')
    const gus2 = await t.api.addDevice(gus)
    const hal = await t.api.register(await newInvite(t), 'hal')
    const lookup = (json: Record<string, unknown>) =>
      t.api.request('POST', '/v1/accounts/lookup', { token: hal.token, json })

    const found = await lookup({ handles: ['hal', 'nobodyhere', 'gus'] })
    assert.equal(found.status, 200)
    const accounts = found.body!.accounts as (Record<string, unknown> | null)[]
    assert.equal(accounts.length, 3)
    assert.equal(accounts[1], null)
    // Each entry is exactly what the single lookup answers.
    for (const [i, handle] of [
      [0, 'hal'],
      [2, 'gus'],
    ] as const) {
      const single = await t.api.request('GET', `/v1/accounts/${handle}`, { token: hal.token })
      assert.deepEqual(accounts[i], single.body)
    }
    assert.deepEqual(
      (accounts[2]!.devices as { deviceId: string }[]).map((d) => d.deviceId).sort(),
      [gus.deviceId, gus2.deviceId].sort(),
    )

    assert.equal(code(await lookup({ handles: [] })), 'invalid-field')
    assert.equal(code(await lookup({ handles: ['gus', 'gus'] })), 'invalid-field')
    assert.equal(code(await lookup({ handles: ['Not A Handle'] })), 'invalid-field')
    assert.equal(code(await lookup({ handles: [3] })), 'invalid-field')
    const tooMany = Array.from({ length: MAX_LOOKUP_HANDLES + 1 }, (_, i) => `h${i}y`)
    assert.equal(code(await lookup({ handles: tooMany })), 'too-large')
    const anonymous = await t.api.request('POST', '/v1/accounts/lookup', { json: { handles: ['gus'] } })
    assert.equal(anonymous.status, 401)
  })

  it('refuses a device added with a signature by the wrong identity key', async () => {
    const gina = await t.api.register(await newInvite(t), 'gina')
    const impostor = { ...gina, identity: generateTestKey() }
    await assert.rejects(t.api.addDevice(impostor), /auth-failed/)
  })

  it('refuses missing, malformed and unknown bearer tokens', async () => {
    const cases: Record<string, string>[] = [
      {},
      { authorization: 'Bearer x' },
      { authorization: `Bearer ${'A'.repeat(43)}` },
    ]
    for (const headers of cases) {
      const r = await t.api.request('GET', '/v1/key-packages/count', { headers })
      assert.equal(r.status, 401)
      assert.equal(code(r), 'unauthenticated')
    }
  })
})

describe('key directory', () => {
  it('hands out each one-time KeyPackage once, then the last-resort one', async () => {
    const hana = await t.api.register(await newInvite(t), 'hana')
    const hana2 = await t.api.addDevice(hana)
    const claimer = await t.api.register(await newInvite(t), 'ivan')
    const kp = (n: number) => bytesToBase64url(Uint8Array.of(n, n, n))
    const up = await t.api.request('POST', '/v1/key-packages', {
      token: hana.token,
      json: { oneTime: [kp(1), kp(2)], lastResort: kp(99) },
    })
    assert.equal(up.status, 200)
    assert.equal(up.body!.oneTimeCount, 2)
    await t.api.request('POST', '/v1/key-packages', { token: hana2.token, json: { lastResort: kp(98) } })
    const count = await t.api.request('GET', '/v1/key-packages/count', { token: hana.token })
    assert.equal(count.body!.oneTimeCount, 2)

    // Three concurrent claims: two one-time packages for hana's first device, then its last resort.
    const claims = await Promise.all(
      [0, 1, 2].map(() =>
        t.api.request('POST', '/v1/key-packages/claim', { token: claimer.token, json: { handle: 'hana' } }),
      ),
    )
    const forFirst = claims.map(
      (c) =>
        (c.body!.keyPackages as { deviceId: string; keyPackage: string; lastResort: boolean }[]).find(
          (k) => k.deviceId === hana.deviceId,
        )!,
    )
    const oneTime = forFirst
      .filter((k) => !k.lastResort)
      .map((k) => k.keyPackage)
      .sort()
    assert.deepEqual(oneTime, [kp(1), kp(2)].sort())
    assert.deepEqual(
      forFirst.filter((k) => k.lastResort).map((k) => k.keyPackage),
      [kp(99)],
    )
    for (const c of claims) {
      const second = (
        c.body!.keyPackages as { deviceId: string; keyPackage: string; lastResort: boolean }[]
      ).find((k) => k.deviceId === hana2.deviceId)!
      assert.deepEqual([second.keyPackage, second.lastResort], [kp(98), true])
    }
  })

  it('bounds uploads and refuses unknown handles', async () => {
    const jo = await t.api.register(await newInvite(t), 'jo')
    const many = Array.from({ length: MAX_KEY_PACKAGES_PER_UPLOAD + 1 }, (_, i) =>
      bytesToBase64url(Uint8Array.of(i)),
    )
    const r = await t.api.request('POST', '/v1/key-packages', { token: jo.token, json: { oneTime: many } })
    assert.equal(code(r), 'too-large')
    const dup = await t.api.request('POST', '/v1/key-packages', {
      token: jo.token,
      json: { oneTime: ['AQ', 'AQ'] },
    })
    assert.equal(code(dup), 'invalid-field')
    const none = await t.api.request('POST', '/v1/key-packages', { token: jo.token, json: {} })
    assert.equal(code(none), 'invalid-field')
    const unknown = await t.api.request('POST', '/v1/key-packages/claim', {
      token: jo.token,
      json: { handle: 'nobody' },
    })
    assert.equal(code(unknown), 'not-found')
  })

  it('claims for many handles in one request, and spends nothing when one is unknown', async () => {
    const names = ['bat1', 'bat2', 'bat3']
    const owners = []
    for (const [i, name] of names.entries()) {
      const o = await t.api.register(await newInvite(t), name)
      const kp = (n: number) => bytesToBase64url(Uint8Array.of(40 + i, n))
      await t.api.request('POST', '/v1/key-packages', {
        token: o.token,
        json: { oneTime: [kp(1)], lastResort: kp(9) },
      })
      owners.push(o)
    }
    const claimer = await t.api.register(await newInvite(t), 'batclaimer')
    const claim = (json: Record<string, unknown>) =>
      t.api.request('POST', '/v1/key-packages/claim', { token: claimer.token, json })

    // An unknown handle anywhere in the list refuses the whole request before any claim.
    assert.equal(code(await claim({ handles: ['bat1', 'nobody'] })), 'not-found')
    assert.equal(code(await claim({ handles: ['bat1', 'bat1'] })), 'invalid-field')
    assert.equal(code(await claim({ handles: [] })), 'invalid-field')
    assert.equal(code(await claim({ handles: ['bat1'], handle: 'bat2' })), 'invalid-field')
    assert.equal(code(await claim({ handles: [7] })), 'invalid-field')
    const tooMany = Array.from({ length: MAX_CLAIM_HANDLES + 1 }, (_, i) => `h${i}x`)
    assert.equal(code(await claim({ handles: tooMany })), 'too-large')

    type Claimed = { deviceId: string; keyPackage: string; lastResort: boolean }
    const first = await claim({ handles: ['bat3', 'bat1', 'bat2'] })
    assert.equal(first.status, 200)
    const accounts = first.body!.accounts as { handle: string; keyPackages: Claimed[] }[]
    assert.deepEqual(
      accounts.map((a) => a.handle),
      ['bat3', 'bat1', 'bat2'],
    )
    for (const a of accounts) {
      const i = names.indexOf(a.handle)
      // The refused requests above spent nothing: each device's one-time KeyPackage is still there.
      assert.deepEqual(a.keyPackages, [
        {
          deviceId: owners[i]!.deviceId,
          keyPackage: bytesToBase64url(Uint8Array.of(40 + i, 1)),
          lastResort: false,
        },
      ])
    }
    const second = await claim({ handles: ['bat1'] })
    const again = (second.body!.accounts as { keyPackages: Claimed[] }[])[0]!.keyPackages
    assert.deepEqual(
      again.map((k) => [k.keyPackage, k.lastResort]),
      [[bytesToBase64url(Uint8Array.of(40, 9)), true]],
    )
  })
})

describe('rate limits', () => {
  it('a batch claim costs one request per handle against the address limit', async () => {
    // A bucket of 40 refilled at 1/s: registering and two batches of 15 fit, a third batch of
    // 30 does not — it would if a batch cost one request (it would take 20+ s of refill).
    const limited = await startTestServer(['--rate-limit-address', '1/40'])
    try {
      const claimer = await limited.api.register(limited.invite, 'ratelimited')
      const claim = (n: number, tag: string) =>
        limited.api.request('POST', '/v1/key-packages/claim', {
          token: claimer.token,
          json: { handles: Array.from({ length: n }, (_, i) => `${tag}${i}`) },
        })
      // Unknown handles: charged, then refused as not-found before anything is claimed.
      assert.equal(code(await claim(15, 'first')), 'not-found')
      assert.equal(code(await claim(15, 'second')), 'not-found')
      const refused = await claim(30, 'third')
      assert.equal(refused.status, 429)
      assert.equal(code(refused), 'rate-limited')
      // A single request still fits what is left.
      assert.equal(code(await claim(1, 'fourth')), 'not-found')
    } finally {
      await limited.stop()
    }
  })

  it('a batch lookup costs one request per handle against the address limit', async () => {
    const limited = await startTestServer(['--rate-limit-address', '1/40'])
    try {
      const member = await limited.api.register(limited.invite, 'lookerup')
      const lookup = (n: number, tag: string) =>
        limited.api.request('POST', '/v1/accounts/lookup', {
          token: member.token,
          json: { handles: Array.from({ length: n }, (_, i) => `${tag}${i}`) },
        })
      assert.equal((await lookup(15, 'first')).status, 200)
      assert.equal((await lookup(15, 'second')).status, 200)
      const refused = await lookup(30, 'third')
      assert.equal(refused.status, 429)
      assert.equal(code(refused), 'rate-limited')
      assert.equal((await lookup(1, 'fourth')).status, 200)
    } finally {
      await limited.stop()
    }
  })
})

describe('blobs', () => {
  it('uploads in chunks, resumes at the reported offset, downloads ranges, enforces quota', async () => {
    const kim = await t.api.register(await newInvite(t), 'kim')
    const other = await t.api.register(await newInvite(t), 'lee')
    const data = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff)
    const created = await t.api.request('POST', '/v1/blobs', {
      token: kim.token,
      json: { size: data.length },
    })
    assert.equal(created.status, 201)
    const blobId = String(created.body!.blobId)
    const patch = (offset: number, chunk: Uint8Array, token = kim.token) =>
      t.api.request('PATCH', `/v1/blobs/${blobId}`, {
        token,
        body: chunk,
        headers: { 'upload-offset': String(offset) },
      })

    assert.equal((await patch(0, data.subarray(0, 100_000))).body!.offset, 100_000)
    // A chunk at the wrong offset is refused with the right one.
    const wrong = await patch(50_000, data.subarray(50_000, 60_000))
    assert.equal(wrong.status, 409)
    assert.equal(code(wrong), 'offset-mismatch')
    assert.equal((wrong.body!.error as { offset: number }).offset, 100_000)
    // Somebody else cannot append.
    assert.equal(code(await patch(100_000, data.subarray(100_000, 100_010), other.token)), 'forbidden')
    // Download before completion is refused.
    assert.equal(
      code(await t.api.request('GET', `/v1/blobs/${blobId}`, { token: other.token })),
      'upload-incomplete',
    )
    // Resume: ask where the upload stands, continue from there.
    const status = await t.api.request('GET', `/v1/blobs/${blobId}/upload`, { token: kim.token })
    assert.equal(status.headers.get('upload-offset'), '100000')
    const last = await patch(100_000, data.subarray(100_000))
    assert.equal(last.body!.complete, true)

    const full = await t.api.request('GET', `/v1/blobs/${blobId}`, { token: other.token })
    assert.equal(full.status, 200)
    assert.deepEqual(full.bytes, data)
    const range = await t.api.request('GET', `/v1/blobs/${blobId}`, {
      token: other.token,
      headers: { range: 'bytes=1000-1999' },
    })
    assert.equal(range.status, 206)
    assert.equal(range.headers.get('content-range'), `bytes 1000-1999/${data.length}`)
    assert.deepEqual(range.bytes, data.subarray(1000, 2000))
    const suffix = await t.api.request('GET', `/v1/blobs/${blobId}`, {
      token: other.token,
      headers: { range: 'bytes=-10' },
    })
    assert.deepEqual(suffix.bytes, data.subarray(data.length - 10))
    const bad = await t.api.request('GET', `/v1/blobs/${blobId}`, {
      token: other.token,
      headers: { range: `bytes=${data.length}-` },
    })
    assert.equal(bad.status, 416)

    // Quota is 1 MiB per account: 300,000 used, so 800,000 more does not fit.
    const over = await t.api.request('POST', '/v1/blobs', { token: kim.token, json: { size: 800_000 } })
    assert.equal(code(over), 'quota-exceeded')
    const tooBig = await t.api.request('POST', '/v1/blobs', {
      token: kim.token,
      json: { size: 2 * 1024 * 1024 },
    })
    assert.equal(code(tooBig), 'too-large')
    // Deleting frees the quota.
    assert.equal((await t.api.request('DELETE', `/v1/blobs/${blobId}`, { token: kim.token })).status, 204)
    assert.equal(
      (await t.api.request('POST', '/v1/blobs', { token: kim.token, json: { size: 800_000 } })).status,
      201,
    )
  })

  it('refuses a chunk beyond the declared size and a chunk without an offset', async () => {
    const max = await t.api.register(await newInvite(t), 'max')
    const created = await t.api.request('POST', '/v1/blobs', { token: max.token, json: { size: 10 } })
    const blobId = String(created.body!.blobId)
    const over = await t.api.request('PATCH', `/v1/blobs/${blobId}`, {
      token: max.token,
      body: new Uint8Array(11),
      headers: { 'upload-offset': '0' },
    })
    assert.equal(code(over), 'too-large')
    const noOffset = await t.api.request('PATCH', `/v1/blobs/${blobId}`, {
      token: max.token,
      body: new Uint8Array(1),
    })
    assert.equal(code(noOffset), 'invalid-field')
    const status = await t.api.request('GET', `/v1/blobs/${blobId}/upload`, { token: max.token })
    assert.equal(status.body!.offset, 0)
  })
})

describe('logs', () => {
  it('never hold tokens, invite codes or addresses', () => {
    const all = t.logs.join('\n')
    assert.ok(t.logs.length > 0)
    assert.ok(!all.includes(t.invite))
    assert.ok(!all.includes('127.0.0.1'))
    assert.ok(!/sessionToken|Bearer/.test(all))
  })
})

describe('storage configuration warnings at start', () => {
  const events = (lines: string[]) =>
    lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((e) => String(e.event).startsWith('storage.'))

  it('logs each warning the storage reports, with its code', async () => {
    const warned = await startTestServer([], {
      wrapStorage: (storage) =>
        interceptStorage(storage, {
          configurationWarnings: async () => [{ code: 'test-setting', message: 'a setting to change' }],
        }),
    })
    try {
      const logged = events(warned.logs)
      assert.deepEqual(
        logged.map((e) => [e.level, e.event, e.code]),
        [['warn', 'storage.configuration', 'test-setting']],
      )
    } finally {
      await warned.stop()
    }
  })

  it('starts, and says so, when the storage cannot report its settings', async () => {
    const unknown = await startTestServer([], {
      wrapStorage: (storage) =>
        interceptStorage(storage, {
          configurationWarnings: () => Promise.reject(new Error('permission denied for pg_settings')),
        }),
    })
    try {
      assert.deepEqual(
        events(unknown.logs).map((e) => e.event),
        ['storage.configuration-unknown'],
      )
      assert.equal((await unknown.api.request('GET', '/healthz')).status, 200)
    } finally {
      await unknown.stop()
    }
  })

  it('SQLite reports nothing', () => {
    assert.deepEqual(events(t.logs), [])
  })
})
