/**
 * The embedded backend: one SQLite file on better-sqlite3 (synchronous API), WAL journal,
 * `synchronous=FULL` so that every commit is fsync'd before its promise resolves (see
 * docs/decisions/0004-server-storage.md). Write transactions are `BEGIN IMMEDIATE`, so two
 * connections (or processes) on one file never deadlock upgrading a read lock; `busy_timeout`
 * makes the second writer wait instead of failing.
 *
 * `enqueue` and `ack` go through a GroupCommitQueue: all calls of a tick share one transaction.
 * By default those batches run on a writer thread (`writer-worker.ts`) with its own connection,
 * so their fsync does not stall the event loop; the main connection serves reads and the other,
 * rarer writes (WAL lets readers and one writer work at once; `busy_timeout` orders the two
 * writers). Every other method runs its own transaction synchronously when called.
 */
import Database from 'better-sqlite3'
import { assembleRange } from '../blob-range.ts'
import { GroupCommitQueue, type StorageOptions, type WriteCall } from '../group-commit.ts'
import {
  MAX_DELIVERY_TOKENS_PER_DEVICE,
  MAX_DEVICES_PER_ACCOUNT,
  MAX_LISTED_INVITES,
  MAX_MAILBOX_ENTRIES,
  MAX_OPEN_INVITES,
  MAX_SESSIONS_PER_DEVICE,
  MAX_SWEEP_BLOBS,
  MAX_SWEEP_ROWS,
} from '../limits.ts'
import type { Migration } from '../migration.ts'
import {
  type Account,
  type BlobInfo,
  type Bytes,
  type ClaimedKeyPackage,
  type CommitOutcome,
  type CommitRequest,
  type Device,
  type DeviceId,
  type EnqueueRequest,
  type Handle,
  type Invite,
  type MailboxEntry,
  type Storage,
  StorageError,
  type StorageWarning,
  type StoredKeyPackage,
} from '../storage.ts'
import {
  checkAccount,
  checkAck,
  checkAppend,
  checkBlobId,
  checkCommit,
  checkCreateBlob,
  checkDevice,
  checkDeviceId,
  checkEnqueue,
  checkFetch,
  checkGroupId,
  checkHandle,
  checkHash,
  checkInteger,
  checkRange,
  checkUpload,
} from '../validate.ts'
import { mapSqliteError, releasePayloads, SqliteMailboxWriter } from './mailbox-writer.ts'
import { SQLITE_MIGRATIONS } from './migrations.ts'
import type { WriterSettings } from './writer-protocol.ts'
import { SqliteWriterThread } from './writer-thread.ts'

export interface SqliteStorageOptions extends StorageOptions {
  /** How long a writer waits for another connection's write lock. Default 5000 ms. */
  readonly busyTimeoutMs?: number
  /**
   * FULL (default) fsyncs the WAL at every commit: a resolved write survives power loss. NORMAL
   * survives a process crash but may lose the last commits on power loss; for measurements only.
   */
  readonly synchronous?: 'FULL' | 'NORMAL'
  /** Apply pending migrations on open (default true). */
  readonly migrate?: boolean
  /**
   * Run group-commit batches on a writer thread (default true; always false for `:memory:`,
   * which a second connection cannot share). False runs them on the event loop.
   */
  readonly writerThread?: boolean
}

type Row = Record<string, unknown>
type Db = Database.Database

/** better-sqlite3 binds Buffers, not bare Uint8Arrays; this is a view, not a copy. */
function buf(bytes: Bytes): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

function bytes(value: unknown): Uint8Array {
  const b = value as Buffer
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
}

function num(value: unknown): number {
  return typeof value === 'bigint' ? Number(value) : (value as number)
}

function numOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : num(value)
}

const mapError = mapSqliteError

/** Runs `migrations` above the recorded version, each in its own IMMEDIATE transaction. */
export function migrateSqlite(db: Db, migrations: readonly Migration[] = SQLITE_MIGRATIONS): number {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
  )
  const current = (): number =>
    num((db.prepare('SELECT max(version) AS v FROM schema_version').get() as Row).v ?? 0)
  const latest = migrations.length === 0 ? 0 : migrations[migrations.length - 1]!.version
  if (current() > latest) {
    throw new StorageError(
      'unavailable',
      `the database schema v${current()} is newer than this server (v${latest})`,
    )
  }
  for (const step of migrations) {
    db.transaction(() => {
      // Re-read inside the lock: another process may have applied this step meanwhile.
      if (current() >= step.version) return
      db.exec(step.sql)
      db.prepare('INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)').run(
        step.version,
        step.name,
        Date.now(),
      )
    }).immediate()
  }
  return current()
}

