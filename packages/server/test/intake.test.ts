/**
 * Admission control (src/ws/intake.ts): requests in flight are counted across connections; once
 * the count reaches the policy's limit, a connection that takes in one more stops reading from
 * its socket, and every held connection reads again when the count is back to half.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { encodeFrame } from '@tacit/protocol/wire/frames'
import { type Holdable, IntakeGate } from '../src/ws/intake.ts'
import { interceptStorage, newInvite, startTestServer, type TestServer } from './support/test-server.ts'
import { WsTestClient } from './support/ws-client.ts'

describe('IntakeGate', () => {
  const holdable = () => {
    const h = { released: 0, release: () => h.released++ }
    return h
  }

  it('says full at the limit, and releases every held connection at half of it', () => {
    const gate = new IntakeGate(4)
    assert.equal(gate.begin(), false)
    assert.equal(gate.begin(), false)
    assert.equal(gate.begin(), false)
    assert.equal(gate.begin(), true, 'the fourth request fills the gate')
    const a = holdable()
    const b = holdable()
    gate.hold(a)
    gate.hold(b)
    assert.equal(gate.held, 2)
    gate.end()
    assert.equal(a.released + b.released, 0, '3 in flight: above half, still held')
    gate.end()
    assert.deepEqual([a.released, b.released], [1, 1], '2 in flight: both released, once each')
    assert.equal(gate.held, 0)
    gate.end()
    gate.end()
    assert.deepEqual([a.released, b.released], [1, 1])
    assert.equal(gate.inFlight, 0)
  })

  it('does not release a connection that was forgotten (closed)', () => {
    const gate = new IntakeGate(2)
    gate.begin()
    gate.begin()
    const closed: Holdable & { released: number } = { released: 0, release: () => closed.released++ }
    gate.hold(closed)
    gate.forget(closed)
    gate.end()
    gate.end()
    assert.equal(closed.released, 0)
  })
})

describe('a server at its limit of requests in flight', () => {
  const LIMIT = 2
  let t: TestServer
  const clients: WsTestClient[] = []
  /** Enqueue calls that reached storage; while `valve` is set they wait for it. */
  let enqueues = 0
  let valve: Promise<void> | null = null
  let openValve: () => void = () => {}

  before(async () => {
    t = await startTestServer([], {
      policy: { maxRequestsInFlight: LIMIT },
      wrapStorage: (storage) =>
        interceptStorage(storage, {
          async enqueue(...args) {
            enqueues++
            if (valve !== null) await valve
            return storage.enqueue(...args)
          },
        }),
    })
  })

  after(async () => {
    openValve()
    await Promise.all(clients.map((c) => c.close()))
    await t.stop()
  })

  async function device(name: string) {
    const account = await t.api.register(await newInvite(t), name)
    const c = await WsTestClient.connect(t.wsUrl)
    clients.push(c)
    assert.equal((await c.auth(account.deviceId, account.key)).type, 'auth-ok')
    return { c, deviceId: account.deviceId }
  }

  const send = (from: WsTestClient, id: number, to: string, text: string) =>
    from.sendRaw(
      encodeFrame({
        type: 'send',
        id,
        ttlSeconds: 0,
        recipients: [to],
        payload: new TextEncoder().encode(text),
      }),
    )

  const waitForEnqueues = async (n: number) => {
    for (let i = 0; i < 500 && enqueues < n; i++) await sleep(10)
    assert.equal(enqueues, n)
  }

  it('stops reading from connections until the requests in flight are answered, then reads on', async () => {
    const a = await device('intake-a')
    const b = await device('intake-b')
    const r = await device('intake-r')
    valve = new Promise((resolve) => {
      openValve = resolve
    })
    // Frames go one at a time: each is read before the next is written, so a pause shows.
    send(a.c, 101, r.deviceId, 'a1')
    await waitForEnqueues(1)
    send(a.c, 102, r.deviceId, 'a2')
    await waitForEnqueues(2)
    // The gate is full: `a` is held. Its third frame stays in the socket.
    send(a.c, 103, r.deviceId, 'a3')
    // `b` was reading: its first frame is taken in (and holds `b`), its second is not.
    send(b.c, 201, r.deviceId, 'b1')
    await waitForEnqueues(3)
    send(b.c, 202, r.deviceId, 'b2')
    await sleep(300)
    assert.equal(enqueues, 3, 'no frame is read from a held connection')

    valve = null
    openValve()
    const answered = (c: WsTestClient, ids: number[]) =>
      c.waitFor(
        () => ids.every((id) => c.frames.some((f) => f.id === id && f.type === 'send-ok')),
        `send-ok for ${ids.join(', ')}`,
      )
    await answered(a.c, [101, 102, 103])
    await answered(b.c, [201, 202])
    assert.equal(enqueues, 5)
    await r.c.waitFor(() => r.c.delivered.length === 5, 'five deliveries')
    assert.deepEqual(r.c.delivered.map((d) => new TextDecoder().decode(d.payload)).sort(), [
      'a1',
      'a2',
      'a3',
      'b1',
      'b2',
    ])
  })
})
