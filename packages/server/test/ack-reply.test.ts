/**
 * An `ack-ok` may wait (decision 0021): it leaves with the next frame to its connection that may
 * not wait, or at the policy's deadline when none comes. Checked through the wire, with the
 * deadline at its bound so that the two ways are told apart by the order of the frames alone.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { MAX_ACK_REPLY_DELAY_MS } from '../src/ws/outbox.ts'
import { interceptStorage, newInvite, startTestServer, type TestServer } from './support/test-server.ts'
import { WsTestClient } from './support/ws-client.ts'

let t: TestServer
const clients: WsTestClient[] = []
/** Ack calls whose transaction committed, so the answer is in the connection's outbox. */
let acksCommitted = 0

before(async () => {
  t = await startTestServer([], {
    policy: { ackReplyDelayMs: MAX_ACK_REPLY_DELAY_MS },
    wrapStorage: (storage) =>
      interceptStorage(storage, {
        async ack(...args) {
          const removed = await storage.ack(...args)
          acksCommitted++
          return removed
        },
      }),
  })
})

after(async () => {
  await Promise.all(clients.map((c) => c.close()))
  await t.stop()
})

const bytes = (text: string) => new TextEncoder().encode(text)

async function pair(name: string) {
  const sender = await t.api.register(await newInvite(t), `${name}-s`)
  const rcpt = await t.api.register(await newInvite(t), `${name}-r`)
  const s = await WsTestClient.connect(t.wsUrl)
  const r = await WsTestClient.connect(t.wsUrl)
  clients.push(s, r)
  assert.equal((await s.auth(sender.deviceId, sender.key)).type, 'auth-ok')
  assert.equal((await r.auth(rcpt.deviceId, rcpt.key)).type, 'auth-ok')
  const send = (text: string) =>
    s.request({ type: 'send', ttlSeconds: 0, recipients: [rcpt.deviceId], payload: bytes(text) })
  return { r, send }
}

/** Resolves once `n` acks have committed; bounded. */
async function acksReach(n: number): Promise<void> {
  for (let i = 0; i < 1000 && acksCommitted < n; i++) await sleep(5)
  assert.equal(acksCommitted, n, 'the ack committed')
}

describe('ack-ok', () => {
  it('waits for the next frame to its connection and leaves with it, before it', async () => {
    const { r, send } = await pair('ride')
    assert.equal((await send('one')).type, 'send-ok')
    await r.waitFor(() => r.delivered.length === 1, 'the first envelope')
    const before = acksCommitted
    const answer = r.request({ type: 'ack', seqs: [r.delivered[0]!.seq] })
    await acksReach(before + 1)
    // Written at once, the answer would be here well within this; held, it is not.
    await sleep(200)
    assert.ok(!r.frames.some((f) => f.type === 'ack-ok'), 'no ack-ok before another frame goes out')

    assert.equal((await send('two')).type, 'send-ok')
    const ack = await answer
    assert.equal(ack.type === 'ack-ok' && ack.removed, 1)
    await r.waitFor(() => r.delivered.length === 2, 'the second envelope')
    const ackAt = r.frames.findIndex((f) => f.type === 'ack-ok')
    const secondAt = r.frames.indexOf(r.delivered[1]!)
    // Flushed by its deadline instead, it would have come after the second envelope.
    assert.ok(
      ackAt >= 0 && ackAt < secondAt,
      `ack-ok (frame ${ackAt}) before the next deliver (frame ${secondAt})`,
    )
  })

  it('comes by its deadline when nothing else is sent', async () => {
    const { r, send } = await pair('alone')
    assert.equal((await send('only')).type, 'send-ok')
    await r.waitFor(() => r.delivered.length === 1, 'the envelope')
    const ack = await r.request({ type: 'ack', seqs: [r.delivered[0]!.seq] })
    assert.equal(ack.type === 'ack-ok' && ack.removed, 1)
    assert.equal(r.frames.at(-1), ack, 'the answer is the last frame: nothing else carried it')
  })
})
