import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { RowWrite, StoreBackend } from '../../src/store/backend.ts'
import { StoreError } from '../../src/store/errors.ts'

/**
 * The contract every StoreBackend meets (see src/store/backend.ts), registered once per medium.
 * An IndexedDB backend should pass the same list (in a browser harness).
 */
export function registerBackendContract(
  name: string,
  open: () => Promise<{ backend: StoreBackend; cleanup: () => Promise<void> }>,
): void {
  const ns1 = new Uint8Array(32).fill(1)
  const ns2 = new Uint8Array(32).fill(2)
  const lookup = (n: number) => new Uint8Array(32).fill(n)
  const sealed = (n: number) => new Uint8Array(100).fill(n)
  const put = (namespace: Uint8Array, n: number, value = n): RowWrite => ({
    kind: 'put',
    namespace,
    lookup: lookup(n),
    sealed: sealed(value),
  })

  const withBackend = (fn: (backend: StoreBackend) => Promise<void>) => async () => {
    const { backend, cleanup } = await open()
    try {
      await fn(backend)
    } finally {
      await backend.close()
      await cleanup()
    }
  }

  test(
    `${name}: rows round-trip, replace, delete and stay in their namespace`,
    withBackend(async (backend) => {
      assert.equal(await backend.readHeader(), undefined)
      await backend.apply([put(ns1, 1), put(ns1, 2), put(ns2, 1, 9)])
      assert.deepEqual(await backend.readRow(ns1, lookup(1)), sealed(1))
      assert.deepEqual(await backend.readRow(ns2, lookup(1)), sealed(9))
      assert.equal(await backend.countRows(ns1), 2)
      await backend.apply([put(ns1, 1, 7), { kind: 'delete', namespace: ns1, lookup: lookup(2) }])
      assert.deepEqual(await backend.readRow(ns1, lookup(1)), sealed(7))
      assert.equal(await backend.readRow(ns1, lookup(2)), undefined)
      const rows = await backend.listRows(ns1)
      assert.equal(rows.length, 1)
      assert.deepEqual(rows[0]?.lookup, lookup(1))
      assert.equal(await backend.countRows(new Uint8Array(32)), 0)
      // Deleting a missing row is not an error.
      await backend.apply([{ kind: 'delete', namespace: ns2, lookup: lookup(5) }])
    }),
  )

  test(
    `${name}: returned arrays belong to the caller`,
    withBackend(async (backend) => {
      await backend.apply([put(ns1, 1)])
      const first = await backend.readRow(ns1, lookup(1))
      first?.fill(0)
      assert.deepEqual(await backend.readRow(ns1, lookup(1)), sealed(1))
    }),
  )

  test(
    `${name}: the header is compare-and-swap; a conflict writes nothing`,
    withBackend(async (backend) => {
      const h1 = new Uint8Array([1, 2, 3])
      const h2 = new Uint8Array([4, 5, 6])
      await backend.apply([], { expected: undefined, next: h1 })
      assert.deepEqual(await backend.readHeader(), h1)
      await assert.rejects(backend.apply([put(ns1, 1)], { expected: undefined, next: h2 }), (e) =>
        StoreError.is(e, 'conflict'),
      )
      await assert.rejects(backend.apply([put(ns1, 1)], { expected: h2, next: h2 }), (e) =>
        StoreError.is(e, 'conflict'),
      )
      assert.equal(await backend.readRow(ns1, lookup(1)), undefined)
      assert.deepEqual(await backend.readHeader(), h1)
      await backend.apply([put(ns1, 1)], { expected: h1, next: h2 })
      assert.deepEqual(await backend.readHeader(), h2)
      assert.deepEqual(await backend.readRow(ns1, lookup(1)), sealed(1))
    }),
  )

  test(
    `${name}: a batch that fails part-way leaves nothing behind`,
    withBackend(async (backend) => {
      await backend.apply([put(ns1, 1)])
      const broken = {
        kind: 'put',
        namespace: ns1,
        lookup: lookup(3),
        sealed: 'not bytes',
      } as unknown as RowWrite
      await assert.rejects(backend.apply([put(ns1, 1, 8), put(ns1, 2), broken]))
      assert.deepEqual(await backend.readRow(ns1, lookup(1)), sealed(1))
      assert.equal(await backend.readRow(ns1, lookup(2)), undefined)
      assert.equal(await backend.countRows(ns1), 1)
    }),
  )

  test(
    `${name}: use after close fails with locked`,
    withBackend(async (backend) => {
      await backend.close()
      await assert.rejects(backend.readHeader(), (e) => StoreError.is(e, 'locked'))
      await assert.rejects(backend.apply([put(ns1, 1)]), (e) => StoreError.is(e, 'locked'))
      await backend.close() // idempotent
    }),
  )
}
