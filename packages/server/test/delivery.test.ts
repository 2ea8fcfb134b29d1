/**
 * The delivery pump's short-cuts, checked through the wire only plus a count of mailbox reads:
 * an envelope committed by this process for a device connected here is handed over without
 * reading storage; a full window leaves the rest in the mailbox for the acks to release, in
 * order and never twice.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { interceptStorage, newInvite, startTestServer, type TestServer } from './support/test-server.ts'
import { WsTestClient } from './support/ws-client.ts'

/** Small, so a burst overflows it. */
const WINDOW = 4

let t: TestServer
const reads = { fetchMailbox: 0 }
const clients: WsTestClient[] = []

before(async () => {
  // The real storage, with its mailbox reads counted.
  t = await startTestServer([], {
    policy: { deliveryWindow: WINDOW },
    wrapStorage: (storage) =>
      interceptStorage(storage, {
        fetchMailbox(...args) {
          reads.fetchMailbox++
          return storage.fetchMailbox(...args)
        },
      }),
  })
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

async function pair(name: string) {
  const sender = await t.api.register(await newInvite(t), `${name}-s`)
  const rcpt = await t.api.register(await newInvite(t), `${name}-r`)
  const s = await connect()
  assert.equal((await s.auth(sender.deviceId, sender.key)).type, 'auth-ok')
  const r = await connect()
  assert.equal((await r.auth(rcpt.deviceId, rcpt.key)).type, 'auth-ok')
  return { s, r, rcpt }
}

describe('delivery', () => {
  it('hands envelopes committed here to the connected recipient without reading its mailbox', async () => {
    const { s, r, rcpt } = await pair('direct')
    // One at a time, each acked before the next: every one fits the window.
    const readsBefore = reads.fetchMailbox
    for (let i = 0; i < 10; i++) {
      const ok = await s.request({
        type: 'send',
        ttlSeconds: 0,
        recipients: [rcpt.deviceId],
        payload: bytes(`m${i}`),
      })
      assert.equal(ok.type, 'send-ok')
      await r.waitFor(() => r.delivered.length === i + 1, `envelope ${i}`)
      const ack = await r.request({ type: 'ack', seqs: [r.delivered[i]!.seq] })
      assert.equal(ack.type === 'ack-ok' && ack.removed, 1)
    }
    assert.deepEqual(
      r.delivered.map((d) => text(d.payload)),
      Array.from({ length: 10 }, (_, i) => `m${i}`),
    )
    assert.equal(reads.fetchMailbox, readsBefore, 'no mailbox read for envelopes handed over directly')
  })

  it('a full window leaves the rest stored; acks release it in order, none twice', async () => {
    const { s, r, rcpt } = await pair('window')
    const n = 3 * WINDOW + 1
    const answers = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        s.request({ type: 'send', ttlSeconds: 0, recipients: [rcpt.deviceId], payload: bytes(`w${i}`) }),
      ),
    )
    assert.ok(answers.every((a) => a.type === 'send-ok'))
    await r.waitFor(() => r.delivered.length === WINDOW, 'a full window')
    // The window holds: nothing more until an ack (the sends are all durable by now).
    const again = await s.request({
      type: 'send',
      ttlSeconds: 0,
      recipients: [rcpt.deviceId],
      payload: bytes(`w${n}`),
    })
    assert.equal(again.type, 'send-ok')
    assert.equal(r.delivered.length, WINDOW)
    let acked = 0
    while (acked < n + 1) {
      const batch = r.delivered.slice(acked).map((d) => d.seq)
      assert.ok(batch.length > 0 && batch.length <= WINDOW, `window of ${batch.length}`)
      acked += batch.length
      await r.request({ type: 'ack', seqs: batch })
      if (acked < n + 1) await r.waitFor(() => r.delivered.length > acked, `more after ${acked} acks`)
    }
    assert.deepEqual(
      r.delivered.map((d) => text(d.payload)),
      Array.from({ length: n + 1 }, (_, i) => `w${i}`),
    )
    const seqs = r.delivered.map((d) => d.seq)
    for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1]! + 1n)
  })

  it('after a reconnect the stored backlog comes first, then new envelopes, in seq order', async () => {
    const { s, r, rcpt } = await pair('reconnect')
    await r.close()
    for (let i = 0; i < 3; i++) {
      await s.request({ type: 'send', ttlSeconds: 0, recipients: [rcpt.deviceId], payload: bytes(`b${i}`) })
    }
    const r2 = await connect()
    await r2.auth(rcpt.deviceId, rcpt.key)
    await r2.waitFor(() => r2.delivered.length === 3, 'backlog')
    await s.request({ type: 'send', ttlSeconds: 0, recipients: [rcpt.deviceId], payload: bytes('b3') })
    await r2.waitFor(() => r2.delivered.length === 4, 'new after backlog')
    assert.deepEqual(
      r2.delivered.map((d) => text(d.payload)),
      ['b0', 'b1', 'b2', 'b3'],
    )
  })
})

