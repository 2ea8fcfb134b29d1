/**
 * What a storage medium implements for the encrypted store: rows of sealed bytes and one header
 * blob, read one at a time and written in atomic batches. This is the whole contract a new
 * medium (the browser's IndexedDB) has to meet; all cryptography stays in `sealed-store.ts`, so a
 * backend never sees a key, a plaintext record key or a value.
 *
 * A row is addressed by (namespace tag, lookup key): two 32-byte HMAC outputs, opaque to the
 * backend. Rules every backend follows (the shared contract test,
 * `test/store/backend-contract.ts`, checks them):
 * - `apply` is atomic and durable: when it resolves, every write of the batch (and the header, if
 *   given) is on stable storage; if it rejects, none is. A put replaces any row at the address.
 * - `apply` with `header` compares the stored header with `header.expected` (undefined = none)
 *   and rejects with `conflict` without writing anything if they differ.
 * - Reads never write (opening and reading a store leaves the medium byte for byte unchanged, so
 *   that a wrong passphrase touches nothing).
 * - Returned arrays belong to the caller.
 * - Errors are StoreError: `io` for the medium, `conflict` as above.
 *
 * IndexedDB note: its transactions commit as soon as no request is pending, so nothing
 * asynchronous (WebCrypto) may run inside one. That is why sealing happens before `apply`, and
 * `apply` receives finished bytes it can write in one readwrite transaction.
 */

export interface SealedRow {
  readonly lookup: Uint8Array
  readonly sealed: Uint8Array
}

export type RowWrite =
  | {
      readonly kind: 'put'
      readonly namespace: Uint8Array
      readonly lookup: Uint8Array
      readonly sealed: Uint8Array
    }
  | { readonly kind: 'delete'; readonly namespace: Uint8Array; readonly lookup: Uint8Array }

export interface HeaderWrite {
  /** The header the writer read; undefined when it expects none (a new store). */
  readonly expected: Uint8Array | undefined
  readonly next: Uint8Array
}

export interface StoreBackend {
  /** The header blob, or undefined when the store was never initialised. */
  readHeader(): Promise<Uint8Array | undefined>
  readRow(namespace: Uint8Array, lookup: Uint8Array): Promise<Uint8Array | undefined>
  /** Every row of the namespace, in any order. */
  listRows(namespace: Uint8Array): Promise<SealedRow[]>
  countRows(namespace: Uint8Array): Promise<number>
  /** Applies all writes, and the header when given, atomically and durably. */
  apply(writes: readonly RowWrite[], header?: HeaderWrite): Promise<void>
  /** Releases the medium. Idempotent. */
  close(): Promise<void>
}
