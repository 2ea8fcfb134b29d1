import type { HeaderWrite, RowWrite, SealedRow, StoreBackend } from './backend.ts'
import { StoreError } from './errors.ts'

/**
 * A `StoreBackend` over the browser's IndexedDB (docs/protocol/local-store.md §6). One database
 * per store, two object stores:
 * - `header`: one value, key `1`, the header bytes (§3);
 * - `records`: key `[ns_tag, lookup]` (two 32-byte ArrayBuffers; binary keys compare byte by byte),
 *   value the sealed bytes (§4). A namespace is the key range `[ns_tag] .. [ns_tag, []]`: an array
 *   sorts after every binary key, so that range holds exactly the rows of `ns_tag`.
 *
 * `apply` is one `readwrite` transaction over both stores with `durability: 'strict'`, so it
 * resolves only once the browser reports the batch flushed. The header compare-and-swap reads the
 * stored header inside that same transaction and issues the writes from its success callback:
 * nothing but IndexedDB requests runs inside the transaction (all sealing happened before `apply`,
 * as backend.ts requires), so it cannot auto-commit half-way. A mismatch aborts the transaction:
 * nothing is written.
 *
 * Reads use `readonly` transactions, and opening an existing database at its current version
 * writes nothing, so a wrong passphrase leaves the database as it was. Opening with
 * `create: false` where no database exists aborts the upgrade IndexedDB starts, which leaves no
 * database behind.
 */

export const INDEXEDDB_SCHEMA_VERSION = 1
export const HEADER_STORE = 'header'
export const RECORDS_STORE = 'records'
const HEADER_KEY = 1
/** ns_tag and lookup are HMAC-SHA-256 outputs (local-store.md §4). */
export const ROW_ADDRESS_BYTES = 32
/** IndexedDB names a database by a string; ours are short, code-chosen names. */
export const MAX_DATABASE_NAME_LENGTH = 128
/** Default database name of the browser client's store. */
export const DEFAULT_DATABASE_NAME = 'tacit-store'

export interface IndexedDbBackendOptions {
  /** true: create the database if it is missing; false: fail with `not-initialized` instead. */
  readonly create: boolean
  /** The IDBFactory to use (default `globalThis.indexedDB`). */
  readonly factory?: IDBFactory
}

function factoryOf(options: IndexedDbBackendOptions): IDBFactory {
  const factory = options.factory ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB
  if (factory === undefined) throw new StoreError('io', 'IndexedDB is not available here')
  return factory
}

function checkName(name: string): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_DATABASE_NAME_LENGTH) {
    throw new StoreError(
      'invalid-argument',
      `database name must be 1..${MAX_DATABASE_NAME_LENGTH} characters`,
    )
  }
  return name
}

/** What IndexedDB reported, as a StoreError that names no data (DOMException names are fixed). */
function ioError(what: string, error: unknown): StoreError {
  const name = error instanceof DOMException ? error.name : 'unknown error'
  return new StoreError('io', `IndexedDB ${what} failed (${name})`, { cause: error })
}

function toBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value
  if (value instanceof ArrayBuffer) return new Uint8Array(value)
  throw new StoreError('corrupt-record', 'IndexedDB holds a value that is not bytes')
}

/**
 * A key or value to hand to IndexedDB: its own ArrayBuffer holding exactly these bytes, so the
 * caller's later changes to its array cannot reach what was queued.
 */
function ownBuffer(bytes: Uint8Array): ArrayBuffer {
  return new Uint8Array(bytes).buffer
}

function checkAddress(bytes: unknown): bytes is Uint8Array {
  return bytes instanceof Uint8Array && bytes.length === ROW_ADDRESS_BYTES
}