export class SqliteStorage implements Storage {
  readonly #db: Db
  readonly #statements = new Map<string, Database.Statement>()
  readonly #queue: GroupCommitQueue<WriteCall, bigint[][] | number>
  readonly #writer: SqliteMailboxWriter
  readonly #thread: SqliteWriterThread | null
  #closed = false

  /** `thread`: the writer thread that runs group-commit batches; null runs them here. */
  constructor(db: Db, options: StorageOptions, thread: SqliteWriterThread | null = null) {
    this.#db = db
    this.#writer = new SqliteMailboxWriter(db, mailboxCapacity(options))
    this.#thread = thread
    // One batch in flight: calls reach the database in arrival order; the next batch fills
    // while the current one commits.
    this.#queue = new GroupCommitQueue(
      thread !== null ? (calls) => thread.run(calls) : (calls) => this.#writer.runBatch(calls),
      { ...options, maxInFlight: 1 },
    )
  }

  /** True when group-commit batches run on the writer thread. */
  get usesWriterThread(): boolean {
    return this.#thread !== null
  }

  /** The writer thread connection's settings as SQLite reported them, or null without one. */
  get writerSettings(): WriterSettings | null {
    return this.#thread?.settings ?? null
  }

  /** Group-commit counters: calls / batches is the mean batch size. */
  get groupCommitStats(): { readonly batches: number; readonly calls: number } {
    return this.#queue.stats
  }

  /** Rows in one table, for tests and metrics. */
  async countRows(
    table: 'payloads' | 'mailbox' | 'key_packages' | 'blob_chunks' | 'sessions' | 'delivery_tokens',
  ): Promise<number> {
    return num((this.#stmt(`SELECT count(*) AS n FROM ${table}`).get() as Row).n)
  }

  #stmt(sql: string): Database.Statement {
    let s = this.#statements.get(sql)
    if (s === undefined) {
      s = this.#db.prepare(sql)
      this.#statements.set(sql, s)
    }
    return s
  }

  /** One IMMEDIATE transaction; errors mapped to StorageError. */
  #write<T>(fn: () => T): Promise<T> {
    try {
      this.#open()
      return Promise.resolve(this.#db.transaction(fn).immediate())
    } catch (error) {
      return Promise.reject(mapError(error))
    }
  }

  #read<T>(fn: () => T): Promise<T> {
    try {
      this.#open()
      return Promise.resolve(fn())
    } catch (error) {
      return Promise.reject(mapError(error))
    }
  }

  #open(): void {
    if (this.#closed) throw new StorageError('unavailable', 'storage is closed')
  }

  async migrate(): Promise<void> {
    this.#open()
    try {
      migrateSqlite(this.#db)
    } catch (error) {
      throw mapError(error)
    }
  }

  /** The embedded database is configured by the server itself when it opens it: nothing to report. */
  async configurationWarnings(): Promise<StorageWarning[]> {
    return []
  }

  async close(): Promise<void> {
    if (this.#closed) return
    await this.#queue.close()
    this.#closed = true
    await this.#thread?.close()
    this.#db.close()
  }

  // Invites and accounts

  createInvite(codeHash: Bytes, now: number, expiresAt: number): Promise<void> {
    return this.#write(() => {
      checkHash(codeHash, 'codeHash')
      checkInteger(now, 'now')
      checkInteger(expiresAt, 'expiresAt')
      const open = num(
        (
          this.#stmt(
            'SELECT count(*) AS n FROM invites WHERE used_by IS NULL AND revoked_at IS NULL AND expires_at > ?',
          ).get(now) as Row
        ).n,
      )
      if (open >= MAX_OPEN_INVITES)
        throw new StorageError('limit-exceeded', `${MAX_OPEN_INVITES} open invites`)
      this.#stmt('INSERT INTO invites (code_hash, created_at, expires_at) VALUES (?, ?, ?)').run(
        buf(codeHash),
        now,
        expiresAt,
      )
    })
  }

  revokeInvite(codeHash: Bytes, now: number): Promise<void> {
    return this.#write(() => {
      checkHash(codeHash, 'codeHash')
      checkInteger(now, 'now')
      const r = this.#stmt('UPDATE invites SET revoked_at = coalesce(revoked_at, ?) WHERE code_hash = ?').run(
        now,
        buf(codeHash),
      )
      if (r.changes === 0) throw new StorageError('not-found', 'no such invite')
    })
  }

  listInvites(): Promise<Invite[]> {
    return this.#read(() =>
      (
        this.#stmt('SELECT * FROM invites ORDER BY created_at DESC, code_hash LIMIT ?').all(
          MAX_LISTED_INVITES,
        ) as Row[]
      ).map((r) => ({
        codeHash: bytes(r.code_hash),
        createdAt: num(r.created_at),
        expiresAt: num(r.expires_at),
        usedBy: (r.used_by as string | null) ?? null,
        revokedAt: numOrNull(r.revoked_at),
      })),
    )
  }

  registerAccount(args: {
    codeHash: Bytes
    account: Account
    device: Omit<Device, 'revokedAt'>
    now: number
  }): Promise<void> {
    return this.#write(() => {
      checkHash(args.codeHash, 'codeHash')
      checkAccount(args.account)
      checkDevice(args.device)
      checkInteger(args.now, 'now')
      if (args.device.handle !== args.account.handle) {
        throw new StorageError('invalid-argument', 'the first device must belong to the new account')
      }
      const invite = this.#stmt('SELECT * FROM invites WHERE code_hash = ?').get(buf(args.codeHash)) as
        | Row
        | undefined
      if (
        invite === undefined ||
        invite.used_by !== null ||
        invite.revoked_at !== null ||
        num(invite.expires_at) <= args.now
      ) {
        throw new StorageError('invite-invalid', 'the invite is unknown, used, revoked or expired')
      }
      this.#stmt('INSERT INTO accounts (handle, identity_key, created_at) VALUES (?, ?, ?)').run(
        args.account.handle,
        buf(args.account.identityKey),
        args.account.createdAt,
      )
      this.#insertDevice(args.device)
      this.#stmt('UPDATE invites SET used_by = ? WHERE code_hash = ?').run(
        args.account.handle,
        buf(args.codeHash),
      )
    })
  }

  #insertDevice(device: Omit<Device, 'revokedAt'>): void {
    this.#stmt(
      'INSERT INTO devices (device_id, handle, signature_key, credential, created_at) VALUES (?, ?, ?, ?, ?)',
    ).run(device.deviceId, device.handle, buf(device.signatureKey), buf(device.credential), device.createdAt)
  }

  getAccount(handle: Handle): Promise<Account | null> {
    return this.#read(() => {
      checkHandle(handle)
      const r = this.#stmt('SELECT * FROM accounts WHERE handle = ?').get(handle) as Row | undefined
      if (r === undefined) return null
      return { handle: r.handle as string, identityKey: bytes(r.identity_key), createdAt: num(r.created_at) }
    })
  }

  // Devices

  addDevice(device: Omit<Device, 'revokedAt'>): Promise<void> {
    return this.#write(() => {
      checkDevice(device)
      if (this.#stmt('SELECT 1 FROM accounts WHERE handle = ?').get(device.handle) === undefined) {
        throw new StorageError('not-found', 'no such account')
      }
      const live = num(
        (
          this.#stmt('SELECT count(*) AS n FROM devices WHERE handle = ? AND revoked_at IS NULL').get(
            device.handle,
          ) as Row
        ).n,
      )
      if (live >= MAX_DEVICES_PER_ACCOUNT) {
        throw new StorageError('limit-exceeded', `${MAX_DEVICES_PER_ACCOUNT} devices per account`)
      }
      this.#insertDevice(device)
    })
  }

  getDevice(deviceId: DeviceId): Promise<Device | null> {
    return this.#read(() => {
      checkDeviceId(deviceId)
      const r = this.#stmt('SELECT * FROM devices WHERE device_id = ?').get(deviceId) as Row | undefined
      return r === undefined ? null : toDevice(r)
    })
  }

  listDevices(handle: Handle): Promise<Device[]> {
    return this.#read(() => {
      checkHandle(handle)
      return (
        this.#stmt('SELECT * FROM devices WHERE handle = ? ORDER BY created_at, device_id').all(
          handle,
        ) as Row[]
      ).map(toDevice)
    })
  }

  revokeDevice(deviceId: DeviceId, now: number): Promise<void> {
    return this.#write(() => {
      checkDeviceId(deviceId)
      checkInteger(now, 'now')
      const d = this.#stmt('SELECT revoked_at FROM devices WHERE device_id = ?').get(deviceId) as
        | Row
        | undefined
      if (d === undefined) throw new StorageError('not-found', 'no such device')
      if (d.revoked_at !== null) return
      this.#stmt('UPDATE devices SET revoked_at = ?, mailbox_count = 0 WHERE device_id = ?').run(
        now,
        deviceId,
      )
      // Payloads only this mailbox references go with it; shared ones stay for the other recipients.
      const freed = new Map<number, number>()
      const held = this.#stmt(
        'SELECT payload_id, count(*) AS n FROM mailbox WHERE device_id = ? GROUP BY payload_id',
      ).all(deviceId) as Row[]
      for (const r of held) freed.set(num(r.payload_id), num(r.n))
      this.#stmt('DELETE FROM mailbox WHERE device_id = ?').run(deviceId)
      releasePayloads(freed, (sql) => this.#stmt(sql))
      this.#stmt('DELETE FROM key_packages WHERE device_id = ?').run(deviceId)
      this.#stmt('DELETE FROM sessions WHERE device_id = ?').run(deviceId)
      this.#stmt('DELETE FROM delivery_tokens WHERE device_id = ?').run(deviceId)
    })
  }

  /** Throws unless the device exists and is not revoked. */
  #requireLiveDevice(deviceId: DeviceId): void {
    const d = this.#stmt('SELECT revoked_at FROM devices WHERE device_id = ?').get(deviceId) as
      | Row
      | undefined
    if (d === undefined) throw new StorageError('not-found', 'no such device')
    if (d.revoked_at !== null) throw new StorageError('device-revoked', 'the device is revoked')
  }

  // Sessions

  createSession(tokenHash: Bytes, deviceId: DeviceId, expiresAt: number): Promise<void> {
    return this.#write(() => {
      checkHash(tokenHash, 'tokenHash')
      checkDeviceId(deviceId)
      checkInteger(expiresAt, 'expiresAt')
      this.#requireLiveDevice(deviceId)
      const n = num(
        (this.#stmt('SELECT count(*) AS n FROM sessions WHERE device_id = ?').get(deviceId) as Row).n,
      )
      if (n >= MAX_SESSIONS_PER_DEVICE) {
        throw new StorageError('limit-exceeded', `${MAX_SESSIONS_PER_DEVICE} sessions per device`)
      }
      this.#stmt('INSERT INTO sessions (token_hash, device_id, expires_at) VALUES (?, ?, ?)').run(
        buf(tokenHash),
        deviceId,
        expiresAt,
      )
    })
  }

  getSessionDevice(tokenHash: Bytes, now: number): Promise<DeviceId | null> {
    return this.#read(() => {
      checkHash(tokenHash, 'tokenHash')
      checkInteger(now, 'now')
      const r = this.#stmt(
        `SELECT s.device_id FROM sessions s JOIN devices d ON d.device_id = s.device_id
          WHERE s.token_hash = ? AND s.expires_at > ? AND d.revoked_at IS NULL`,
      ).get(buf(tokenHash), now) as Row | undefined
      return r === undefined ? null : (r.device_id as string)
    })
  }

  // Key directory

  uploadKeyPackages(args: {
    deviceId: DeviceId
    oneTime: readonly StoredKeyPackage[]
    lastResort: StoredKeyPackage | null
    maxOneTime: number
  }): Promise<{ oneTimeCount: number }> {
    return this.#write(() => {
      checkUpload(args)
      this.#requireLiveDevice(args.deviceId)
      const insert = this.#stmt(
        'INSERT INTO key_packages (device_id, ref, key_package, last_resort) VALUES (?, ?, ?, ?)',
      )
      if (args.lastResort !== null) {
        this.#stmt('DELETE FROM key_packages WHERE device_id = ? AND last_resort = 1').run(args.deviceId)
        insert.run(args.deviceId, buf(args.lastResort.ref), buf(args.lastResort.keyPackage), 1)
      }
      for (const kp of args.oneTime) insert.run(args.deviceId, buf(kp.ref), buf(kp.keyPackage), 0)
      const oneTimeCount = this.#countOneTime(args.deviceId)
      if (oneTimeCount > args.maxOneTime) {
        throw new StorageError('limit-exceeded', `more than ${args.maxOneTime} one-time key packages`)
      }
      return { oneTimeCount }
    })
  }

  #countOneTime(deviceId: DeviceId): number {
    return num(
      (
        this.#stmt('SELECT count(*) AS n FROM key_packages WHERE device_id = ? AND last_resort = 0').get(
          deviceId,
        ) as Row
      ).n,
    )
  }

  /** One-time key packages left (the last-resort one is not counted). */
  countKeyPackages(deviceId: DeviceId): Promise<number> {
    return this.#read(() => {
      checkDeviceId(deviceId)
      return this.#countOneTime(deviceId)
    })
  }

  claimKeyPackages(handle: Handle): Promise<ClaimedKeyPackage[]> {
    return this.#write(() => {
      checkHandle(handle)
      if (this.#stmt('SELECT 1 FROM accounts WHERE handle = ?').get(handle) === undefined) {
        throw new StorageError('not-found', 'no such account')
      }
      const devices = this.#stmt(
        'SELECT device_id FROM devices WHERE handle = ? AND revoked_at IS NULL ORDER BY created_at, device_id',
      ).all(handle) as Row[]
      const claimed: ClaimedKeyPackage[] = []
      for (const d of devices) {
        const deviceId = d.device_id as string
        // The whole claim is one IMMEDIATE transaction: no other writer on this file runs meanwhile,
        // so a deleted one-time package cannot be handed to anyone else.
        const oneTime = this.#stmt(
          `DELETE FROM key_packages WHERE id = (
             SELECT id FROM key_packages WHERE device_id = ? AND last_resort = 0 ORDER BY id LIMIT 1)
           RETURNING key_package`,
        ).get(deviceId) as Row | undefined
        if (oneTime !== undefined) {
          claimed.push({ deviceId, keyPackage: bytes(oneTime.key_package), lastResort: false })
          continue
        }
        const last = this.#stmt(
          'SELECT key_package FROM key_packages WHERE device_id = ? AND last_resort = 1',
        ).get(deviceId) as Row | undefined
        if (last !== undefined)
          claimed.push({ deviceId, keyPackage: bytes(last.key_package), lastResort: true })
      }
      return claimed
    })
  }

  // Mailboxes

  enqueue(requests: readonly EnqueueRequest[], now: number): Promise<bigint[][]> {
    let weight: { rows: number; bytes: number }
    try {
      this.#open()
      weight = checkEnqueue(requests, now)
    } catch (error) {
      return Promise.reject(error)
    }
    return this.#queue.submit({ kind: 'enqueue', requests, now }, weight.rows, weight.bytes) as Promise<
      bigint[][]
    >
  }

  ack(deviceId: DeviceId, seqs: readonly bigint[]): Promise<number> {
    try {
      this.#open()
      checkAck(deviceId, seqs)
    } catch (error) {
      return Promise.reject(error)
    }
    if (seqs.length === 0) return Promise.resolve(0)
    return this.#queue.submit({ kind: 'ack', deviceId, seqs }, seqs.length) as Promise<number>
  }

  fetchMailbox(deviceId: DeviceId, afterSeq: bigint, limit: number, now: number): Promise<MailboxEntry[]> {
    return this.#read(() => {
      checkFetch(deviceId, afterSeq, limit, now)
      return (
        this.#stmt(
          `SELECT m.seq, p.payload, p.received_at FROM mailbox m JOIN payloads p ON p.id = m.payload_id
            WHERE m.device_id = ? AND m.seq > ? AND p.expires_at > ? ORDER BY m.seq LIMIT ?`,
        ).all(deviceId, afterSeq, now, limit) as Row[]
      ).map((r) => ({ seq: BigInt(num(r.seq)), payload: bytes(r.payload), receivedAt: num(r.received_at) }))
    })
  }

  // Delivery tokens

  putDeliveryToken(tokenHash: Bytes, deviceId: DeviceId): Promise<void> {
    return this.#write(() => {
      checkHash(tokenHash, 'tokenHash')
      checkDeviceId(deviceId)
      this.#requireLiveDevice(deviceId)
      const existing = this.#stmt('SELECT device_id FROM delivery_tokens WHERE token_hash = ?').get(
        buf(tokenHash),
      ) as Row | undefined
      if (existing !== undefined) {
        if (existing.device_id === deviceId) return
        throw new StorageError('already-exists', 'this delivery token belongs to another device')
      }
      const n = num(
        (this.#stmt('SELECT count(*) AS n FROM delivery_tokens WHERE device_id = ?').get(deviceId) as Row).n,
      )
      if (n >= MAX_DELIVERY_TOKENS_PER_DEVICE) {
        throw new StorageError(
          'limit-exceeded',
          `${MAX_DELIVERY_TOKENS_PER_DEVICE} delivery tokens per device`,
        )
      }
      this.#stmt('INSERT INTO delivery_tokens (token_hash, device_id) VALUES (?, ?)').run(
        buf(tokenHash),
        deviceId,
      )
    })
  }

  resolveDeliveryToken(tokenHash: Bytes): Promise<DeviceId | null> {
    return this.#read(() => {
      checkHash(tokenHash, 'tokenHash')
      const r = this.#stmt(
        `SELECT t.device_id FROM delivery_tokens t JOIN devices d ON d.device_id = t.device_id
          WHERE t.token_hash = ? AND d.revoked_at IS NULL`,
      ).get(buf(tokenHash)) as Row | undefined
      return r === undefined ? null : (r.device_id as string)
    })
  }

  // Group ordering

  submitCommit(request: CommitRequest, now: number): Promise<CommitOutcome> {
    return this.#write(() => {
      checkCommit(request, now)
      const current = this.#stmt('SELECT epoch FROM group_epochs WHERE group_id = ?')
        .safeIntegers(true)
        .get(buf(request.groupId)) as Row | undefined
      // RFC 9420 §14: the delivery service accepts one commit per epoch. An unknown group is
      // registered by its first commit, whatever its epoch.
      if (current !== undefined && (current.epoch as bigint) !== request.epoch) {
        return { kind: 'conflict', currentEpoch: current.epoch as bigint }
      }
      const calls: WriteCall[] = [
        {
          kind: 'enqueue',
          requests: request.welcome ? [request.commit, request.welcome] : [request.commit],
          now,
        },
      ]
      const [outcome] = this.#writer.writeCalls(calls)
      // A refused commit or Welcome throws here, rolling back everything including the epoch.
      if (outcome !== undefined && !outcome.ok) throw outcome.error
      const epoch = request.epoch + 1n
      this.#stmt(
        `INSERT INTO group_epochs (group_id, epoch, updated_at) VALUES (?, ?, ?)
           ON CONFLICT (group_id) DO UPDATE SET epoch = excluded.epoch, updated_at = excluded.updated_at`,
      ).run(buf(request.groupId), epoch, now)
      return { kind: 'accepted', epoch }
    })
  }

  getGroupEpoch(groupId: Bytes): Promise<bigint | null> {
    return this.#read(() => {
      checkGroupId(groupId)
      const r = this.#stmt('SELECT epoch FROM group_epochs WHERE group_id = ?')
        .safeIntegers(true)
        .get(buf(groupId)) as Row | undefined
      return r === undefined ? null : (r.epoch as bigint)
    })
  }

  // Blobs

  createBlob(args: {
    blobId: string
    owner: Handle
    declaredSize: number
    now: number
    expiresAt: number
    quotaBytes: number
  }): Promise<BlobInfo> {
    return this.#write(() => {
      checkCreateBlob(args)
      if (this.#stmt('SELECT 1 FROM accounts WHERE handle = ?').get(args.owner) === undefined) {
        throw new StorageError('not-found', 'no such account')
      }
      if (this.#blobInfo(args.blobId) !== null)
        throw new StorageError('already-exists', 'a blob with this id exists')
      const used = num(
        (
          this.#stmt(
            'SELECT coalesce(sum(declared_size), 0) AS n FROM blobs WHERE owner = ? AND expires_at > ?',
          ).get(args.owner, args.now) as Row
        ).n,
      )
      if (used + args.declaredSize > args.quotaBytes) {
        throw new StorageError(
          'limit-exceeded',
          `the account's blob quota of ${args.quotaBytes} bytes is used up`,
        )
      }
      this.#stmt(
        'INSERT INTO blobs (blob_id, owner, declared_size, created_at, expires_at) VALUES (?, ?, ?, ?, ?)',
      ).run(args.blobId, args.owner, args.declaredSize, args.now, args.expiresAt)
      return this.#blobInfo(args.blobId)!
    })
  }

  #blobInfo(blobId: string): BlobInfo | null {
    const r = this.#stmt('SELECT * FROM blobs WHERE blob_id = ?').get(blobId) as Row | undefined
    return r === undefined ? null : toBlobInfo(r)
  }

  #liveBlob(blobId: string, now: number | undefined): BlobInfo {
    const info = this.#blobInfo(blobId)
    if (info === null || (now !== undefined && info.expiresAt <= now)) {
      throw new StorageError('not-found', 'no such blob')
    }
    return info
  }

  appendBlob(blobId: string, offset: number, chunk: Bytes, now?: number): Promise<BlobInfo> {
    return this.#write(() => {
      checkAppend(blobId, offset, chunk, now)
      const info = this.#liveBlob(blobId, now)
      if (offset !== info.receivedSize) {
        throw new StorageError('offset-mismatch', `the upload stands at ${info.receivedSize}, not ${offset}`)
      }
      if (offset + chunk.length > info.declaredSize) {
        throw new StorageError(
          'limit-exceeded',
          `the chunk runs past the declared size of ${info.declaredSize}`,
        )
      }
      this.#stmt('INSERT INTO blob_chunks (blob_id, chunk_start, data) VALUES (?, ?, ?)').run(
        blobId,
        offset,
        buf(chunk),
      )
      this.#stmt('UPDATE blobs SET received_size = ? WHERE blob_id = ?').run(offset + chunk.length, blobId)
      return this.#blobInfo(blobId)!
    })
  }

  getBlob(blobId: string, now: number): Promise<BlobInfo | null> {
    return this.#read(() => {
      checkBlobId(blobId)
      checkInteger(now, 'now')
      const info = this.#blobInfo(blobId)
      return info === null || info.expiresAt <= now ? null : info
    })
  }

  readBlob(blobId: string, start: number, end: number, now?: number): Promise<Bytes> {
    return this.#read(() => {
      checkRange(blobId, start, end, now)
      // One read transaction, so chunks and the blob row are from the same snapshot.
      return this.#db
        .transaction(() => {
          const info = this.#liveBlob(blobId, now)
          if (!info.complete) throw new StorageError('not-found', 'the blob is not complete yet')
          if (end > info.declaredSize) {
            throw new StorageError(
              'invalid-argument',
              `the range ends past the blob's ${info.declaredSize} bytes`,
            )
          }
          const rows = this.#stmt(
            `SELECT chunk_start, data FROM blob_chunks WHERE blob_id = ? AND chunk_start < ? AND chunk_start >=
             (SELECT max(chunk_start) FROM blob_chunks WHERE blob_id = ? AND chunk_start <= ?)
           ORDER BY chunk_start`,
          ).all(blobId, end, blobId, start) as Row[]
          return assembleRange(
            rows.map((r) => ({ start: num(r.chunk_start), data: bytes(r.data) })),
            start,
            end,
          )
        })
        .deferred()
    })
  }

  deleteBlob(blobId: string): Promise<void> {
    return this.#write(() => {
      checkBlobId(blobId)
      this.#stmt('DELETE FROM blob_chunks WHERE blob_id = ?').run(blobId)
      if (this.#stmt('DELETE FROM blobs WHERE blob_id = ?').run(blobId).changes === 0) {
        throw new StorageError('not-found', 'no such blob')
      }
    })
  }

  sweepExpired(now: number): Promise<{ envelopes: number; blobs: number; sessions: number }> {
    return this.#write(() => {
      checkInteger(now, 'now')
      // Expired payloads, each with the mailbox rows still holding it (its recipients list: the
      // rows already acknowledged are gone and delete nothing). At most MAX_SWEEP_ROWS mailbox
      // rows per sweep (plus one payload's fan-out); the rest wait for the next. Lists are read
      // one payload at a time: a fan-out's list can be tens of KB.
      const expired = this.#stmt('SELECT id, refs FROM payloads WHERE expires_at <= ? LIMIT ?').all(
        now,
        MAX_SWEEP_ROWS,
      ) as Row[]
      const perDevice = new Map<string, number>()
      const readRecipients = this.#stmt('SELECT recipients FROM payloads WHERE id = ?')
      const deleteRow = this.#stmt('DELETE FROM mailbox WHERE device_id = ? AND seq = ?')
      const deletePayload = this.#stmt('DELETE FROM payloads WHERE id = ?')
      let visited = 0
      let envelopes = 0
      for (const p of expired) {
        if (visited >= MAX_SWEEP_ROWS) break
        visited += Math.max(1, num(p.refs))
        const listed = readRecipients.get(p.id) as Row | undefined
        for (const [deviceId, seq] of parseRecipients(listed?.recipients)) {
          if (deleteRow.run(deviceId, seq).changes === 0) continue
          envelopes++
          perDevice.set(deviceId, (perDevice.get(deviceId) ?? 0) + 1)
        }
        deletePayload.run(p.id)
      }
      const lower = this.#stmt(
        'UPDATE devices SET mailbox_count = max(0, mailbox_count - ?) WHERE device_id = ?',
      )
      for (const [id, n] of perDevice) lower.run(n, id)
      const blobIds = this.#stmt('SELECT blob_id FROM blobs WHERE expires_at <= ? LIMIT ?').all(
        now,
        MAX_SWEEP_BLOBS,
      ) as Row[]
      for (const b of blobIds) {
        this.#stmt('DELETE FROM blob_chunks WHERE blob_id = ?').run(b.blob_id)
        this.#stmt('DELETE FROM blobs WHERE blob_id = ?').run(b.blob_id)
      }
      const sessions = this.#stmt(
        'DELETE FROM sessions WHERE token_hash IN (SELECT token_hash FROM sessions WHERE expires_at <= ? LIMIT ?)',
      ).run(now, MAX_SWEEP_ROWS).changes
      this.#stmt(
        'DELETE FROM invites WHERE code_hash IN (SELECT code_hash FROM invites WHERE expires_at <= ? LIMIT ?)',
      ).run(now, MAX_SWEEP_ROWS)
      return { envelopes, blobs: blobIds.length, sessions }
    })
  }
}

