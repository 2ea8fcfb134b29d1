import type { HeaderWrite, RowWrite, SealedRow, StoreBackend } from './backend.ts'
import { StoreError } from './errors.ts'
import { copyBytes } from './format.ts'

/**
 * A `StoreBackend` in memory: for tests, and the smallest worked example of the contract for
 * whoever writes the next medium. Not durable, by definition.
 */

function hex(bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += b.toString(16).padStart(2, '0')
  return s
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  return a.length === b.length && a.every((x, i) => x === b[i])
}

export function createMemoryStoreBackend(): StoreBackend {
  let header: Uint8Array | undefined
  const namespaces = new Map<string, Map<string, SealedRow>>()
  let closed = false
  const checkOpen = () => {
    if (closed) throw new StoreError('locked', 'the backend is closed')
  }
  return {
    async readHeader() {
      checkOpen()
      return header === undefined ? undefined : copyBytes(header)
    },
    async readRow(namespace, lookup) {
      checkOpen()
      const row = namespaces.get(hex(namespace))?.get(hex(lookup))
      return row === undefined ? undefined : copyBytes(row.sealed)
    },
    async listRows(namespace) {
      checkOpen()
      const rows = namespaces.get(hex(namespace))
      return rows === undefined
        ? []
        : [...rows.values()].map((r) => ({ lookup: copyBytes(r.lookup), sealed: copyBytes(r.sealed) }))
    },
    async countRows(namespace) {
      checkOpen()
      return namespaces.get(hex(namespace))?.size ?? 0
    },
    async apply(writes: readonly RowWrite[], headerWrite?: HeaderWrite) {
      checkOpen()
      if (headerWrite !== undefined && !sameBytes(header, headerWrite.expected)) {
        throw new StoreError('conflict', 'the store header changed')
      }
      // Check the whole batch first, then apply it synchronously: nothing can interleave or
      // fail half-way, so the batch is atomic.
      for (const write of writes) {
        const fields =
          write.kind === 'put'
            ? [write.namespace, write.lookup, write.sealed]
            : [write.namespace, write.lookup]
        if (
          (write.kind !== 'put' && write.kind !== 'delete') ||
          !fields.every((f) => f instanceof Uint8Array)
        ) {
          throw new StoreError('invalid-argument', 'a write in the batch is malformed')
        }
      }
      for (const write of writes) {
        const ns = hex(write.namespace)
        let rows = namespaces.get(ns)
        if (write.kind === 'put') {
          if (rows === undefined) {
            rows = new Map()
            namespaces.set(ns, rows)
          }
          rows.set(hex(write.lookup), { lookup: copyBytes(write.lookup), sealed: copyBytes(write.sealed) })
        } else {
          rows?.delete(hex(write.lookup))
          if (rows?.size === 0) namespaces.delete(ns)
        }
      }
      if (headerWrite !== undefined) header = copyBytes(headerWrite.next)
    },
    async close() {
      closed = true
    },
  }
}
