// Against a real NATS server: the machine's (TACIT_NATS_URL, default nats://127.0.0.1:4222), and
// for the reconnect test a private nats-server this test starts, kills and restarts itself.
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:net'
import { after, describe, test } from 'node:test'
import { connect } from '@nats-io/transport-node'
import { createNatsNotifier, mailboxSubject, type NatsNotifier } from '../../src/notify/nats-notifier.ts'
import { NotifyError } from '../../src/notify/notifier.ts'

const NATS_URL = process.env.TACIT_NATS_URL ?? 'nats://127.0.0.1:4222'
const NATS_SERVER_BIN = process.env.TACIT_NATS_SERVER_BIN ?? 'nats-server'
/** Hang guard only: every wait below ends on an event; this bounds a broken run. */
const GUARD_MS = 10_000

/** A subject namespace of our own, so concurrent runs on the shared NATS never see each other. */
const prefix = () => `tacit.test.${randomBytes(6).toString('hex')}`
const deviceId = () => randomBytes(16).toString('base64url')

class Counter {
  count = 0
  #waiters: Array<{ n: number; resolve: () => void }> = []
  readonly inc = () => {
    this.count += 1
    this.#waiters = this.#waiters.filter((w) => {
      if (this.count < w.n) return true
      w.resolve()
      return false
    })
  }
  atLeast(n: number, what: string): Promise<void> {
    if (this.count >= n) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), GUARD_MS)
      this.#waiters.push({
        n,
        resolve: () => {
          clearTimeout(timer)
          resolve()
        },
      })
    })
  }
}

const open: NatsNotifier[] = []
async function notifier(options: Parameters<typeof createNatsNotifier>[0]): Promise<NatsNotifier> {
  const n = await createNatsNotifier(options)
  open.push(n)
  return n
}
after(async () => {
  await Promise.all(open.map((n) => n.close()))
})