/** A payload row's `recipients` (migration 3): [device_id, seq] pairs, as the writer stored them. */
function parseRecipients(value: unknown): [string, number][] {
  const list: unknown = typeof value === 'string' ? JSON.parse(value) : []
  if (!Array.isArray(list)) return []
  return list.filter(
    (e): e is [string, number] => Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'number',
  )
}

function toDevice(r: Row): Device {
  return {
    deviceId: r.device_id as string,
    handle: r.handle as string,
    signatureKey: bytes(r.signature_key),
    credential: bytes(r.credential),
    createdAt: num(r.created_at),
    revokedAt: numOrNull(r.revoked_at),
  }
}

function toBlobInfo(r: Row): BlobInfo {
  const declaredSize = num(r.declared_size)
  const receivedSize = num(r.received_size)
  return {
    blobId: r.blob_id as string,
    owner: r.owner as string,
    declaredSize,
    receivedSize,
    complete: receivedSize === declaredSize,
    createdAt: num(r.created_at),
    expiresAt: num(r.expires_at),
  }
}

/** Page size of a database this server creates (decision 0017). */
export const SQLITE_PAGE_BYTES = 16_384

/**
 * The writer thread's page cache (64 MiB; SQLite's default here is about 16 MB). A batch deletes
 * the rows of envelopes stored a few batches earlier; with 4 KiB envelopes those pages had often
 * left a 16 MB cache and were read back from the WAL first (docs/benchmarks.md, Relay, eighth
 * round).
 */
