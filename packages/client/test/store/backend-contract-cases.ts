import {
  AssertionError,
  type CaseGroup,
  checkBytes,
  checkEqual,
  checkRejects,
} from '../../../../tests/harness/cases.ts'
import type { RowWrite, StoreBackend } from '../../src/store/backend.ts'
import { StoreError } from '../../src/store/errors.ts'

/**
 * The StoreBackend contract of `backend-contract.ts` as runtime-neutral cases (tests/harness), so
 * it runs in Chromium against IndexedDB as well as under node:test. Same cases, same data; only
 * the assertion helpers differ (node:assert does not bundle for the browser).
 */

export interface OpenedBackend {
  readonly backend: StoreBackend
  readonly cleanup: () => Promise<void>
}

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

function checkSome(actual: Uint8Array | undefined, expected: Uint8Array, message: string): void {
  if (actual === undefined) throw new AssertionError(`${message}: got no row`)
  checkBytes(actual, expected, message)
}

const isCode = (code: StoreError['code']) => (e: unknown) => StoreError.is(e, code)

export function backendContractCases(name: string, open: () => Promise<OpenedBackend>): CaseGroup {
  const withBackend = (fn: (backend: StoreBackend) => Promise<void>) => async () => {
    const { backend, cleanup } = await open()
    try {
      await fn(backend)
    } finally {
      await backend.close()
      await cleanup()
    }
  }
  return {
    name: `${name}: StoreBackend contract`,
    cases: [
      {
        name: 'rows round-trip, replace, delete and stay in their namespace',
        run: withBackend(async (backend) => {
          checkEqual(await backend.readHeader(), undefined, 'a new backend has no header')
          await backend.apply([put(ns1, 1), put(ns1, 2), put(ns2, 1, 9)])
          checkSome(await backend.readRow(ns1, lookup(1)), sealed(1), 'row 1 of ns1')
          checkSome(await backend.readRow(ns2, lookup(1)), sealed(9), 'row 1 of ns2')
          checkEqual(await backend.countRows(ns1), 2, 'rows in ns1')
          await backend.apply([put(ns1, 1, 7), { kind: 'delete', namespace: ns1, lookup: lookup(2) }])
          checkSome(await backend.readRow(ns1, lookup(1)), sealed(7), 'replaced row')
          checkEqual(await backend.readRow(ns1, lookup(2)), undefined, 'deleted row')
          const rows = await backend.listRows(ns1)
          checkEqual(rows.length, 1, 'listed rows of ns1')
          checkBytes(rows[0]!.lookup, lookup(1), 'listed lookup')
          checkBytes(rows[0]!.sealed, sealed(7), 'listed value')
          checkEqual((await backend.listRows(ns2)).length, 1, 'listed rows of ns2')
          checkEqual(await backend.countRows(new Uint8Array(32)), 0, 'rows of an unused namespace')
          checkEqual(await backend.countRows(ns2), 1, 'rows of ns2')
          // Deleting a missing row is not an error.
          await backend.apply([{ kind: 'delete', namespace: ns2, lookup: lookup(5) }])
          checkEqual(await backend.countRows(ns2), 1, 'rows of ns2 after a missing delete')
        }),
      },
      {
        name: 'namespaces next to each other in key order do not bleed into one another',
        run: withBackend(async (backend) => {
          // 0x01…01 and 0x01…02 differ in the last byte only; 0xff…ff is the top of the key space.
          const near = new Uint8Array(32).fill(1)
          near[31] = 2
          const top = new Uint8Array(32).fill(0xff)
          await backend.apply([put(ns1, 1), put(near, 2), put(top, 3), put(new Uint8Array(32), 4)])
          checkEqual(await backend.countRows(ns1), 1, 'rows of ns1')
          checkEqual(await backend.countRows(near), 1, 'rows of the neighbour')
          checkEqual(await backend.countRows(top), 1, 'rows of the top namespace')
          const listed = await backend.listRows(top)
          checkEqual(listed.length, 1, 'listed rows of the top namespace')
          checkBytes(listed[0]!.sealed, sealed(3), 'the top namespace holds its own row')
        }),
      },
      {
        name: 'returned arrays belong to the caller',
        run: withBackend(async (backend) => {
          const write = put(ns1, 1)
          await backend.apply([write])
          if (write.kind === 'put') write.sealed.fill(0xee)
          const first = await backend.readRow(ns1, lookup(1))
          first?.fill(0)
          checkSome(
            await backend.readRow(ns1, lookup(1)),
            sealed(1),
            'row after the caller changed its arrays',
          )
        }),
      },
      {
        name: 'the header is compare-and-swap; a conflict writes nothing',
        run: withBackend(async (backend) => {
          const h1 = new Uint8Array([1, 2, 3])
          const h2 = new Uint8Array([4, 5, 6])
          await backend.apply([], { expected: undefined, next: h1 })
          checkSome(await backend.readHeader(), h1, 'first header')
          await checkRejects(
            () => backend.apply([put(ns1, 1)], { expected: undefined, next: h2 }),
            isCode('conflict'),
            'expecting no header where there is one',
          )
          await checkRejects(
            () => backend.apply([put(ns1, 1)], { expected: h2, next: h2 }),
            isCode('conflict'),
            'expecting another header',
          )
          checkEqual(await backend.readRow(ns1, lookup(1)), undefined, 'row of a refused batch')
          checkSome(await backend.readHeader(), h1, 'header after refused swaps')
          await backend.apply([put(ns1, 1)], { expected: h1, next: h2 })
          checkSome(await backend.readHeader(), h2, 'swapped header')
          checkSome(await backend.readRow(ns1, lookup(1)), sealed(1), 'row of the accepted batch')
        }),
      },
      {
        name: 'a batch that fails part-way leaves nothing behind',
        run: withBackend(async (backend) => {
          await backend.apply([put(ns1, 1)])
          const broken = {
            kind: 'put',
            namespace: ns1,
            lookup: lookup(3),
            sealed: 'not bytes',
          } as unknown as RowWrite
          await checkRejects(
            () => backend.apply([put(ns1, 1, 8), put(ns1, 2), broken]),
            (e) => StoreError.is(e),
            'a batch with a malformed write',
          )
          checkSome(await backend.readRow(ns1, lookup(1)), sealed(1), 'row 1 after the failed batch')
          checkEqual(await backend.readRow(ns1, lookup(2)), undefined, 'row 2 after the failed batch')
          checkEqual(await backend.countRows(ns1), 1, 'rows after the failed batch')
        }),
      },
      {
        name: 'use after close fails with locked',
        run: withBackend(async (backend) => {
          await backend.close()
          await checkRejects(() => backend.readHeader(), isCode('locked'), 'readHeader after close')
          await checkRejects(() => backend.apply([put(ns1, 1)]), isCode('locked'), 'apply after close')
          await backend.close() // idempotent
          await checkRejects(() => backend.listRows(ns1), isCode('locked'), 'listRows after a second close')
        }),
      },
    ],
  }
}