describe('NATS notifier (two processes sharing one NATS)', () => {
  test('subjects are per mailbox, hashed: no device id on the bus', () => {
    const id = 'alice-device-1'
    const subject = mailboxSubject(id)
    assert.match(subject, /^tacit\.mail\.[0-9a-f]{32}$/)
    assert.ok(!subject.includes(id))
    assert.equal(mailboxSubject(id), subject, 'stable across processes')
    assert.notEqual(mailboxSubject('alice-device-2'), subject)
  })

  test("each instance sees the other's publishes, for its own devices only", async () => {
    const subjectPrefix = prefix()
    const a = await notifier({ servers: NATS_URL, subjectPrefix })
    const b = await notifier({ servers: NATS_URL, subjectPrefix })
    const onA = deviceId()
    const onB = deviceId()
    const hitsA = new Counter()
    const hitsB = new Counter()
    a.subscribe(onA, hitsA.inc)
    b.subscribe(onB, hitsB.inc)
    await Promise.all([a.flush(), b.flush()]) // the SUBs are registered at the server
    a.publish(onB)
    b.publish(onA)
    await hitsB.atLeast(1, 'B to get the hint A published')
    await hitsA.atLeast(1, 'A to get the hint B published')
    assert.equal(a.stats().received, 1)
    assert.equal(b.stats().received, 1)
  })

  test('publishes of one turn coalesce into one NATS message and one wake-up', async () => {
    const subjectPrefix = prefix()
    const a = await notifier({ servers: NATS_URL, subjectPrefix })
    const b = await notifier({ servers: NATS_URL, subjectPrefix })
    const target = deviceId()
    const sentinel = deviceId()
    const hits = new Counter()
    const sentinelHits = new Counter()
    b.subscribe(target, hits.inc)
    await b.flush()
    for (let i = 0; i < 100; i++) a.publish(target)
    await a.flush()
    b.subscribe(sentinel, sentinelHits.inc)
    await b.flush()
    a.publish(sentinel)
    // NATS keeps order from one publisher to one subscriber: once the sentinel arrived, so had
    // every hint for the target.
    await sentinelHits.atLeast(1, 'the sentinel hint')
    assert.equal(hits.count, 1)
    assert.equal(a.stats().published, 2)
  })

  test('a publish for a device on the same instance wakes it once (local delivery, no echo)', async () => {
    const subjectPrefix = prefix()
    const a = await notifier({ servers: NATS_URL, subjectPrefix })
    const target = deviceId()
    const hits = new Counter()
    a.subscribe(target, hits.inc)
    await a.flush()
    a.publish(target)
    await hits.atLeast(1, 'the local wake-up')
    // After flush's round trip any echo would have arrived before the PONG; give the listener
    // table its turn, then check it did not wake the device a second time.
    await a.flush()
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(hits.count, 1)
    assert.equal(a.stats().received, 0)
  })

  test('handedLocally: no local wake-up, but the other instance still gets the hint', async () => {
    const subjectPrefix = prefix()
    const a = await notifier({ servers: NATS_URL, subjectPrefix })
    const b = await notifier({ servers: NATS_URL, subjectPrefix })
    const target = deviceId()
    const local = new Counter()
    const remote = new Counter()
    a.subscribe(target, local.inc)
    b.subscribe(target, remote.inc)
    await b.flush()
    a.publish(target, { handedLocally: true })
    await a.flush()
    await remote.atLeast(1, 'the hint on the other instance')
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(local.count, 0)
    assert.equal(a.stats().published, 1)
  })

  test('unsubscribe: no more wake-ups, and the NATS subscription is gone', async () => {
    const subjectPrefix = prefix()
    const a = await notifier({ servers: NATS_URL, subjectPrefix })
    const b = await notifier({ servers: NATS_URL, subjectPrefix })
    const target = deviceId()
    const sentinel = deviceId()
    const hits = new Counter()
    const sentinelHits = new Counter()
    const unsubscribe = b.subscribe(target, hits.inc)
    b.subscribe(sentinel, sentinelHits.inc)
    await b.flush()
    a.publish(target)
    await hits.atLeast(1, 'the first hint')
    unsubscribe()
    assert.equal(b.stats().subscribedDevices, 1)
    await b.flush() // the UNSUB reached the server
    a.publish(target)
    await a.flush()
    a.publish(sentinel)
    await sentinelHits.atLeast(1, 'the sentinel hint')
    assert.equal(hits.count, 1)
    assert.equal(b.stats().received, 2, 'NATS no longer sends the unsubscribed subject here')
  })

  test('close is clean: the connection closes, later subscribes throw, publishes are ignored', async () => {
    const a = await createNatsNotifier({ servers: NATS_URL, subjectPrefix: prefix() })
    const target = deviceId()
    a.subscribe(target, () => {})
    a.publish(target)
    await a.close()
    await a.close() // idempotent
    assert.equal(a.stats().closed, true)
    assert.throws(
      () => a.subscribe(target, () => {}),
      (e) => NotifyError.is(e, 'closed'),
    )
    assert.doesNotThrow(() => a.publish(target))
  })

  test('the pending hint of a closing instance still reaches the other one (drain)', async () => {
    const subjectPrefix = prefix()
    const a = await createNatsNotifier({ servers: NATS_URL, subjectPrefix })
    const b = await notifier({ servers: NATS_URL, subjectPrefix })
    const target = deviceId()
    const hits = new Counter()
    b.subscribe(target, hits.inc)
    await b.flush()
    a.publish(target)
    await a.close()
    await hits.atLeast(1, 'the hint sent during close')
  })

  test('an unreachable NATS fails fast with unavailable', async () => {
    const port = await freePort()
    await assert.rejects(createNatsNotifier({ servers: `nats://127.0.0.1:${port}` }), (e) =>
      NotifyError.is(e, 'unavailable'),
    )
  })

  test('a bad subject prefix is refused', async () => {
    await assert.rejects(createNatsNotifier({ servers: NATS_URL, subjectPrefix: 'tacit.>' }), (e) =>
      NotifyError.is(e, 'invalid-argument'),
    )
  })

  test('the periodic resync wakes listeners without any publish', async () => {
    const a = await notifier({ servers: NATS_URL, subjectPrefix: prefix(), resyncIntervalMs: 20 })
    const hits = new Counter()
    a.subscribe(deviceId(), hits.inc)
    await hits.atLeast(2, 'two resync wake-ups')
    assert.equal(a.stats().published, 0)
  })
})

