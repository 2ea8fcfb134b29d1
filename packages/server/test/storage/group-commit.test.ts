import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { GroupCommitQueue, type Settled } from '../../src/storage/group-commit.ts'
import { StorageError } from '../../src/storage/storage.ts'

/** A fake backend that records its batches and answers each call with its own value doubled. */
function recorder(fail?: (n: number) => boolean) {
  const batches: number[][] = []
  const run = (calls: number[]): Settled<number>[] => {
    batches.push(calls)
    return calls.map((n) =>
      fail?.(n)
        ? { ok: false, error: new StorageError('not-found', `call ${n}`) }
        : { ok: true, value: n * 2 },
    )
  }
  return { batches, run }
}

describe('GroupCommitQueue', () => {
  it('runs the calls of one tick as one batch, in arrival order, each settling alone', async () => {
    const r = recorder((n) => n === 3)
    const q = new GroupCommitQueue<number, number>(r.run)
    const results = await Promise.allSettled([1, 2, 3, 4].map((n) => q.submit(n, 1)))
    assert.deepEqual(r.batches, [[1, 2, 3, 4]])
    assert.deepEqual(
      results.map((x) => (x.status === 'fulfilled' ? x.value : (x.reason as StorageError).code)),
      [2, 4, 'not-found', 8],
    )
    assert.deepEqual(q.stats, { batches: 1, calls: 4 })
  })

  it('splits batches at maxCalls, maxRows and the byte bound, but always runs an oversized call', async () => {
    const r = recorder()
    const q = new GroupCommitQueue<number, number>(r.run, { maxCalls: 3, maxRows: 10 })
    await Promise.all([
      q.submit(1, 4),
      q.submit(2, 4),
      q.submit(3, 4), // would make 12 rows: next batch
      q.submit(4, 1),
      q.submit(5, 1),
      q.submit(6, 1), // fourth call of a batch: next batch
      q.submit(7, 50), // above maxRows alone: runs alone
      q.submit(8, 1, 40 * 1024 ** 2), // above MAX_GROUP_COMMIT_BYTES alone: runs alone
      q.submit(9, 1),
    ])
    assert.deepEqual(r.batches, [[1, 2], [3, 4, 5], [6], [7], [8], [9]])
  })

  it('rejects every call of a batch whose transaction failed', async () => {
    const q = new GroupCommitQueue<number, number>(() => {
      throw new Error('disk gone')
    })
    const results = await Promise.allSettled([q.submit(1, 1), q.submit(2, 1)])
    for (const x of results) {
      assert.equal(x.status, 'rejected')
      assert.ok(StorageError.is((x as PromiseRejectedResult).reason, 'unavailable'))
    }
  })

  it('fails fast when the queue is full, and after close', async () => {
    const q = new GroupCommitQueue<number, number>(recorder().run, { maxPending: 2 })
    const a = q.submit(1, 1)
    const b = q.submit(2, 1)
    await assert.rejects(q.submit(3, 1), (e: unknown) => StorageError.is(e, 'unavailable'))
    assert.deepEqual(await Promise.all([a, b]), [2, 4])
    const late = q.submit(4, 1)
    await q.close()
    assert.equal(await late, 8, 'close waits for queued calls')
    await assert.rejects(q.submit(5, 1), (e: unknown) => StorageError.is(e, 'unavailable'))
  })

  it('keeps at most maxInFlight asynchronous batches running', async () => {
    let running = 0
    let peak = 0
    const q = new GroupCommitQueue<number, number>(
      async (calls) => {
        running++
        peak = Math.max(peak, running)
        await new Promise((resolve) => setImmediate(resolve))
        running--
        return calls.map((n) => ({ ok: true, value: n }))
      },
      { maxCalls: 1, maxInFlight: 2 },
    )
    const values = await Promise.all(Array.from({ length: 10 }, (_, i) => q.submit(i, 1)))
    assert.deepEqual(values, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    assert.equal(peak, 2)
  })

  it('holds no call once its batch settled, while later calls still wait', async () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    type Call = { readonly n: number; readonly payload: Uint8Array }
    const finish: (() => void)[] = []
    const q = new GroupCommitQueue<Call, number>(
      async (calls) => {
        await new Promise<void>((resolve) => finish.push(resolve))
        return calls.map((c) => ({ ok: true, value: c.n }))
      },
      { maxCalls: 2 },
    )
    // The test keeps only weak references to the calls (and their payloads).
    const refs: WeakRef<Call>[] = []
    const answers = [1, 2, 3, 4, 5].map((n) => {
      const call = { n, payload: new Uint8Array(1024) }
      refs.push(new WeakRef(call))
      return q.submit(call, 1)
    })
    const nextTurn = () => new Promise((resolve) => setImmediate(resolve))
    const nextBatch = async () => {
      while (finish.length === 0) await nextTurn()
      finish.shift()!()
    }
    await nextBatch()
    assert.deepEqual(await Promise.all(answers.slice(0, 2)), [1, 2])
    // WeakRef targets survive until the current job ends: collect on a later turn.
    while (finish.length === 0) await nextTurn()
    assert.equal(q.pending, 1, 'calls 3 and 4 are running, 5 waits')
    gc()
    assert.deepEqual(
      refs.map((r) => r.deref() !== undefined),
      [false, false, true, true, true],
      'the settled calls 1 and 2 were collected; 3, 4 and 5 are still held',
    )
    await nextBatch()
    await nextBatch()
    assert.deepEqual(await Promise.all(answers), [1, 2, 3, 4, 5])
  })
})
