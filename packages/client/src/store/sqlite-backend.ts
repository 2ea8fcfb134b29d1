import { existsSync } from 'node:fs'
import Database from 'better-sqlite3'
import type { HeaderWrite, RowWrite, SealedRow, StoreBackend } from './backend.ts'
import { StoreError } from './errors.ts'
import { MAX_HEADER_BYTES } from './format.ts'

/**
 * The Node medium of the encrypted store: one SQLite file (better-sqlite3 12), WAL journal,
 * `synchronous = FULL` (a commit is on disk when `apply` returns, DESIGN.md §7 crash safety),
 * `secure_delete = ON` (freed cells are zeroed, so a replaced header or record does not linger in
 * free pages). After a header write the WAL is checkpointed and truncated, so the previous wrapped
 * store key does not survive in WAL frames either. The schema is in docs/protocol/local-store.md.
 *
 * One process owns a store file at a time (the SDK's own rule; SQLite would serialise two writers,
 * but the sealed layer's read-check-write of a transaction is per process).
 */

/** `PRAGMA application_id` of a store file: ASCII "TcSt". */
export const STORE_APPLICATION_ID = 0x54635374
/** `PRAGMA user_version`: the schema version. */
export const STORE_SCHEMA_VERSION = 1
/** How long a writer waits for another connection's lock before failing with `io`. */
export const STORE_BUSY_TIMEOUT_MS = 5000

const SCHEMA = `
CREATE TABLE header (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  blob BLOB NOT NULL
) STRICT;
CREATE TABLE records (
  ns BLOB NOT NULL,
  lookup BLOB NOT NULL,
  sealed BLOB NOT NULL,
  PRIMARY KEY (ns, lookup)
) STRICT, WITHOUT ROWID;
`

export interface SqliteBackendOptions {
  /**
   * true: make a new store file (or finish one whose creation stopped before its header was
   * written). false: the file must exist and be a store; nothing is written on opening.
   */
  readonly create: boolean
}