describe('NATS notifier peer liveness', () => {
  test('a peer that falls silent wakes every listener once it times out', async () => {
    const subjectPrefix = prefix()
    const b = await notifier({
      servers: NATS_URL,
      subjectPrefix,
      resyncIntervalMs: 0,
      peerHeartbeatMs: 40,
      peerTimeoutMs: 200,
    })
    const hits = new Counter()
    b.subscribe(deviceId(), hits.inc)
    // A peer speaking the heartbeat protocol by hand, so that it can die without a goodbye.
    const peer = await connect({ servers: NATS_URL })
    const peerId = randomBytes(16).toString('hex')
    for (let i = 0; i < 3; i++) {
      peer.publish(`${subjectPrefix}.peers`, `alive ${peerId}`)
      await peer.flush()
      await new Promise((resolve) => setTimeout(resolve, 40))
    }
    await b.flush()
    assert.equal(b.stats().peers, 1)
    assert.equal(hits.count, 0, 'a live peer wakes nobody')
    await peer.close()
    await hits.atLeast(1, 'the wake-up after the peer fell silent')
    assert.equal(b.stats().peersLost, 1)
    assert.equal(b.stats().peers, 0)
    assert.equal(b.stats().published, 0, 'the wake-up came from the timeout, not from a hint')
  })

  test('a newcomer is greeted at once, not at the next heartbeat, and a known peer is not', async () => {
    const subjectPrefix = prefix()
    // A heartbeat far longer than the test: only the greeting can make the newcomer known.
    const slow = { resyncIntervalMs: 0, peerHeartbeatMs: 60_000, peerTimeoutMs: 180_000 }
    const a = await notifier({ servers: NATS_URL, subjectPrefix, ...slow })
    await a.flush()
    const heard: string[] = []
    const listener = await connect({ servers: NATS_URL })
    listener.subscribe(`${subjectPrefix}.peers`, {
      callback: (_e, msg) => {
        heard.push(msg.string())
      },
    })
    await listener.flush()
    const b = await notifier({ servers: NATS_URL, subjectPrefix, ...slow })
    const deadline = Date.now() + GUARD_MS
    while (b.stats().peers < 1 || a.stats().peers < 1) {
      assert.ok(Date.now() < deadline, 'each knows the other long before a heartbeat')
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    // B's announcement, A's greeting, and B's greeting of A (a newcomer to B); A knows B already
    // and does not answer again, so it stops there.
    await new Promise((resolve) => setTimeout(resolve, 200))
    assert.equal(heard.length, 3, heard.join(', '))
    await listener.close()
  })

  test('a peer that closes cleanly says goodbye and wakes nobody', async () => {
    const subjectPrefix = prefix()
    const liveness = { resyncIntervalMs: 0, peerHeartbeatMs: 40, peerTimeoutMs: 200 }
    const a = await createNatsNotifier({ servers: NATS_URL, subjectPrefix, ...liveness })
    const b = await notifier({ servers: NATS_URL, subjectPrefix, ...liveness })
    const hits = new Counter()
    b.subscribe(deviceId(), hits.inc)
    const deadline = Date.now() + GUARD_MS
    while (b.stats().peers < 1) {
      assert.ok(Date.now() < deadline, 'B hears A')
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    await a.close()
    // Well past the timeout: a goodbye removed A at once, so no timeout fires.
    await new Promise((resolve) => setTimeout(resolve, 400))
    assert.equal(b.stats().peers, 0)
    assert.equal(b.stats().peersLost, 0)
    assert.equal(hits.count, 0)
  })

  test('heartbeat settings are checked', async () => {
    await assert.rejects(
      createNatsNotifier({ servers: NATS_URL, peerHeartbeatMs: 100, peerTimeoutMs: 100 }),
      (e) => NotifyError.is(e, 'invalid-argument'),
    )
    await assert.rejects(createNatsNotifier({ servers: NATS_URL, peerHeartbeatMs: -1 }), (e) =>
      NotifyError.is(e, 'invalid-argument'),
    )
  })
})

describe('NATS notifier across a NATS restart', () => {
  test('after a reconnect every listener is woken, and hints flow again', async (t) => {
    const port = await freePort()
    const url = `nats://127.0.0.1:${port}`
    let server = await startNatsServer(port)
    t.after(() => {
      server.kill('SIGKILL')
    })
    const subjectPrefix = prefix()
    const a = await notifier({ servers: url, subjectPrefix, reconnectTimeWaitMs: 50, resyncIntervalMs: 0 })
    const b = await notifier({ servers: url, subjectPrefix, reconnectTimeWaitMs: 50, resyncIntervalMs: 0 })
    const target = deviceId()
    const hits = new Counter()
    b.subscribe(target, hits.inc)
    await b.flush()

    server.kill('SIGKILL')
    await new Promise((resolve) => server.once('exit', resolve))
    // Nothing is published: the wake-up below comes from the reconnect alone (resync is off),
    // which is what makes hints lost during an outage cost latency and not messages.
    server = await startNatsServer(port)

    await hits.atLeast(1, 'the wake-up after reconnect')
    assert.ok(b.stats().reconnects >= 1)
    const before = hits.count
    // Wait for A to be back too, then check a fresh hint crosses (B resubscribed by itself).
    const deadline = Date.now() + GUARD_MS
    while (a.stats().reconnects < 1) {
      assert.ok(Date.now() < deadline, 'A reconnects')
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    await a.flush()
    await b.flush()
    a.publish(target)
    await hits.atLeast(before + 1, 'a hint after the restart')
  })
})

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address()
      srv.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

/** Starts a private nats-server on loopback and resolves once it accepts connections. */
async function startNatsServer(port: number): Promise<ChildProcess> {
  const child = spawn(NATS_SERVER_BIN, ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' })
  const deadline = Date.now() + GUARD_MS
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nats-server exited with ${child.exitCode}`)
    try {
      const probe = await connect({ servers: `nats://127.0.0.1:${port}`, reconnect: false, timeout: 500 })
      await probe.close()
      return child
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL')
        throw new Error('nats-server did not start')
      }
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  }
}