export const WRITER_CACHE_KIB = 65_536

/**
 * WAL pages after which the writer's commit checkpoints (SQLite's default is 1,000). Stored
 * envelopes are deleted within seconds, so the same pages are written over and over; a checkpoint
 * copies each page once however often the WAL holds it. With 1,000 pages (16 MiB) a checkpoint
 * came every fraction of a second and copied nearly every page the WAL had received: the writer
 * wrote each page twice and read it back once. With 16,000 (250 MiB of WAL at 16 KiB pages),
 * together with the larger cache, the writer wrote 14 instead of 21 KB per 4 KiB envelope and
 * spent 19 instead of 23–24 µs on it (docs/benchmarks.md, Relay, eighth round). The WAL file
 * keeps its largest size on disk between checkpoints (docs/operations.md).
 */
export const WRITER_CHECKPOINT_PAGES = 16_000

export async function openSqliteStorage(
  path: string,
  options: SqliteStorageOptions = {},
): Promise<SqliteStorage> {
  let db: Db
  try {
    db = new Database(path)
    // Pages of 16 KiB for a new database (an existing one keeps its own: only VACUUM outside WAL
    // mode changes it). A group commit touches most pages of the mailbox tables and indexes
    // whatever their size, and SQLite writes each page to the WAL with two system calls: with 4×
    // larger pages there are about 4× fewer, and the writer thread spent 16–19 µs per envelope
    // instead of 21–22 µs (docs/benchmarks.md, Relay, sixth round). 4 KiB payloads fit in a page
    // instead of overflowing one.
    db.pragma(`page_size = ${SQLITE_PAGE_BYTES}`)
    db.pragma('journal_mode = WAL')
    // FULL: WAL is fsync'd at every commit, so a resolved write survives power loss (NORMAL only
    // survives a process crash). Group commit amortises the fsync over a whole batch.
    db.pragma(`synchronous = ${options.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}`)
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`)
    db.pragma('foreign_keys = ON')
  } catch (error) {
    throw new StorageError('unavailable', 'cannot open the SQLite database', { cause: error })
  }
  let storage: SqliteStorage
  try {
    if (options.migrate !== false) migrateSqlite(db)
    const thread =
      options.writerThread === false || path === ':memory:' || path === ''
        ? null
        : await SqliteWriterThread.start({
            path,
            busyTimeoutMs: Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000)),
            synchronous: options.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL',
            capacity: mailboxCapacity(options),
            cacheKiB: WRITER_CACHE_KIB,
            checkpointPages: WRITER_CHECKPOINT_PAGES,
          })
    // Checkpoints are the writer thread's: a checkpoint on this connection would run on the
    // event loop, inside whatever rare write (a group commit, a key upload) crossed the limit.
    // Twice the writer's limit keeps one here only as a backstop should the writer stop.
    if (thread !== null) db.pragma(`wal_autocheckpoint = ${2 * WRITER_CHECKPOINT_PAGES}`)
    storage = new SqliteStorage(db, options, thread)
  } catch (error) {
    db.close()
    throw mapError(error)
  }
  return storage
}

function mailboxCapacity(options: StorageOptions): number {
  return Math.min(Math.max(1, options.mailboxCapacity ?? MAX_MAILBOX_ENTRIES), MAX_MAILBOX_ENTRIES)
}