function blob(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

function copy(value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new StoreError('io', 'the database returned a non-blob value')
  return new Uint8Array(value)
}

function ioError(what: string, cause: unknown): StoreError {
  if (StoreError.is(cause)) return cause
  return new StoreError('io', `SQLite: ${what} failed`, { cause })
}

export function openSqliteStoreBackend(path: string, options: SqliteBackendOptions): StoreBackend {
  if (typeof path !== 'string' || path.length === 0)
    throw new StoreError('invalid-argument', 'path must be a file path')
  const fresh = !existsSync(path)
  if (!options.create && fresh) throw new StoreError('not-initialized', 'no store file at this path')
  let db: Database.Database
  try {
    db = new Database(path, { fileMustExist: !options.create })
  } catch (cause) {
    throw ioError('opening the store file', cause)
  }
  try {
    // Connection settings only; none of them writes to an existing WAL-mode file.
    db.pragma(`busy_timeout = ${STORE_BUSY_TIMEOUT_MS}`)
    db.pragma('synchronous = FULL')
    db.pragma('secure_delete = ON')
    const applicationId = db.pragma('application_id', { simple: true })
    const schemaVersion = db.pragma('user_version', { simple: true })
    if (applicationId === 0 && schemaVersion === 0 && options.create) {
      const tables = db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table'").pluck().get()
      if (tables !== 0) throw new StoreError('not-a-store', 'the file is another SQLite database')
      db.pragma('journal_mode = WAL')
      db.transaction(() => {
        db.exec(SCHEMA)
        db.pragma(`application_id = ${STORE_APPLICATION_ID}`)
        db.pragma(`user_version = ${STORE_SCHEMA_VERSION}`)
      }).immediate()
    } else if (applicationId !== STORE_APPLICATION_ID) {
      throw new StoreError('not-a-store', 'the file is not a Tacit store')
    } else if (schemaVersion !== STORE_SCHEMA_VERSION) {
      throw new StoreError('unsupported-version', `store schema ${String(schemaVersion)}`)
    } else if (db.pragma('journal_mode', { simple: true }) !== 'wal') {
      throw new StoreError('not-a-store', 'the store file is not in WAL mode')
    }
    return new SqliteStoreBackend(db)
  } catch (error) {
    db.close()
    throw ioError('preparing the store file', error)
  }
}

class SqliteStoreBackend implements StoreBackend {
  readonly #db: Database.Database
  readonly #readHeader: Database.Statement
  readonly #writeHeader: Database.Statement
  readonly #readRow: Database.Statement
  readonly #listRows: Database.Statement
  readonly #countRows: Database.Statement
  readonly #putRow: Database.Statement
  readonly #deleteRow: Database.Statement
  #closed = false

  constructor(db: Database.Database) {
    this.#db = db
    this.#readHeader = db.prepare('SELECT blob FROM header WHERE id = 1').pluck()
    this.#writeHeader = db.prepare(
      'INSERT INTO header (id, blob) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET blob = excluded.blob',
    )
    this.#readRow = db.prepare('SELECT sealed FROM records WHERE ns = ? AND lookup = ?').pluck()
    this.#listRows = db.prepare('SELECT lookup, sealed FROM records WHERE ns = ?')
    this.#countRows = db.prepare('SELECT count(*) FROM records WHERE ns = ?').pluck()
    this.#putRow = db.prepare(
      'INSERT INTO records (ns, lookup, sealed) VALUES (?, ?, ?) ON CONFLICT (ns, lookup) DO UPDATE SET sealed = excluded.sealed',
    )
    this.#deleteRow = db.prepare('DELETE FROM records WHERE ns = ? AND lookup = ?')
  }

  #checkOpen(): void {
    if (this.#closed) throw new StoreError('locked', 'the store file is closed')
  }

  #currentHeader(): Uint8Array | undefined {
    const value = this.#readHeader.get()
    if (value === undefined) return undefined
    const bytes = copy(value)
    if (bytes.length > MAX_HEADER_BYTES) throw new StoreError('corrupt-header', 'header too long')
    return bytes
  }

  async readHeader(): Promise<Uint8Array | undefined> {
    this.#checkOpen()
    try {
      return this.#currentHeader()
    } catch (cause) {
      throw ioError('reading the header', cause)
    }
  }

  async readRow(namespace: Uint8Array, lookup: Uint8Array): Promise<Uint8Array | undefined> {
    this.#checkOpen()
    try {
      const value = this.#readRow.get(blob(namespace), blob(lookup))
      return value === undefined ? undefined : copy(value)
    } catch (cause) {
      throw ioError('reading a row', cause)
    }
  }

  async listRows(namespace: Uint8Array): Promise<SealedRow[]> {
    this.#checkOpen()
    try {
      const rows = this.#listRows.all(blob(namespace)) as { lookup: unknown; sealed: unknown }[]
      return rows.map((row) => ({ lookup: copy(row.lookup), sealed: copy(row.sealed) }))
    } catch (cause) {
      throw ioError('listing rows', cause)
    }
  }

  async countRows(namespace: Uint8Array): Promise<number> {
    this.#checkOpen()
    try {
      return Number(this.#countRows.get(blob(namespace)))
    } catch (cause) {
      throw ioError('counting rows', cause)
    }
  }

  async apply(writes: readonly RowWrite[], header?: HeaderWrite): Promise<void> {
    this.#checkOpen()
    try {
      // BEGIN IMMEDIATE: take the write lock before reading the header for the comparison.
      this.#db
        .transaction(() => {
          if (header !== undefined) {
            const current = this.#currentHeader()
            const same =
              current === undefined || header.expected === undefined
                ? current === header.expected
                : Buffer.compare(blob(current), blob(header.expected)) === 0
            if (!same) throw new StoreError('conflict', 'the store header changed')
          }
          for (const write of writes) {
            if (write.kind === 'put')
              this.#putRow.run(blob(write.namespace), blob(write.lookup), blob(write.sealed))
            else this.#deleteRow.run(blob(write.namespace), blob(write.lookup))
          }
          if (header !== undefined) this.#writeHeader.run(blob(header.next))
        })
        .immediate()
      if (header !== undefined) {
        // The old header (and so the store key wrapped under the old passphrase) is still in
        // WAL frames: copy the new page into the main file and cut the WAL to zero bytes.
        this.#db.pragma('wal_checkpoint(TRUNCATE)')
      }
    } catch (cause) {
      throw ioError('writing', cause)
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#db.close()
  }
}
