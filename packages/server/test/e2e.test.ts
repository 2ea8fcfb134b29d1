/**
 * End to end: the real server process (`main.ts`) on 127.0.0.1, a random port and a temporary
 * data folder, driven over real HTTP and real WebSockets. Runs on SQLite, and on PostgreSQL
 * (a fresh schema per run) at TACIT_TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test.
 */
import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { ApiClient, type TestDevice } from './support/api-client.ts'
import { generateTestKey } from './support/keys.ts'
import { removeDataDir, runAdmin, type ServerProcess, startServerProcess } from './support/server-process.ts'
import { WsTestClient } from './support/ws-client.ts'

const POSTGRES_URL = process.env.TACIT_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
/** A fresh schema per run, so runs never see each other's data. */
const POSTGRES_SCHEMA = `e2e_${Date.now()}_${process.pid}`
const bytes = (text: string) => new TextEncoder().encode(text)
const text = (b: Uint8Array) => new TextDecoder().decode(b)

function e2eSuite(backend: 'sqlite' | 'postgres', flags: () => string[]): void {
  describe(`end to end on ${backend}`, () => {
    let p: ServerProcess
    let api: ApiClient
    const clients: WsTestClient[] = []
    const connect = async () => {
      const c = await WsTestClient.connect(p.wsUrl)
      clients.push(c)
      return c
    }
    let adminInvites: string[] = []
    const storageFlags = () =>
      backend === 'sqlite'
        ? ['--data-dir', p.dataDir]
        : ['--postgres-url', POSTGRES_URL, '--postgres-schema', POSTGRES_SCHEMA]
    const invite = () => {
      const code = adminInvites.pop()
      assert.ok(code, 'out of invites')
      return code
    }

    before(async () => {
      p = await startServerProcess(flags())
      api = new ApiClient(p.url, (r) => fetch(r))
      assert.match(p.invite, /^[A-Za-z0-9_-]{22}$/, 'the first start prints an invite')
      adminInvites = []
      for (let i = 0; i < 2; i++) {
        const r = await runAdmin(['invite', 'create', '--json', ...storageFlags()])
        assert.equal(r.status, 0, r.stderr)
        adminInvites.push((JSON.parse(r.stdout) as { code: string }).code)
      }
    })

    after(async () => {
      await Promise.all(clients.map((c) => c.close()))
      const code = await p.stop()
      assert.equal(code, 0, 'graceful shutdown exits 0')
      assert.match(p.stdout, /"event":"stopping"/)
      removeDataDir(p.dataDir)
      if (backend === 'postgres') {
        const client = new pg.Client({ connectionString: POSTGRES_URL })
        await client.connect()
        await client.query(`DROP SCHEMA IF EXISTS "${POSTGRES_SCHEMA}" CASCADE`)
        await client.end()
      }
    })

    let alice: TestDevice
    let bob: TestDevice

    it('registers by invite; the admin command lists and revokes invites', async () => {
      alice = await api.register(p.invite, 'alice')
      bob = await api.register(invite(), 'bob')
      const spare = invite()
      const list = await runAdmin(['invite', 'list', '--json', ...storageFlags()])
      const rows = JSON.parse(list.stdout) as { id: string; state: string }[]
      assert.ok(rows.filter((r) => r.state === 'used').length >= 2)
      assert.equal((await runAdmin(['invite', 'revoke', spare, ...storageFlags()])).status, 0)
      const r = await api.request('POST', '/v1/accounts', {
        json: await api.registrationBody(spare, 'mallory', generateTestKey(), generateTestKey()),
      })
      assert.equal((r.body!.error as { code: string }).code, 'invite-invalid')
    })

    it('refuses a bad signature and a replayed challenge at WebSocket connect', async () => {
      const bad = await connect()
      const r = await bad.request({
        type: 'auth',
        deviceId: alice.deviceId,
        signature: generateTestKey().sign(bytes('x')),
      })
      assert.equal(r.type === 'error' && r.code, 'auth-failed')
      const first = await connect()
      const frame = first.authFrame(alice.deviceId, alice.key)
      assert.equal((await first.request(frame)).type, 'auth-ok')
      const second = await connect()
      const replay = await second.request(frame)
      assert.equal(replay.type === 'error' && replay.code, 'auth-failed')
      await first.close()
    })

    it('claims key packages, one per device, never twice', async () => {
      await api.request('POST', '/v1/key-packages', {
        token: bob.token,
        json: { oneTime: ['AQ', 'Ag', 'Aw'], lastResort: '_w' },
      })
      const claims = await Promise.all(
        [0, 1, 2, 3].map(() =>
          api.request('POST', '/v1/key-packages/claim', { token: alice.token, json: { handle: 'bob' } }),
        ),
      )
      const got = claims.map(
        (c) => (c.body!.keyPackages as { keyPackage: string; lastResort: boolean }[])[0]!,
      )
      assert.deepEqual(
        got
          .filter((k) => !k.lastResort)
          .map((k) => k.keyPackage)
          .sort(),
        ['AQ', 'Ag', 'Aw'],
      )
      assert.deepEqual(
        got.filter((k) => k.lastResort).map((k) => k.keyPackage),
        ['_w'],
      )
    })

    it('delivers offline then pushes online; ack deletes; nobody reads another mailbox', async () => {
      const a = await connect()
      await a.auth(alice.deviceId, alice.key)
      assert.equal(
        (
          await a.request({
            type: 'send',
            ttlSeconds: 0,
            recipients: [bob.deviceId],
            payload: bytes('offline'),
          })
        ).type,
        'send-ok',
      )
      const b = await connect()
      await b.auth(bob.deviceId, bob.key)
      await b.waitFor(() => b.delivered.length === 1, 'offline envelope')
      await a.request({ type: 'send', ttlSeconds: 0, recipients: [bob.deviceId], payload: bytes('online') })
      await b.waitFor(() => b.delivered.length === 2, 'online envelope')
      assert.deepEqual(
        b.delivered.map((d) => text(d.payload)),
        ['offline', 'online'],
      )
      // alice acking bob's seqs deletes nothing of bob's.
      const wrong = await a.request({ type: 'ack', seqs: b.delivered.map((d) => d.seq) })
      assert.equal(wrong.type === 'ack-ok' && wrong.removed, 0)
      assert.equal(a.delivered.length, 0)
      const acked = await b.request({ type: 'ack', seqs: b.delivered.map((d) => d.seq) })
      assert.equal(acked.type === 'ack-ok' && acked.removed, 2)
      await b.close()
      const b2 = await connect()
      await b2.auth(bob.deviceId, bob.key)
      await a.request({ type: 'send', ttlSeconds: 0, recipients: [bob.deviceId], payload: bytes('after') })
      await b2.waitFor(() => b2.delivered.length >= 1, 'after')
      assert.deepEqual(
        b2.delivered.map((d) => text(d.payload)),
        ['after'],
      )
    })

    it('refuses a revoked device', async () => {
      const laptop = await api.addDevice(alice)
      const c = await connect()
      await c.auth(laptop.deviceId, laptop.key)
      assert.equal(
        (await api.request('DELETE', `/v1/devices/${laptop.deviceId}`, { token: alice.token })).status,
        200,
      )
      await c.waitFor(() => c.closeCode !== null, 'revoked close')
      const again = await connect()
      const r = await again.auth(laptop.deviceId, laptop.key)
      assert.equal(r.type === 'error' && r.code, 'device-revoked')
    })

    it('orders commits: first per epoch wins, the second learns the current epoch', async () => {
      const a = await connect()
      await a.auth(alice.deviceId, alice.key)
      const b = await connect()
      await b.auth(bob.deviceId, bob.key)
      const groupId = crypto.getRandomValues(new Uint8Array(32))
      const commit = (recipient: string, payload: string) => ({
        type: 'commit' as const,
        groupId,
        epoch: 5n,
        ttlSeconds: 0,
        commit: { recipients: [recipient], payload: bytes(payload) },
        welcome: null,
      })
      const [ra, rb] = await Promise.all([
        a.request(commit(bob.deviceId, 'a')),
        b.request(commit(alice.deviceId, 'b')),
      ])
      const outcomes = [ra, rb].map((r) => r.type)
      assert.deepEqual(outcomes.sort(), ['commit-ok', 'error'])
      const loser = [ra, rb].find((r) => r.type === 'error')!
      assert.equal(loser.type === 'error' && loser.code, 'epoch-conflict')
      assert.equal(loser.type === 'error' && loser.details.currentEpoch, 6n)
    })

    it('resumes an interrupted blob upload, serves ranges and enforces the quota', async () => {
      const data = new Uint8Array(200_000).map((_, i) => (i * 13) & 0xff)
      const created = await api.request('POST', '/v1/blobs', {
        token: alice.token,
        json: { size: data.length },
      })
      assert.equal(created.status, 201)
      const blobId = String(created.body!.blobId)
      await api.request('PATCH', `/v1/blobs/${blobId}`, {
        token: alice.token,
        body: data.subarray(0, 50_000),
        headers: { 'upload-offset': '0' },
      })
      // Interrupt a chunk: announce 100,000 bytes, send 30,000, cut the connection.
      await new Promise<void>((resolve) => {
        const req = httpRequest(`${p.url}/v1/blobs/${blobId}`, {
          method: 'PATCH',
          headers: {
            authorization: `Bearer ${alice.token}`,
            'content-type': 'application/octet-stream',
            'content-length': '100000',
            'upload-offset': '50000',
          },
        })
        req.on('error', () => resolve())
        req.on('close', () => resolve())
        req.write(data.subarray(50_000, 80_000), () => setTimeout(() => req.destroy(), 50))
      })
      const status = await api.request('GET', `/v1/blobs/${blobId}/upload`, { token: alice.token })
      assert.equal(status.body!.offset, 50_000, 'a cut chunk is not stored at all')
      const rest = await api.request('PATCH', `/v1/blobs/${blobId}`, {
        token: alice.token,
        body: data.subarray(50_000),
        headers: { 'upload-offset': '50000' },
      })
      assert.equal(rest.body!.complete, true)
      const range = await api.request('GET', `/v1/blobs/${blobId}`, {
        token: bob.token,
        headers: { range: 'bytes=150000-' },
      })
      assert.equal(range.status, 206)
      assert.deepEqual(range.bytes, data.subarray(150_000))
      const over = await api.request('POST', '/v1/blobs', { token: alice.token, json: { size: 1024 * 1024 } })
      assert.equal((over.body!.error as { code: string }).code, 'quota-exceeded')
    })

    it('serves /healthz and /metrics', async () => {
      assert.equal((await api.request('GET', '/healthz')).status, 200)
      const m = text((await api.request('GET', '/metrics')).bytes)
      assert.match(m, /tacit_envelopes_stored_total \d+/)
      assert.match(m, /tacit_commits_total\{outcome="conflict"\} 1/)
    })
  })
}

e2eSuite('sqlite', () => ['--blob-quota-mb', '1'])
e2eSuite('postgres', () => [
  '--blob-quota-mb',
  '1',
  '--postgres-url',
  POSTGRES_URL,
  '--postgres-schema',
  POSTGRES_SCHEMA,
])