/** Validates the whole batch before a transaction starts, so a bad write cannot land half a batch. */
function checkWrites(writes: readonly RowWrite[], header: HeaderWrite | undefined): void {
  if (!Array.isArray(writes)) throw new StoreError('invalid-argument', 'writes must be an array')
  for (const write of writes) {
    const ok =
      write !== null &&
      typeof write === 'object' &&
      checkAddress(write.namespace) &&
      checkAddress(write.lookup) &&
      (write.kind === 'delete' || (write.kind === 'put' && write.sealed instanceof Uint8Array))
    if (!ok) throw new StoreError('invalid-argument', 'a write in the batch is malformed')
  }
  if (header !== undefined) {
    const ok =
      header.next instanceof Uint8Array &&
      (header.expected === undefined || header.expected instanceof Uint8Array)
    if (!ok) throw new StoreError('invalid-argument', 'the header write is malformed')
  }
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  return a.length === b.length && a.every((x, i) => x === b[i])
}

function namespaceRange(namespace: Uint8Array): IDBKeyRange {
  const tag = ownBuffer(namespace)
  return IDBKeyRange.bound([tag], [tag, []])
}

function promiseOf<T>(request: IDBRequest<T>, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result)
    request.onerror = () => reject(ioError(what, request.error))
  })
}

function openDatabase(factory: IDBFactory, name: string, create: boolean): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    let request: IDBOpenDBRequest
    try {
      request = factory.open(name, INDEXEDDB_SCHEMA_VERSION)
    } catch (error) {
      reject(ioError('open', error))
      return
    }
    let missing = false
    request.onupgradeneeded = (event) => {
      const upgrade = request.transaction
      if (event.oldVersion === 0 && !create) {
        // Abort: IndexedDB then removes the database it was about to create.
        missing = true
        upgrade?.abort()
        return
      }
      if (event.oldVersion !== 0) {
        // A version we do not know would have failed open() with VersionError; a lower nonzero
        // one cannot exist (this is schema version 1).
        upgrade?.abort()
        return
      }
      const db = request.result
      db.createObjectStore(HEADER_STORE)
      db.createObjectStore(RECORDS_STORE)
    }
    request.onsuccess = () => {
      const db = request.result
      if (!db.objectStoreNames.contains(HEADER_STORE) || !db.objectStoreNames.contains(RECORDS_STORE)) {
        db.close()
        reject(new StoreError('not-a-store', 'this IndexedDB database is not a Tacit store'))
        return
      }
      resolve(db)
    }
    request.onerror = () => {
      if (missing) {
        reject(new StoreError('not-initialized', 'no store in this browser yet'))
      } else if (request.error?.name === 'VersionError') {
        reject(new StoreError('unsupported-version', 'the IndexedDB store was written by a newer version'))
      } else {
        reject(ioError('open', request.error))
      }
    }
    request.onblocked = () => {
      // Only an upgrade can be blocked (another tab holds an older version open); ours never
      // upgrades an existing database, so this does not happen in practice.
      reject(new StoreError('io', 'IndexedDB open is blocked by another tab'))
    }
  })
}

