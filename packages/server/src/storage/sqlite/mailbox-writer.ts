/**
 * The SQLite body of one group-commit batch (`enqueue` and `ack` calls), on one connection.
 * Used on the main thread (inside `submitCommit`'s transaction, and as the in-thread writer) and
 * by the writer thread (`writer-worker.ts`) on its own connection to the same file.
 */
import type Database from 'better-sqlite3'
import type { Settled, WriteCall } from '../group-commit.ts'
import { creditAcks, listBatchDevices, type MailboxState, planMailboxBatch } from '../mailbox-batch.ts'
import { type Bytes, type DeviceId, StorageError } from '../storage.ts'

type Row = Record<string, unknown>

/** better-sqlite3 binds Buffers, not bare Uint8Arrays; this is a view, not a copy. */
export function toBuffer(bytes: Bytes): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

export function toNumber(value: unknown): number {
  return typeof value === 'bigint' ? Number(value) : (value as number)
}

/** Maps driver errors to StorageError codes; StorageErrors pass through. Never includes values. */
export function mapSqliteError(error: unknown): StorageError {
  if (StorageError.is(error)) return error
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string') {
    if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE') {
      return new StorageError('already-exists', 'a record with this key already exists', { cause: error })
    }
    if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
      return new StorageError('not-found', 'a referenced record does not exist', { cause: error })
    }
  }
  return new StorageError('unavailable', 'the database failed', { cause: error })
}

/**
 * Lowers the reference count of each payload by the mailbox rows of it just deleted, and deletes
 * the payloads that no mailbox row references any more (migration 3). One statement for the
 * common case: a payload whose last reference went.
 */
export function releasePayloads(
  freed: ReadonlyMap<number, number>,
  stmt: (sql: string) => Database.Statement,
): void {
  if (freed.size === 0) return
  const drop = stmt('DELETE FROM payloads WHERE id = ? AND refs <= ?')
  const lower = stmt('UPDATE payloads SET refs = refs - ? WHERE id = ?')
  for (const [id, n] of freed) if (drop.run(id, n).changes === 0) lower.run(n, id)
}

export class SqliteMailboxWriter {
  readonly #db: Database.Database
  readonly #capacity: number
  readonly #statements = new Map<string, Database.Statement>()

  constructor(db: Database.Database, capacity: number) {
    this.#db = db
    this.#capacity = capacity
  }

  #stmt(sql: string): Database.Statement {
    let s = this.#statements.get(sql)
    if (s === undefined) {
      s = this.#db.prepare(sql)
      this.#statements.set(sql, s)
    }
    return s
  }

  /** One batch as one IMMEDIATE transaction: one fsync at COMMIT (synchronous=FULL). */
  runBatch(calls: readonly WriteCall[]): Settled<bigint[][] | number>[] {
    try {
      return this.#db.transaction(() => this.writeCalls(calls)).immediate()
    } catch (error) {
      throw mapSqliteError(error)
    }
  }

  /** The batch's writes, inside the caller's transaction. */
  writeCalls(calls: readonly WriteCall[]): Settled<bigint[][] | number>[] {
    const states = new Map<DeviceId, MailboxState>()
    const readState = this.#stmt(
      'SELECT revoked_at, next_seq, mailbox_count FROM devices WHERE device_id = ?',
    )
    for (const id of listBatchDevices(calls)) {
      const r = readState.get(id) as Row | undefined
      if (r !== undefined) {
        states.set(id, {
          revoked: r.revoked_at !== null,
          nextSeq: toNumber(r.next_seq),
          count: toNumber(r.mailbox_count),
        })
      }
    }
    const plan = planMailboxBatch(calls, states, this.#capacity)
    // Each payload row counts and lists the mailbox rows that reference it (migration 3).
    const recipients = plan.payloads.map((): [DeviceId, number][] => [])
    for (const row of plan.rows) recipients[row.payload]!.push([row.deviceId, row.seq])
    const insertPayload = this.#stmt(
      'INSERT INTO payloads (payload, received_at, expires_at, refs, recipients) VALUES (?, ?, ?, ?, ?)',
    )
    const payloadIds = plan.payloads.map(
      (p, i) =>
        insertPayload.run(
          toBuffer(p.payload),
          p.receivedAt,
          p.expiresAt,
          recipients[i]!.length,
          JSON.stringify(recipients[i]!),
        ).lastInsertRowid,
    )
    const insertRow = this.#stmt('INSERT INTO mailbox (device_id, seq, payload_id) VALUES (?, ?, ?)')
    for (const row of plan.rows) insertRow.run(row.deviceId, row.seq, payloadIds[row.payload]!)
    const deleteRow = this.#stmt('DELETE FROM mailbox WHERE device_id = ? AND seq = ? RETURNING payload_id')
    const deleted: { deviceId: DeviceId; seq: number }[] = []
    /** Payload id -> mailbox rows of it deleted in this batch. */
    const freed = new Map<number, number>()
    for (const a of plan.acks) {
      const r = deleteRow.get(a.deviceId, a.seq) as Row | undefined
      if (r === undefined) continue
      deleted.push({ deviceId: a.deviceId, seq: a.seq })
      const id = toNumber(r.payload_id)
      freed.set(id, (freed.get(id) ?? 0) + 1)
    }
    creditAcks(plan, deleted, states)
    const updateState = this.#stmt('UPDATE devices SET next_seq = ?, mailbox_count = ? WHERE device_id = ?')
    for (const id of plan.touched) {
      const s = states.get(id)!
      updateState.run(s.nextSeq, s.count, id)
    }
    releasePayloads(freed, (sql) => this.#stmt(sql))
    return plan.results
  }
}
