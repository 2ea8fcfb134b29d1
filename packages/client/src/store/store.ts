import { StoreError } from './errors.ts'

/**
 * The encrypted local store as the SDK sees it: opaque byte records in named namespaces, four
 * operations and one atomic transaction — in the manner of libsignal's stores, not one method per
 * internal structure. What a record means (a session, a group state, a contact) is the caller's
 * business; the store only keeps bytes, sealed.
 *
 * Every implementation is the sealed layer of `sealed-store.ts` over a `StoreBackend`
 * (`backend.ts`): SQLite on Node, IndexedDB in browsers. A backend only ever sees sealed rows.
 * The on-disk format is `docs/protocol/local-store.md`.
 */

/** A validated namespace name (see `defineNamespace`). */
export type StoreNamespace = string & { readonly __storeNamespace: unique symbol }

export interface StoreEntry {
  readonly key: Uint8Array
  readonly value: Uint8Array
}

export interface StoreReader {
  /** The value under `key`, or undefined. */
  get(namespace: StoreNamespace, key: Uint8Array): Promise<Uint8Array | undefined>
  /** Every record of the namespace, sorted by key bytes (at most MAX_RECORDS_PER_NAMESPACE). */
  list(namespace: StoreNamespace): Promise<StoreEntry[]>
}

/**
 * The view a transaction function gets. Reads see the transaction's own earlier writes. Writes
 * are buffered and applied together, atomically and durably, when the function returns; if it
 * throws, nothing is written. Using it after the function returned throws `transaction-closed`.
 */
export interface StoreTransaction extends StoreReader {
  put(namespace: StoreNamespace, key: Uint8Array, value: Uint8Array): Promise<void>
  delete(namespace: StoreNamespace, key: Uint8Array): Promise<void>
}

export interface Store extends StoreReader {
  /** One durable write (a transaction of one). */
  put(namespace: StoreNamespace, key: Uint8Array, value: Uint8Array): Promise<void>
  /** Deleting a missing key is not an error. */
  delete(namespace: StoreNamespace, key: Uint8Array): Promise<void>
  /**
   * Runs `fn` and applies its writes all together or not at all. Transactions (and `put`,
   * `delete`, `changePassphrase`) run one at a time, in call order. Inside `fn`, use only `tx`:
   * calling this store's own write methods from `fn` would wait for `fn` itself.
   */
  transaction<T>(fn: (tx: StoreTransaction) => Promise<T> | T): Promise<T>
}

/** Namespaces are code-defined names (lowercase ASCII, digits, ".", "_", "-"), room for a prefix and a 64-hex-digit id. */
export const MAX_NAMESPACE_LENGTH = 128
/** Record keys are ids (handles, group ids, device ids), not data. */
export const MAX_RECORD_KEY_BYTES = 1024
/** Above the largest MLS group state we expect (about 3 KiB per member with post-quantum keys). */
export const MAX_RECORD_VALUE_BYTES = 16 * 1024 * 1024
/** `list` returns a whole namespace, so its size is bounded. */
export const MAX_RECORDS_PER_NAMESPACE = 100_000
/** Writes (puts and deletes) in one transaction. */
export const MAX_WRITES_PER_TRANSACTION = 10_000
/** Key and value bytes written by one transaction. */
export const MAX_TRANSACTION_BYTES = 64 * 1024 * 1024

const NAMESPACE_PATTERN = /^[a-z0-9][a-z0-9._-]*$/

/** Validates a namespace name once, where the caller defines it (a module-level constant). */
export function defineNamespace(name: string): StoreNamespace {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAMESPACE_LENGTH) {
    throw new StoreError('invalid-argument', `namespace must be 1..${MAX_NAMESPACE_LENGTH} characters`)
  }
  if (!NAMESPACE_PATTERN.test(name)) {
    throw new StoreError(
      'invalid-argument',
      'namespace must be lowercase ASCII letters, digits, ".", "_" or "-"',
    )
  }
  return name as StoreNamespace
}

/** Re-checks a namespace at the API boundary (a cast string would otherwise slip through). */
export function checkNamespace(namespace: StoreNamespace): StoreNamespace {
  return defineNamespace(namespace)
}

export function checkRecordKey(key: Uint8Array): Uint8Array {
  if (!(key instanceof Uint8Array))
    throw new StoreError('invalid-argument', 'record key must be a Uint8Array')
  if (key.length > MAX_RECORD_KEY_BYTES) {
    throw new StoreError('limit-exceeded', `record key above ${MAX_RECORD_KEY_BYTES} bytes`)
  }
  return key
}

export function checkRecordValue(value: Uint8Array): Uint8Array {
  if (!(value instanceof Uint8Array))
    throw new StoreError('invalid-argument', 'record value must be a Uint8Array')
  if (value.length > MAX_RECORD_VALUE_BYTES) {
    throw new StoreError('limit-exceeded', `record value above ${MAX_RECORD_VALUE_BYTES} bytes`)
  }
  return value
}
