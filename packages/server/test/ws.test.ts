/**
 * The WebSocket mailbox protocol against the server running in this process on 127.0.0.1.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { encodeFrame } from '@tacit/protocol/wire/frames'
import { generateTestKey } from './support/keys.ts'
import { newInvite, startTestServer, type TestServer } from './support/test-server.ts'
import { WsTestClient } from './support/ws-client.ts'

let t: TestServer
const clients: WsTestClient[] = []
before(async () => {
  t = await startTestServer()
})
after(async () => {
  await Promise.all(clients.map((c) => c.close()))
  await t.stop()
})

async function connect(): Promise<WsTestClient> {
  const c = await WsTestClient.connect(t.wsUrl)
  clients.push(c)
  return c
}

const bytes = (text: string) => new TextEncoder().encode(text)
const text = (b: Uint8Array) => new TextDecoder().decode(b)

describe('device authentication', () => {
  it('accepts a signed challenge and returns a session usable over HTTP', async () => {
    const alice = await t.api.register(t.invite, 'alice')
    const c = await connect()
    const ok = await c.auth(alice.deviceId, alice.key)
    assert.equal(ok.type, 'auth-ok')
    if (ok.type !== 'auth-ok') return
    assert.equal(ok.deviceId, alice.deviceId)
    const token = Buffer.from(ok.sessionToken).toString('base64url')
    const r = await t.api.request('GET', '/v1/key-packages/count', { token })
    assert.equal(r.status, 200)
  })

  it('refuses a bad signature, a replayed auth frame and a second attempt', async () => {
    const bob = await t.api.register(await newInvite(t), 'bob')
    const bad = await connect()
    const refused = await bad.request({
      type: 'auth',
      deviceId: bob.deviceId,
      signature: generateTestKey().sign(bad.challenge!),
    })
    assert.equal(refused.type === 'error' && refused.code, 'auth-failed')
    await bad.waitFor(() => bad.closeCode !== null, 'close')
    assert.equal(bad.closeCode, 4401)

    // Capture a valid auth frame from one connection and replay it on another.
    const first = await connect()
    const frame = encodeFrame({ ...first.authFrame(bob.deviceId, bob.key), id: 1 } as never)
    first.sendRaw(frame)
    await first.waitFor(() => first.frames.some((f) => f.type === 'auth-ok'), 'auth-ok')
    const second = await connect()
    second.sendRaw(frame)
    await second.waitFor(() => second.frames.some((f) => f.type === 'error'), 'error')
    const err = second.frames.find((f) => f.type === 'error')
    assert.equal(err?.type === 'error' ? err.code : null, 'auth-failed')
    assert.ok(!second.frames.some((f) => f.type === 'auth-ok'))
    // Authenticating twice on one connection is refused.
    const twice = await first.auth(bob.deviceId, bob.key)
    assert.equal(twice.type === 'error' && twice.code, 'auth-failed')
  })

  it('refuses mailbox requests before authentication', async () => {
    const c = await connect()
    const r = await c.request({ type: 'ack', seqs: [1n] })
    assert.equal(r.type === 'error' && r.code, 'unauthenticated')
  })
})

describe('mailboxes', () => {
  it('stores for an offline device, pushes to an online one, redelivers until acked, deletes on ack', async () => {
    const sender = await t.api.register(await newInvite(t), 'sender')
    const rcpt = await t.api.register(await newInvite(t), 'rcpt')
    const rcpt2 = await t.api.addDevice(rcpt)
    const s = await connect()
    assert.equal((await s.auth(sender.deviceId, sender.key)).type, 'auth-ok')

    // Offline: stored once for two mailboxes.
    const sent = await s.request({
      type: 'send',
      ttlSeconds: 0,
      recipients: [rcpt.deviceId, rcpt2.deviceId],
      payload: bytes('one'),
    })
    assert.equal(sent.type, 'send-ok')

    const r = await connect()
    await r.auth(rcpt.deviceId, rcpt.key)
    await r.waitFor(() => r.delivered.length === 1, 'stored envelope')
    assert.equal(text(r.delivered[0]!.payload), 'one')

    // Online: pushed.
    await s.request({ type: 'send', ttlSeconds: 60, recipients: [rcpt.deviceId], payload: bytes('two') })
    await r.waitFor(() => r.delivered.length === 2, 'pushed envelope')
    assert.equal(text(r.delivered[1]!.payload), 'two')

    // Ack only the first; reconnect: the second comes again, the first does not.
    const ack = await r.request({ type: 'ack', seqs: [r.delivered[0]!.seq] })
    assert.equal(ack.type === 'ack-ok' && ack.removed, 1)
    await r.close()
    const r2 = await connect()
    await r2.auth(rcpt.deviceId, rcpt.key)
    await r2.waitFor(() => r2.delivered.length === 1, 'redelivery')
    assert.equal(text(r2.delivered[0]!.payload), 'two')
    await r2.request({ type: 'ack', seqs: [r2.delivered[0]!.seq] })

    // The second device still has its own copy of 'one' only.
    const d2 = await connect()
    await d2.auth(rcpt2.deviceId, rcpt2.key)
    await d2.waitFor(() => d2.delivered.length === 1, 'second mailbox')
    assert.equal(text(d2.delivered[0]!.payload), 'one')
    // Nothing else arrives for it: a new send to it is the next one.
    await s.request({ type: 'send', ttlSeconds: 0, recipients: [rcpt2.deviceId], payload: bytes('three') })
    await d2.waitFor(() => d2.delivered.length === 2, 'third')
    assert.deepEqual(
      d2.delivered.map((d) => text(d.payload)),
      ['one', 'three'],
    )
  })

  it('a device reads only its own mailbox, and its acks cannot delete another mailbox', async () => {
    const a = await t.api.register(await newInvite(t), 'own-a')
    const b = await t.api.register(await newInvite(t), 'own-b')
    const s = await connect()
    await s.auth(a.deviceId, a.key)
    await s.request({ type: 'send', ttlSeconds: 0, recipients: [b.deviceId], payload: bytes('for b') })

    // Authenticating as b with a's key fails.
    const thief = await connect()
    const r = await thief.auth(b.deviceId, a.key)
    assert.equal(r.type === 'error' && r.code, 'auth-failed')
    // a's connection saw nothing of b's mail, and a's ack of b's seq removes nothing.
    const bc = await connect()
    await bc.auth(b.deviceId, b.key)
    await bc.waitFor(() => bc.delivered.length === 1, 'b mail')
    const ack = await s.request({ type: 'ack', seqs: [bc.delivered[0]!.seq] })
    assert.equal(ack.type === 'ack-ok' && ack.removed, 0)
    assert.equal(s.delivered.length, 0)
  })

  it('refuses unknown recipients without storing anything', async () => {
    const a = await t.api.register(await newInvite(t), 'unknown-a')
    const s = await connect()
    await s.auth(a.deviceId, a.key)
    const r = await s.request({
      type: 'send',
      ttlSeconds: 0,
      recipients: [a.deviceId, 'AAAAAAAAAAAAAAAAAAAAAA'],
      payload: bytes('x'),
    })
    assert.equal(r.type === 'error' && r.code, 'not-found')
    await s.request({ type: 'send', ttlSeconds: 0, recipients: [a.deviceId], payload: bytes('marker') })
    await s.waitFor(() => s.delivered.length >= 1, 'marker')
    assert.deepEqual(
      s.delivered.map((d) => text(d.payload)),
      ['marker'],
    )
  })

  it('sealed sending: an anonymous connection delivers with a delivery token only', async () => {
    const rcpt = await t.api.register(await newInvite(t), 'sealed-r')
    const token = crypto.getRandomValues(new Uint8Array(32))
    const reg = await t.api.request('POST', '/v1/delivery-tokens', {
      token: rcpt.token,
      json: { token: Buffer.from(token).toString('base64url') },
    })
    assert.equal(reg.status, 200)
    const anon = await connect()
    const ok = await anon.request({
      type: 'send-sealed',
      ttlSeconds: 0,
      tokens: [token],
      payload: bytes('sealed'),
    })
    assert.equal(ok.type, 'send-ok')
    const unknown = await anon.request({
      type: 'send-sealed',
      ttlSeconds: 0,
      tokens: [new Uint8Array(32)],
      payload: bytes('x'),
    })
    assert.equal(unknown.type === 'error' && unknown.code, 'not-found')
    const r = await connect()
    await r.auth(rcpt.deviceId, rcpt.key)
    await r.waitFor(() => r.delivered.length === 1, 'sealed envelope')
    assert.equal(text(r.delivered[0]!.payload), 'sealed')
  })

  it('revoking a device closes its connection and refuses it afterwards', async () => {
    const owner = await t.api.register(await newInvite(t), 'rev')
    const lost = await t.api.addDevice(owner)
    const c = await connect()
    await c.auth(lost.deviceId, lost.key)
    const r = await t.api.request('DELETE', `/v1/devices/${lost.deviceId}`, { token: owner.token })
    assert.equal(r.status, 200)
    await c.waitFor(() => c.closeCode !== null, 'close of revoked')
    assert.equal(c.closeCode, 4403)
    const again = await connect()
    const refused = await again.auth(lost.deviceId, lost.key)
    assert.equal(refused.type === 'error' && refused.code, 'device-revoked')
    // Sending to it is refused: it can no longer receive.
    const s = await connect()
    await s.auth(owner.deviceId, owner.key)
    const send = await s.request({
      type: 'send',
      ttlSeconds: 0,
      recipients: [lost.deviceId],
      payload: bytes('x'),
    })
    assert.equal(send.type === 'error' && send.code, 'device-revoked')
  })
})

describe('group ordering', () => {
  it('accepts the first commit per epoch, refuses the second with the current epoch, welcome only with its commit', async () => {
    const a = await t.api.register(await newInvite(t), 'grp-a')
    const b = await t.api.register(await newInvite(t), 'grp-b')
    const newbie = await t.api.register(await newInvite(t), 'grp-new')
    const ca = await connect()
    await ca.auth(a.deviceId, a.key)
    const cb = await connect()
    await cb.auth(b.deviceId, b.key)
    const groupId = crypto.getRandomValues(new Uint8Array(16))
    const first = await ca.request({
      type: 'commit',
      groupId,
      epoch: 0n,
      ttlSeconds: 0,
      commit: { recipients: [b.deviceId], payload: bytes('commit-a') },
      welcome: { recipients: [newbie.deviceId], payload: bytes('welcome-a') },
    })
    assert.equal(first.type === 'commit-ok' && first.epoch, 1n)
    const second = await cb.request({
      type: 'commit',
      groupId,
      epoch: 0n,
      ttlSeconds: 0,
      commit: { recipients: [a.deviceId], payload: bytes('commit-b') },
      welcome: { recipients: [newbie.deviceId], payload: bytes('welcome-b') },
    })
    assert.equal(second.type, 'error')
    if (second.type !== 'error') return
    assert.equal(second.code, 'epoch-conflict')
    assert.equal(second.details.currentEpoch, 1n)
    const next = await cb.request({
      type: 'commit',
      groupId,
      epoch: 1n,
      ttlSeconds: 0,
      commit: { recipients: [a.deviceId], payload: bytes('commit-b2') },
      welcome: null,
    })
    assert.equal(next.type === 'commit-ok' && next.epoch, 2n)
    await cb.waitFor(() => cb.delivered.length === 1, 'commit-a')
    assert.equal(text(cb.delivered[0]!.payload), 'commit-a')
    const cn = await connect()
    await cn.auth(newbie.deviceId, newbie.key)
    await cn.waitFor(() => cn.delivered.length >= 1, 'welcome')
    assert.deepEqual(
      cn.delivered.map((d) => text(d.payload)),
      ['welcome-a'],
    )
    await ca.waitFor(() => ca.delivered.length === 1, 'commit-b2')
    assert.deepEqual(
      ca.delivered.map((d) => text(d.payload)),
      ['commit-b2'],
    )
  })
})

describe('bad frames', () => {
  it('answers malformed frames with error frames and keeps serving', async () => {
    const a = await t.api.register(await newInvite(t), 'fuzz')
    const c = await connect()
    await c.auth(a.deviceId, a.key)
    const before = c.frames.length
    c.sendRaw(Uint8Array.of(0x02, 0, 0, 0, 9))
    c.sendRaw(Uint8Array.of(0xee, 0, 0, 0, 10, 1, 2, 3))
    c.sendRaw(Uint8Array.of(1))
    await c.waitFor(
      () => c.frames.slice(before).filter((f) => f.type === 'error').length === 3,
      'three errors',
    )
    const errors = c.frames.slice(before).filter((f) => f.type === 'error')
    assert.deepEqual(
      errors.map((e) => [e.id, e.type === 'error' ? e.code : '']),
      [
        [9, 'malformed'],
        [10, 'malformed'],
        [0, 'malformed'],
      ],
    )
    const ok = await c.request({
      type: 'send',
      ttlSeconds: 0,
      recipients: [a.deviceId],
      payload: bytes('still fine'),
    })
    assert.equal(ok.type, 'send-ok')
  })

  it('closes a connection that sends text frames', async () => {
    const c = await connect()
    c.ws.send('hello')
    await c.waitFor(() => c.closeCode !== null, 'close')
    assert.equal(c.closeCode, 1003)
  })
})
