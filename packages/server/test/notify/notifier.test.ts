import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  createLocalNotifier,
  MAX_DEVICE_ID_LENGTH,
  MAX_LISTENERS_PER_DEVICE,
  MAX_SUBSCRIBED_DEVICES,
  NotifyError,
  RESYNC_INTERVAL_MS,
  resyncDelayMs,
} from '../../src/notify/notifier.ts'

/** Resolves after the notifier's coalescing turn (it flushes on setImmediate). */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

describe('local notifier', () => {
  test('a publish wakes every listener of that device, and only of that device', async () => {
    const notifier = createLocalNotifier()
    const calls: string[] = []
    notifier.subscribe('dev-a', () => calls.push('a1'))
    notifier.subscribe('dev-a', () => calls.push('a2'))
    notifier.subscribe('dev-b', () => calls.push('b'))
    notifier.publish('dev-a')
    await nextTurn()
    assert.deepEqual(calls.sort(), ['a1', 'a2'])
    await notifier.close()
  })

  test('publishes of one turn coalesce into one wake-up per listener', async () => {
    const notifier = createLocalNotifier()
    let count = 0
    notifier.subscribe('dev-a', () => {
      count += 1
    })
    for (let i = 0; i < 100; i++) notifier.publish('dev-a')
    await nextTurn()
    assert.equal(count, 1)
    notifier.publish('dev-a')
    await nextTurn()
    assert.equal(count, 2)
    await notifier.close()
  })

  test('a publish for an envelope already handed to every local connection wakes nobody here', async () => {
    const notifier = createLocalNotifier()
    let count = 0
    notifier.subscribe('dev-a', () => {
      count += 1
    })
    notifier.publish('dev-a', { handedLocally: true })
    await nextTurn()
    assert.equal(count, 0)
    notifier.publish('dev-a', { handedLocally: false })
    await nextTurn()
    assert.equal(count, 1)
    await notifier.close()
  })

  test('unsubscribe stops the wake-ups and is idempotent; the same callback twice is two listeners', async () => {
    const notifier = createLocalNotifier()
    let count = 0
    const onMail = () => {
      count += 1
    }
    const first = notifier.subscribe('dev-a', onMail)
    const second = notifier.subscribe('dev-a', onMail)
    first()
    first()
    notifier.publish('dev-a')
    await nextTurn()
    assert.equal(count, 1, 'the second subscription survives the first one being removed twice')
    second()
    notifier.publish('dev-a')
    await nextTurn()
    assert.equal(count, 1)
    await notifier.close()
  })

  test('a listener that throws does not starve the others, and its error is reported', async () => {
    const errors: unknown[] = []
    const notifier = createLocalNotifier({ onListenerError: (error) => errors.push(error) })
    let woke = false
    notifier.subscribe('dev-a', () => {
      throw new Error('listener bug')
    })
    notifier.subscribe('dev-a', () => {
      woke = true
    })
    notifier.publish('dev-a')
    await nextTurn()
    assert.equal(woke, true)
    assert.equal(errors.length, 1)
    await notifier.close()
  })

  test('bad device ids are refused with invalid-argument', () => {
    const notifier = createLocalNotifier()
    for (const bad of ['', 'x'.repeat(MAX_DEVICE_ID_LENGTH + 1), 42 as unknown as string]) {
      assert.throws(
        () => notifier.publish(bad),
        (e) => NotifyError.is(e, 'invalid-argument'),
      )
      assert.throws(
        () => notifier.subscribe(bad, () => {}),
        (e) => NotifyError.is(e, 'invalid-argument'),
      )
    }
    assert.doesNotThrow(() => notifier.subscribe('x'.repeat(MAX_DEVICE_ID_LENGTH), () => {}))
  })

  test(`at most ${MAX_LISTENERS_PER_DEVICE} listeners per device`, () => {
    const notifier = createLocalNotifier()
    for (let i = 0; i < MAX_LISTENERS_PER_DEVICE; i++) notifier.subscribe('dev-a', () => {})
    assert.throws(
      () => notifier.subscribe('dev-a', () => {}),
      (e) => NotifyError.is(e, 'limit-exceeded'),
    )
  })

  test(`at most ${MAX_SUBSCRIBED_DEVICES} subscribed devices; unsubscribing frees a place`, () => {
    const notifier = createLocalNotifier()
    const unsubscribes: Array<() => void> = []
    for (let i = 0; i < MAX_SUBSCRIBED_DEVICES; i++) unsubscribes.push(notifier.subscribe(`d${i}`, () => {}))
    assert.throws(
      () => notifier.subscribe('one-more', () => {}),
      (e) => NotifyError.is(e, 'limit-exceeded'),
    )
    unsubscribes[0]?.()
    assert.doesNotThrow(() => notifier.subscribe('one-more', () => {}))
  })

  test('after close: subscribe throws closed, publish is ignored, nothing wakes', async () => {
    const notifier = createLocalNotifier()
    let count = 0
    notifier.subscribe('dev-a', () => {
      count += 1
    })
    notifier.publish('dev-a')
    await notifier.close()
    await nextTurn()
    assert.equal(count, 0, 'a hint pending at close is dropped (hints may be lost by design)')
    assert.throws(
      () => notifier.subscribe('dev-a', () => {}),
      (e) => NotifyError.is(e, 'closed'),
    )
    assert.doesNotThrow(() => notifier.publish('dev-a'))
  })
})

describe('re-scan timing (resyncDelayMs)', () => {
  test('each wait lies in the second half of the interval, both ends reachable', () => {
    // The random source's extremes: [min, max) as crypto.randomInt.
    assert.equal(
      resyncDelayMs(30_000, (min) => min),
      30_000,
    )
    assert.equal(
      resyncDelayMs(30_000, (_min, max) => max - 1),
      15_000,
    )
    assert.equal(
      resyncDelayMs(31, (_min, max) => max - 1),
      16,
    )
    assert.equal(
      resyncDelayMs(1, (_min, max) => max - 1),
      1,
    )
  })

  test('waits drawn for connections that came together are spread over the half-interval', () => {
    const waits = Array.from({ length: 1_000 }, () => resyncDelayMs(RESYNC_INTERVAL_MS))
    for (const wait of waits) {
      assert.ok(Number.isInteger(wait))
      assert.ok(wait >= RESYNC_INTERVAL_MS / 2 && wait <= RESYNC_INTERVAL_MS, `wait ${wait}`)
    }
    // 1,000 uniform draws over 15,001 values: all within a third of the range has probability
    // far below 1e-100, and the same wait for all (the behaviour this replaced) fails at once.
    const spread = Math.max(...waits) - Math.min(...waits)
    assert.ok(spread > RESYNC_INTERVAL_MS / 3, `spread ${spread}`)
  })
})
