import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  createLocalNotifier,
  MAX_DEVICE_ID_LENGTH,
  MAX_LISTENERS_PER_DEVICE,
  MAX_SUBSCRIBED_DEVICES,
  NotifyError,
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