describe('delivery: a re-scan that read before an ack committed', () => {
  /** Holds the result of the next mailbox read of `device` (already read) until released. */
  const hold = {
    device: '',
    /** Called with the seqs the held read returned, once it ran. */
    onHeld: (_seqs: bigint[]) => {},
    release: () => {},
    done: false,
  }
  let server: TestServer
  const mine: WsTestClient[] = []

  before(async () => {
    server = await startTestServer([], {
      // Re-scans every 30 ms, so the test does not wait for the 30 s default.
      policy: { mailboxResyncMs: 30 },
      wrapStorage: (storage) =>
        interceptStorage(storage, {
          async fetchMailbox(deviceId, ...rest) {
            const page = await storage.fetchMailbox(deviceId, ...rest)
            if (deviceId !== hold.device || hold.done) return page
            hold.done = true
            await new Promise<void>((resolve) => {
              hold.release = resolve
              hold.onHeld(page.map((e) => e.seq))
            })
            return page
          },
        }),
    })
  })

  after(async () => {
    await Promise.all(mine.map((c) => c.close()))
    await server.stop()
  })

  it('does not push an envelope again that was acknowledged while the re-scan read', async () => {
    const sender = await server.api.register(await newInvite(server), 'rescan-s')
    const rcpt = await server.api.register(await newInvite(server), 'rescan-r')
    const s = await WsTestClient.connect(server.wsUrl)
    const r = await WsTestClient.connect(server.wsUrl)
    mine.push(s, r)
    assert.equal((await s.auth(sender.deviceId, sender.key)).type, 'auth-ok')
    assert.equal((await r.auth(rcpt.deviceId, rcpt.key)).type, 'auth-ok')
    const send = (body: string) =>
      s.request({ type: 'send', ttlSeconds: 0, recipients: [rcpt.deviceId], payload: bytes(body) })
    assert.equal((await send('first')).type, 'send-ok')
    await r.waitFor(() => r.delivered.length === 1, 'the first envelope')
    const seq = r.delivered[0]!.seq

    // The next re-scan reads the mailbox while the envelope is still stored and in flight...
    const held = new Promise<bigint[]>((resolve) => {
      hold.onHeld = resolve
    })
    hold.device = rcpt.deviceId
    assert.deepEqual(await held, [seq])
    // ...and the envelope is acknowledged (deleted, committed) before that read comes back.
    const ack = await r.request({ type: 'ack', seqs: [seq] })
    assert.equal(ack.type === 'ack-ok' && ack.removed, 1)
    hold.release()

    // Frames to one connection keep their order: once the next envelope is here, the held page
    // was handled.
    assert.equal((await send('second')).type, 'send-ok')
    await r.waitFor(() => r.delivered.some((d) => text(d.payload) === 'second'), 'the second envelope')
    assert.deepEqual(
      r.delivered.map((d) => text(d.payload)),
      ['first', 'second'],
    )
  })
})

describe('delivery: the periodic re-scan', () => {
  /** Short, so the test sees several re-scans; each wait is drawn from its second half. */
  const RESYNC_MS = 80
  /** Hang guard only: the waits below end on an event. */
  const GUARD_MS = 10_000
  const watch = { device: '', at: [] as number[], onCall: () => {} }
  let server: TestServer

  before(async () => {
    server = await startTestServer([], {
      policy: { mailboxResyncMs: RESYNC_MS },
      wrapStorage: (storage) =>
        interceptStorage(storage, {
          // After `auth-ok`, only the re-scan reads the device row of an idle connection.
          getDevice(deviceId) {
            if (deviceId === watch.device) {
              watch.at.push(performance.now())
              watch.onCall()
            }
            return storage.getDevice(deviceId)
          },
        }),
    })
  })

  after(() => server.stop())

  it('re-arms after every re-scan, never sooner than half the interval, and reads nothing after close', async () => {
    const device = await server.api.register(await newInvite(server), 'rescan-timer')
    const c = await WsTestClient.connect(server.wsUrl)
    assert.equal((await c.auth(device.deviceId, device.key)).type, 'auth-ok')
    watch.device = device.deviceId
    await new Promise<void>((resolve, reject) => {
      const guard = setTimeout(() => reject(new Error('fewer than 4 re-scans')), GUARD_MS)
      watch.onCall = () => {
        if (watch.at.length < 4) return
        clearTimeout(guard)
        resolve()
      }
    })
    await c.close()
    // Between two re-scans: the wait drawn (at least half the interval) plus the work of the
    // first; timers may fire up to a millisecond early.
    for (let i = 1; i < 4; i++) {
      const gap = watch.at[i]! - watch.at[i - 1]!
      assert.ok(gap >= RESYNC_MS / 2 - 2, `re-scan ${i} came ${gap.toFixed(1)} ms after the one before`)
    }
    // The server sees the close a moment after the client does; a re-scan may still start in
    // between. Count from one interval later, then give three more intervals to any timer left.
    await sleep(RESYNC_MS)
    const count = watch.at.length
    await sleep(3 * RESYNC_MS)
    assert.equal(watch.at.length, count, 'no re-scan after the connection closed')
  })
})
