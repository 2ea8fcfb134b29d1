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

/** One SQLite connection and its prepared statements. */
class Connection {
  readonly db: Database.Database
  readonly writable: boolean
  readonly readHeader: Database.Statement
  readonly writeHeader: Database.Statement
  readonly readRow: Database.Statement
  readonly listRows: Database.Statement
  readonly countRows: Database.Statement
  readonly putRow: Database.Statement
  readonly deleteRow: Database.Statement

  constructor(db: Database.Database, writable: boolean) {
    this.db = db
    this.writable = writable
    this.readHeader = db.prepare('SELECT blob FROM header WHERE id = 1').pluck()
    this.writeHeader = db.prepare(
      'INSERT INTO header (id, blob) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET blob = excluded.blob',
    )
    this.readRow = db.prepare('SELECT sealed FROM records WHERE ns = ? AND lookup = ?').pluck()
    this.listRows = db.prepare('SELECT lookup, sealed FROM records WHERE ns = ?')
    this.countRows = db.prepare('SELECT count(*) FROM records WHERE ns = ?').pluck()
    this.putRow = db.prepare(
      'INSERT INTO records (ns, lookup, sealed) VALUES (?, ?, ?) ON CONFLICT (ns, lookup) DO UPDATE SET sealed = excluded.sealed',
    )
    this.deleteRow = db.prepare('DELETE FROM records WHERE ns = ? AND lookup = ?')
  }
}

/**
 * Opens a connection and checks (or, with `create`, makes) the schema. Read-only connections set
 * nothing and read only.
 */
function connect(path: string, mode: 'create' | 'read-write' | 'read-only'): Connection {
  let db: Database.Database
  try {
    db = new Database(path, { fileMustExist: mode !== 'create', readonly: mode === 'read-only' })
  } catch (cause) {
    throw ioError('opening the store file', cause)
  }
  try {
    db.pragma(`busy_timeout = ${STORE_BUSY_TIMEOUT_MS}`)
    if (mode !== 'read-only') {
      // Connection settings only; none of them writes to an existing WAL-mode file.
      db.pragma('synchronous = FULL')
      db.pragma('secure_delete = ON')
    }
    const applicationId = db.pragma('application_id', { simple: true })
    const schemaVersion = db.pragma('user_version', { simple: true })
    if (applicationId === 0 && schemaVersion === 0 && mode === 'create') {
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
    return new Connection(db, mode !== 'read-only')
  } catch (error) {
    db.close()
    throw ioError('preparing the store file', error)
  }
}

/**
 * Opens a store file. Opening an existing one (`create: false`) must write nothing, so that a
 * wrong passphrase leaves the file as it was:
 * - after a clean shutdown there is no WAL: a read-write connection opens and closes without
 *   writing (SQLite makes and removes an empty WAL and index, and the file is unchanged);
 * - after an unclean shutdown the WAL holds committed frames, and the last read-write connection
 *   to close would checkpoint them into the file. So the backend reads through a read-only
 *   connection and opens the read-write one only at its first write — that is, after the
 *   passphrase was right. (A read-only reader may still rebuild the WAL index in `-shm`: that
 *   file is SQLite's shared-memory index, derived from the WAL, and holds no data.)
 */
export function openSqliteStoreBackend(path: string, options: SqliteBackendOptions): StoreBackend {
  if (typeof path !== 'string' || path.length === 0) {
    throw new StoreError('invalid-argument', 'path must be a file path')
  }
  if (options.create) return new SqliteStoreBackend(path, connect(path, 'create'))
  if (!existsSync(path)) throw new StoreError('not-initialized', 'no store file at this path')
  return new SqliteStoreBackend(path, connect(path, existsSync(`${path}-wal`) ? 'read-only' : 'read-write'))
}

class SqliteStoreBackend implements StoreBackend {
  readonly #path: string
  #conn: Connection
  #closed = false

  constructor(path: string, conn: Connection) {
    this.#path = path
    this.#conn = conn
  }

  /** The read-write connection, opened on first use if the backend started read-only. */
  #writable(): Connection {
    if (!this.#conn.writable) {
      const next = connect(this.#path, 'read-write')
      this.#conn.db.close()
      this.#conn = next
    }
    return this.#conn
  }

  #checkOpen(): void {
    if (this.#closed) throw new StoreError('locked', 'the store file is closed')
  }

  #currentHeader(): Uint8Array | undefined {
    const value = this.#conn.readHeader.get()
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
      const value = this.#conn.readRow.get(blob(namespace), blob(lookup))
      return value === undefined ? undefined : copy(value)
    } catch (cause) {
      throw ioError('reading a row', cause)
    }
  }

  async listRows(namespace: Uint8Array): Promise<SealedRow[]> {
    this.#checkOpen()
    try {
      const rows = this.#conn.listRows.all(blob(namespace)) as { lookup: unknown; sealed: unknown }[]
      return rows.map((row) => ({ lookup: copy(row.lookup), sealed: copy(row.sealed) }))
    } catch (cause) {
      throw ioError('listing rows', cause)
    }
  }

  async countRows(namespace: Uint8Array): Promise<number> {
    this.#checkOpen()
    try {
      return Number(this.#conn.countRows.get(blob(namespace)))
    } catch (cause) {
      throw ioError('counting rows', cause)
    }
  }

  async apply(writes: readonly RowWrite[], header?: HeaderWrite): Promise<void> {
    this.#checkOpen()
    try {
      const conn = this.#writable()
      // BEGIN IMMEDIATE: take the write lock before reading the header for the comparison.
      conn.db
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
              conn.putRow.run(blob(write.namespace), blob(write.lookup), blob(write.sealed))
            else conn.deleteRow.run(blob(write.namespace), blob(write.lookup))
          }
          if (header !== undefined) conn.writeHeader.run(blob(header.next))
        })
        .immediate()
      if (header !== undefined) {
        // The old header (and so the store key wrapped under the old passphrase) is still in
        // WAL frames: copy the new page into the main file and cut the WAL to zero bytes.
        conn.db.pragma('wal_checkpoint(TRUNCATE)')
      }
    } catch (cause) {
      throw ioError('writing', cause)
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#conn.db.close()
  }
}
