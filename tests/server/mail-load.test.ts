// The crash tests' bookkeeping, checked against an in-memory relay that can be told to lose,
// duplicate or misroute: so a crash test that passes is one that would have noticed.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { type ConnectFn, MailLoad } from './harness/mail-load.ts'

type Fault = 'none' | 'lose-one' | 'duplicate-all' | 'misroute-one'

function memoryRelay(fault: Fault): ConnectFn {
  const inboxes = new Map<number, (payload: Uint8Array) => void>()
  let sent = 0
  return async (index, handlers) => {
    inboxes.set(index, handlers.onDeliver)
    return {
      async send(to, payload) {
        sent += 1
        const deliver = (target: number): void => {
          setImmediate(() => inboxes.get(target)?.(payload))
        }
        if (fault === 'lose-one' && sent === 5) return // acknowledged, never delivered
        if (fault === 'misroute-one' && sent === 5) {
          deliver((to + 1) % inboxes.size)
          return
        }
        deliver(to)
        if (fault === 'duplicate-all') deliver(to)
      },
      close() {},
    }
  }
}

async function run(fault: Fault) {
  const load = new MailLoad(4)
  await load.connect(memoryRelay(fault))
  await load.sendUntil(40)
  load.stop()
  await load.drain(Date.now() + 200)
  // The relay delivers on setImmediate: a timer fires only after every pending delivery ran.
  await new Promise((resolve) => setTimeout(resolve, 5))
  return load.report()
}

describe('MailLoad bookkeeping', () => {
  test('a faithful relay: nothing lost, no duplicates', async () => {
    const r = await run('none')
    assert.ok(r.acknowledged >= 40)
    assert.deepEqual(r.lost, [])
    assert.equal(r.duplicates, 0)
    assert.equal(r.misdelivered, 0)
  })

  test('an acknowledged envelope that never arrives is reported lost', async () => {
    const r = await run('lose-one')
    assert.equal(r.lost.length, 1)
  })

  test('duplicates are counted before de-duplication and collapse after it', async () => {
    const r = await run('duplicate-all')
    assert.deepEqual(r.lost, [])
    assert.equal(r.duplicates, r.deliveries / 2)
    assert.equal(r.unique, r.deliveries / 2)
  })

  test('an envelope delivered to the wrong device is caught', async () => {
    const r = await run('misroute-one')
    assert.equal(r.misdelivered, 1)
    assert.equal(r.lost.length, 1)
  })
})