/** Opens (or with `create: true`, creates) the IndexedDB store called `name`. */
export async function openIndexedDbStoreBackend(
  name: string,
  options: IndexedDbBackendOptions,
): Promise<StoreBackend> {
  const factory = factoryOf(options)
  const db = await openDatabase(factory, checkName(name), options.create)
  let closed = false
  // Another tab deleting or upgrading the database asks us to let go; a closed backend then
  // fails with `locked` instead of blocking that tab.
  db.onversionchange = () => {
    closed = true
    db.close()
  }
  const checkOpen = () => {
    if (closed) throw new StoreError('locked', 'the backend is closed')
  }
  const readOnly = (stores: string | string[]): IDBTransaction => {
    checkOpen()
    try {
      return db.transaction(stores, 'readonly')
    } catch (error) {
      throw ioError('transaction', error)
    }
  }

  return {
    async readHeader() {
      const tx = readOnly(HEADER_STORE)
      const value = await promiseOf(tx.objectStore(HEADER_STORE).get(HEADER_KEY), 'read')
      return value === undefined ? undefined : toBytes(value)
    },
    async readRow(namespace, lookup) {
      if (!checkAddress(namespace) || !checkAddress(lookup)) {
        throw new StoreError('invalid-argument', 'a row address is 32 bytes')
      }
      const tx = readOnly(RECORDS_STORE)
      const key = [ownBuffer(namespace), ownBuffer(lookup)]
      const value = await promiseOf(tx.objectStore(RECORDS_STORE).get(key), 'read')
      return value === undefined ? undefined : toBytes(value)
    },
    async listRows(namespace) {
      if (!checkAddress(namespace)) throw new StoreError('invalid-argument', 'a namespace tag is 32 bytes')
      const tx = readOnly(RECORDS_STORE)
      const store = tx.objectStore(RECORDS_STORE)
      const range = namespaceRange(namespace)
      // Both requests run in one transaction over the same range, so keys and values pair up.
      const [keys, values] = await Promise.all([
        promiseOf(store.getAllKeys(range), 'list'),
        promiseOf(store.getAll(range), 'list'),
      ])
      if (keys.length !== values.length) throw new StoreError('io', 'IndexedDB listed keys and values apart')
      const rows: SealedRow[] = []
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]
        if (!Array.isArray(key) || key.length !== 2) {
          throw new StoreError('corrupt-record', 'IndexedDB holds a row with a malformed key')
        }
        rows.push({ lookup: toBytes(key[1]), sealed: toBytes(values[i]) })
      }
      return rows
    },
    async countRows(namespace) {
      if (!checkAddress(namespace)) throw new StoreError('invalid-argument', 'a namespace tag is 32 bytes')
      const tx = readOnly(RECORDS_STORE)
      return promiseOf(tx.objectStore(RECORDS_STORE).count(namespaceRange(namespace)), 'count')
    },
    apply(writes, header) {
      return new Promise<void>((resolve, reject) => {
        checkOpen()
        checkWrites(writes, header)
        // Copies taken now: the caller may reuse its arrays as soon as apply() returns.
        const queued = writes.map((w) =>
          w.kind === 'put'
            ? { key: [ownBuffer(w.namespace), ownBuffer(w.lookup)], value: new Uint8Array(w.sealed) }
            : { key: [ownBuffer(w.namespace), ownBuffer(w.lookup)], value: undefined },
        )
        const expected = header?.expected === undefined ? undefined : new Uint8Array(header.expected)
        const next = header === undefined ? undefined : new Uint8Array(header.next)
        let tx: IDBTransaction
        try {
          tx = db.transaction([HEADER_STORE, RECORDS_STORE], 'readwrite', { durability: 'strict' })
        } catch (error) {
          reject(ioError('transaction', error))
          return
        }
        let outcome: StoreError | null = null
        tx.oncomplete = () => resolve()
        tx.onabort = () => reject(outcome ?? ioError('write', tx.error))
        const records = tx.objectStore(RECORDS_STORE)
        const headers = tx.objectStore(HEADER_STORE)
        const writeAll = () => {
          try {
            for (const q of queued) {
              if (q.value === undefined) records.delete(q.key)
              else records.put(q.value, q.key)
            }
            if (next !== undefined) headers.put(next, HEADER_KEY)
          } catch (error) {
            outcome = ioError('write', error)
            tx.abort()
          }
        }
        if (header === undefined) {
          writeAll()
          return
        }
        const read = headers.get(HEADER_KEY)
        read.onsuccess = () => {
          let stored: Uint8Array | undefined
          try {
            stored = read.result === undefined ? undefined : toBytes(read.result)
          } catch (error) {
            outcome = StoreError.is(error) ? error : ioError('read', error)
            tx.abort()
            return
          }
          if (!sameBytes(stored, expected)) {
            outcome = new StoreError('conflict', 'the store header changed')
            tx.abort()
            return
          }
          writeAll()
        }
      })
    },
    async close() {
      if (closed) return
      closed = true
      db.close()
    },
  }
}

/**
 * Deletes the IndexedDB store called `name` (and every row in it). Resolves once the browser
 * deleted it; other tabs holding it open are asked to close first (see `onversionchange`).
 */
export function deleteIndexedDbStore(name: string, factory?: IDBFactory): Promise<void> {
  const f = factoryOf({ create: false, ...(factory !== undefined ? { factory } : {}) })
  return new Promise((resolve, reject) => {
    const request = f.deleteDatabase(checkName(name))
    request.onsuccess = () => resolve()
    request.onerror = () => reject(ioError('delete', request.error))
  })
}
