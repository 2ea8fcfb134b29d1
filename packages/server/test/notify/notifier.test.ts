import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  createLocalNotifier,
  ListenerTable,
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

describe('recovery: markAll wakes every listener in slices', () => {
  /** A table of `count` devices, one listener each, recording the order of wake-ups. */
  function tableOf(count: number, pacing: { wakesPerSecond: number; maxSpreadMs: number; tickMs: number }) {
    const woken: string[] = []
    const table = new ListenerTable({ recovery: pacing, random: (_min, max) => Math.min(37, max - 1) })
    const ids = Array.from({ length: count }, (_, i) => `d${i}`)
    const unsubscribe = new Map(ids.map((id) => [id, table.add(id, () => woken.push(id))]))
    return { table, woken, ids, unsubscribe }
  }
  /** Waits, bounded, until the recovery under way has woken everyone and their wake-ups ran. */
  async function recovered(table: ListenerTable): Promise<void> {
    const deadline = Date.now() + 10_000
    while (table.recovering > 0) {
      assert.ok(Date.now() < deadline, 'the recovery finishes')
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    await nextTurn()
  }

  test('the first slice at once, the rest later; each device once, from a random start', async () => {
    // 1,000 wake-ups/s in 20 ms ticks: slices of 20.
    const { table, woken, ids } = tableOf(100, { wakesPerSecond: 1_000, maxSpreadMs: 5_000, tickMs: 20 })
    table.markAll()
    await nextTurn()
    assert.deepEqual(woken, ids.slice(37, 57), 'one slice, starting at the drawn device')
    assert.equal(table.recovering, 80)
    await recovered(table)
    assert.deepEqual(woken, [...ids.slice(37), ...ids.slice(0, 37)], 'everyone, once, in a rotation')
    table.clear()
  })

  test('a slice grows so that a large recovery ends within maxSpreadMs', async () => {
    // 10,000 devices over 100 ms in 20 ms ticks: 5 slices of 2,000, not 500 of 20.
    const { table, woken } = tableOf(10_000, { wakesPerSecond: 1_000, maxSpreadMs: 100, tickMs: 20 })
    table.markAll()
    await nextTurn()
    assert.equal(woken.length, 2_000)
    await recovered(table)
    assert.equal(new Set(woken).size, 10_000)
    assert.equal(woken.length, 10_000)
    table.clear()
  })

  test('a device that left is skipped; a second markAll starts over; clear() stops a recovery', async () => {
    const { table, woken, ids, unsubscribe } = tableOf(50, {
      wakesPerSecond: 500,
      maxSpreadMs: 5_000,
      tickMs: 20,
    })
    table.markAll()
    await nextTurn()
    assert.equal(woken.length, 10)
    unsubscribe.get('d0')!() // not yet woken: the rotation starts at d37
    table.markAll()
    await recovered(table)
    const times = (id: string) => woken.filter((w) => w === id).length
    assert.equal(times('d0'), 0, 'a device with no listener left is not woken')
    assert.deepEqual(
      ids.filter((id) => times(id) === 2),
      ids.slice(37, 47),
      'the first slice was woken by each recovery, everyone else once',
    )
    assert.ok(ids.every((id) => id === 'd0' || times(id) >= 1))

    const before = woken.length
    table.markAll()
    await nextTurn()
    assert.equal(woken.length, before + 10)
    table.clear()
    assert.equal(table.recovering, 0)
    await new Promise((resolve) => setTimeout(resolve, 100))
    assert.equal(woken.length, before + 10, 'nothing wakes after clear()')
  })

  test('pacing values must be positive integers', () => {
    for (const recovery of [{ tickMs: 0 }, { wakesPerSecond: -1 }, { maxSpreadMs: 1.5 }]) {
      assert.throws(
        () => new ListenerTable({ recovery }),
        (error: unknown) => NotifyError.is(error, 'invalid-argument'),
      )
    }
  })
})
