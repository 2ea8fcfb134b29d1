/**
 * The scale-out backend: PostgreSQL through a `pg` Pool. Several server processes may share one
 * database; every rule of `storage.ts` holds across them:
 * - Durability: `synchronous_commit` is left at its default (on), so COMMIT returns after the WAL
 *   is flushed; promises resolve after COMMIT.
 * - Group commit: `enqueue`/`ack` calls of a tick form one batch, written with multi-row
 *   `unnest` statements in one transaction. Batches lock the device rows they touch in sorted
 *   order (`ORDER BY device_id FOR UPDATE`), which serialises writers per mailbox — seqs follow
 *   commit order — and rules out deadlocks between batches of different processes. The locks are
 *   held for as little as possible (decision 0013): payloads are inserted before taking them,
 *   then one statement writes mailbox rows, deletions and counters. A batch is three round trips
 *   (decision 0019): BEGIN goes with the payload insert, COMMIT with that statement.
 * - Payloads live in generations (decision 0019): each goes into the current generation's
 *   partition; a generation two behind moves what mailboxes still hold to `payloads_kept` and is
 *   dropped whole, acknowledged payloads with it. Only kept payloads are deleted row by row.
 * - Claims: `DELETE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)`: a one-time KeyPackage row is
 *   deleted by exactly one transaction; a concurrent claimer skips it rather than waiting for it.
 * - Commits: the group row is locked (or inserted) first; the first commit per epoch wins.
 * Lock order everywhere: account row, then group row, then device rows (sorted), then the rest.
 */
import pg from 'pg'
import { assembleRange } from '../blob-range.ts'
import { GroupCommitQueue, type Settled, type StorageOptions, type WriteCall } from '../group-commit.ts'
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
import { creditAcks, listBatchDevices, type MailboxState, planMailboxBatch } from '../mailbox-batch.ts'
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
import { POSTGRES_MIGRATIONS } from './migrations.ts'
import { type PipelineStep, pipeline } from './pipeline.ts'

export interface PostgresStorageOptions extends StorageOptions {
  /** Schema holding Tacit's tables (created if missing). Default `tacit`. */
  readonly schema?: string
  /** Pool connections. Default 10. */
  readonly poolSize?: number
  /** Apply pending migrations on open (default true). */
  readonly migrate?: boolean
  /**
   * How long one payload generation takes new payloads (decision 0019). Default 1,000 ms; 0 turns
   * the storage's own rotation off (tests call `rotatePayloads`).
   */
  readonly payloadGenerationMs?: number
}

/**
 * Default length of a payload generation (decision 0019). Every page a payload insert adds is
 * written to the kernel at once (zero-filled on extension, then as evicted), and each checkpoint
 * ends by fsyncing every file still there, so the bytes of the live generations leave at once:
 * 200–300 MB with 5-second generations, 80–100 MB with 1-second ones, and the WAL's fsyncs wait
 * behind them (docs/benchmarks.md, Relay, twelfth round).
 */
export const DEFAULT_PAYLOAD_GENERATION_MS = 1_000
/** Generation partitions are named `payloads_g<N>`; the number is the partition's bound. */
const GENERATION_TABLE = /^payloads_g([1-9][0-9]{0,17})$/

/**
 * A batch of at most this many calls runs its three statements as prepared statements
 * (`postgres/pipeline.ts`): parsed once per connection, and once PostgreSQL settles on a generic
 * plan, not planned again. At 5,000 envelopes/s batches hold tens to a few hundred calls, and
 * PostgreSQL's CPU fell from 0.69–0.75 to 0.59–0.65 of a core (decision 0019, second amendment).
 * Larger batches — a closed loop's thousands of calls — keep the unnamed statement and a plan
 * made for their own parameters: generic plans had cut that loop's throughput by a quarter to
 * two fifths.
 */
export const NAMED_STATEMENT_MAX_CALLS = 256

/** Group-commit batches in flight at once (each holds one pool connection). */
export const DEFAULT_BATCHES_IN_FLIGHT = 2

/**
 * The mailbox tables are queues: every envelope is a row inserted and soon deleted, and only
 * VACUUM makes the space of deleted rows reusable. With autovacuum off (it also needs
 * `track_counts`) they grow with every envelope ever sent. With autovacuum visiting each second
 * instead of each minute, the p99 at 5,000 envelopes/s of 4 KiB fell to a third
 * (docs/benchmarks.md, Relay, tenth round).
 */
export function postgresWarnings(settings: ReadonlyMap<string, string>): StorageWarning[] {
  if (settings.get('autovacuum') === 'on' && settings.get('track_counts') === 'on') return []
  return [
    {
      code: 'postgres-autovacuum-off',
      message:
        'PostgreSQL autovacuum is off (autovacuum or track_counts): the mailbox tables will grow with every envelope (docs/operations.md, "PostgreSQL: vacuum")',
    },
  ]
}

/** Schema names are spliced into SQL and connection options: only plain identifiers. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/
/** pg_advisory_xact_lock key for migrations ("tacit" in ASCII); the schema name is the second key. */
const MIGRATION_LOCK = 0x74616369
/** Session advisory lock key for payload rotation ("tacr"); the schema name is the second key. */
const ROTATION_LOCK = 0x74616372

type Row = Record<string, unknown>
type Client = pg.PoolClient

function buf(bytes: Bytes): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

function bytes(value: unknown): Uint8Array {
  const b = value as Buffer
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
}

/** int8 arrives as a string from pg; every int8 we store fits a double except epochs. */
function num(value: unknown): number {
  return typeof value === 'number' ? value : Number(value as string)
}

function numOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : num(value)
}

/** Maps driver errors to StorageError codes; never includes parameter values. */
function mapError(error: unknown): StorageError {
  if (StorageError.is(error)) return error
  const code = (error as { code?: unknown }).code
  if (code === '23505')
    return new StorageError('already-exists', 'a record with this key already exists', { cause: error })
  if (code === '23503')
    return new StorageError('not-found', 'a referenced record does not exist', { cause: error })
  return new StorageError('unavailable', 'the database failed or could not be reached', { cause: error })
}

export class PostgresStorage implements Storage {
  readonly #pool: pg.Pool
  readonly #schema: string
  readonly #queue: GroupCommitQueue<WriteCall, bigint[][] | number>
  readonly #capacity: number
  #closed = false
  #rotation: { timer: NodeJS.Timeout; running: Promise<void> | null } | null = null
  /** Resolves once the latest batch holds its device row locks (or failed to take them). */
  #lockGate: Promise<void> = Promise.resolve()

  constructor(pool: pg.Pool, schema: string, options: StorageOptions) {
    this.#pool = pool
    this.#schema = schema
    this.#capacity = Math.min(
      Math.max(1, options.mailboxCapacity ?? MAX_MAILBOX_ENTRIES),
      MAX_MAILBOX_ENTRIES,
    )
    // Two batches in flight by default: while one waits for its COMMIT (the WAL flush), the next
    // is already sent and locking. `#lockGate` keeps them in arrival order where it matters: a
    // batch takes its device row locks only after the previous batch holds its own, so for any
    // one mailbox the earlier batch gets the lower seqs and commits first.
    this.#queue = new GroupCommitQueue((calls) => this.#runBatch(calls), {
      maxInFlight: DEFAULT_BATCHES_IN_FLIGHT,
      ...options,
    })
  }

  get groupCommitStats(): { readonly batches: number; readonly calls: number } {
    return this.#queue.stats
  }

  async countRows(
    table: 'payloads' | 'mailbox' | 'key_packages' | 'blob_chunks' | 'sessions' | 'delivery_tokens',
  ): Promise<number> {
    return this.#read(async (c) => num((await c.query(`SELECT count(*) AS n FROM ${table}`)).rows[0]?.n))
  }

  async #connect(): Promise<Client> {
    if (this.#closed) throw new StorageError('unavailable', 'storage is closed')
    try {
      return await this.#pool.connect()
    } catch (error) {
      throw mapError(error)
    }
  }

  /**
   * One READ COMMITTED transaction; rolled back on any error. With `begin` null, `fn` sends BEGIN
   * and COMMIT itself, pipelined with its first and last statements.
   */
  async #tx<T>(fn: (c: Client) => Promise<T>, begin: string | null = 'BEGIN'): Promise<T> {
    const c = await this.#connect()
    let broken = false
    try {
      if (begin !== null) await c.query(begin)
      const result = await fn(c)
      if (begin !== null) await c.query('COMMIT')
      return result
    } catch (error) {
      try {
        await c.query('ROLLBACK')
      } catch {
        broken = true
      }
      throw mapError(error)
    } finally {
      c.release(broken)
    }
  }

  async #read<T>(fn: (c: Client) => Promise<T>): Promise<T> {
    const c = await this.#connect()
    try {
      return await fn(c)
    } catch (error) {
      throw mapError(error)
    } finally {
      c.release()
    }
  }

  async migrate(): Promise<void> {
    await this.#tx(async (c) => {
      await migratePostgres(c, this.#schema)
    })
  }

  /** See `postgresWarnings`. */
  async configurationWarnings(): Promise<StorageWarning[]> {
    const settings = await this.#read(async (c) => {
      const r = await c.query('SELECT name, setting FROM pg_settings WHERE name = ANY($1::text[])', [
        ['autovacuum', 'track_counts'],
      ])
      return new Map((r.rows as Row[]).map((row) => [row.name as string, row.setting as string]))
    })
    return postgresWarnings(settings)
  }

  /**
   * Rotates payload generations every `generationMs` from now on, until `close`. A failed turn
   * is reported to `onError` and tried again on the next one; until one succeeds, payloads stay
   * in the current generation.
   */
  startPayloadRotation(generationMs: number, onError: (event: string) => void = () => {}): void {
    if (this.#rotation !== null || generationMs <= 0) return
    const rotation = {
      running: null as Promise<void> | null,
      timer: setInterval(
        () => {
          // A turn still running (a DETACH waiting for old readers) is not queued behind.
          if (rotation.running !== null) return
          rotation.running = this.rotatePayloads(Date.now(), generationMs)
            .then(
              () => undefined,
              () => onError('storage.rotation-failed'),
            )
            .finally(() => {
              rotation.running = null
            })
        },
        Math.max(1, Math.floor(generationMs / 4)),
      ),
    }
    rotation.timer.unref()
    this.#rotation = rotation
  }

  /**
   * Starts the next payload generation once the current one is `generationMs` old, then retires
   * every generation older than the previous one: its payloads that a mailbox row still
   * references move to `payloads_kept`, and its partition is dropped whole, with the payloads
   * acknowledged meanwhile (decision 0019). Inserts and reads go on throughout; several processes
   * may call this at once (a session advisory lock takes them in turn).
   */
  async rotatePayloads(
    now: number,
    generationMs: number = DEFAULT_PAYLOAD_GENERATION_MS,
  ): Promise<{ rotated: boolean; retired: number; kept: number }> {
    checkInteger(now, 'now')
    checkInteger(generationMs, 'generationMs')
    const c = await this.#connect()
    let healthy = false
    try {
      await c.query('SELECT pg_advisory_lock($1, hashtext($2))', [ROTATION_LOCK, this.#schema])
      const outcome = await rotateGenerations(c, now, generationMs)
      await c.query('SELECT pg_advisory_unlock($1, hashtext($2))', [ROTATION_LOCK, this.#schema])
      healthy = true
      return outcome
    } catch (error) {
      throw mapError(error)
    } finally {
      // A connection a failure left behind is closed, which also lets go of the advisory lock.
      c.release(!healthy)
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    if (this.#rotation !== null) {
      clearInterval(this.#rotation.timer)
      await this.#rotation.running
    }
    await this.#queue.close()
    this.#closed = true
    await this.#pool.end()
  }

  // Invites and accounts

  async createInvite(codeHash: Bytes, now: number, expiresAt: number): Promise<void> {
    checkHash(codeHash, 'codeHash')
    checkInteger(now, 'now')
    checkInteger(expiresAt, 'expiresAt')
    await this.#tx(async (c) => {
      // Serialises invite creation so the open-invite bound is exact across processes.
      await c.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK}, 1)`)
      const open = await c.query(
        'SELECT count(*) AS n FROM invites WHERE used_by IS NULL AND revoked_at IS NULL AND expires_at > $1',
        [now],
      )
      if (num(open.rows[0]?.n) >= MAX_OPEN_INVITES) {
        throw new StorageError('limit-exceeded', `${MAX_OPEN_INVITES} open invites`)
      }
      await c.query('INSERT INTO invites (code_hash, created_at, expires_at) VALUES ($1, $2, $3)', [
        buf(codeHash),
        now,
        expiresAt,
      ])
    })
  }

  async revokeInvite(codeHash: Bytes, now: number): Promise<void> {
    checkHash(codeHash, 'codeHash')
    checkInteger(now, 'now')
    await this.#tx(async (c) => {
      const r = await c.query(
        'UPDATE invites SET revoked_at = coalesce(revoked_at, $1) WHERE code_hash = $2',
        [now, buf(codeHash)],
      )
      if (r.rowCount === 0) throw new StorageError('not-found', 'no such invite')
    })
  }

  async listInvites(): Promise<Invite[]> {
    return this.#read(async (c) => {
      const r = await c.query('SELECT * FROM invites ORDER BY created_at DESC, code_hash LIMIT $1', [
        MAX_LISTED_INVITES,
      ])
      return r.rows.map((row: Row) => ({
        codeHash: bytes(row.code_hash),
        createdAt: num(row.created_at),
        expiresAt: num(row.expires_at),
        usedBy: (row.used_by as string | null) ?? null,
        revokedAt: numOrNull(row.revoked_at),
      }))
    })
  }

  async registerAccount(args: {
    codeHash: Bytes
    account: Account
    device: Omit<Device, 'revokedAt'>
    now: number
  }): Promise<void> {
    checkHash(args.codeHash, 'codeHash')
    checkAccount(args.account)
    checkDevice(args.device)
    checkInteger(args.now, 'now')
    if (args.device.handle !== args.account.handle) {
      throw new StorageError('invalid-argument', 'the first device must belong to the new account')
    }
    await this.#tx(async (c) => {
      const r = await c.query('SELECT * FROM invites WHERE code_hash = $1 FOR UPDATE', [buf(args.codeHash)])
      const invite = r.rows[0] as Row | undefined
      if (
        invite === undefined ||
        invite.used_by !== null ||
        invite.revoked_at !== null ||
        num(invite.expires_at) <= args.now
      ) {
        throw new StorageError('invite-invalid', 'the invite is unknown, used, revoked or expired')
      }
      await c.query('INSERT INTO accounts (handle, identity_key, created_at) VALUES ($1, $2, $3)', [
        args.account.handle,
        buf(args.account.identityKey),
        args.account.createdAt,
      ])
      await insertDevice(c, args.device)
      await c.query('UPDATE invites SET used_by = $1 WHERE code_hash = $2', [
        args.account.handle,
        buf(args.codeHash),
      ])
    })
  }

  async getAccount(handle: Handle): Promise<Account | null> {
    checkHandle(handle)
    return this.#read(async (c) => {
      const row = (await c.query('SELECT * FROM accounts WHERE handle = $1', [handle])).rows[0] as
        | Row
        | undefined
      if (row === undefined) return null
      return {
        handle: row.handle as string,
        identityKey: bytes(row.identity_key),
        createdAt: num(row.created_at),
      }
    })
  }

  // Devices

  async addDevice(device: Omit<Device, 'revokedAt'>): Promise<void> {
    checkDevice(device)
    await this.#tx(async (c) => {
      const account = await c.query('SELECT 1 FROM accounts WHERE handle = $1 FOR UPDATE', [device.handle])
      if (account.rowCount === 0) throw new StorageError('not-found', 'no such account')
      const live = await c.query(
        'SELECT count(*) AS n FROM devices WHERE handle = $1 AND revoked_at IS NULL',
        [device.handle],
      )
      if (num(live.rows[0]?.n) >= MAX_DEVICES_PER_ACCOUNT) {
        throw new StorageError('limit-exceeded', `${MAX_DEVICES_PER_ACCOUNT} devices per account`)
      }
      await insertDevice(c, device)
    })
  }

  async getDevice(deviceId: DeviceId): Promise<Device | null> {
    checkDeviceId(deviceId)
    return this.#read(async (c) => {
      const row = (await c.query('SELECT * FROM devices WHERE device_id = $1', [deviceId])).rows[0] as
        | Row
        | undefined
      return row === undefined ? null : toDevice(row)
    })
  }

  async listDevices(handle: Handle): Promise<Device[]> {
    checkHandle(handle)
    return this.#read(async (c) => {
      const r = await c.query('SELECT * FROM devices WHERE handle = $1 ORDER BY created_at, device_id', [
        handle,
      ])
      return r.rows.map(toDevice)
    })
  }

  async revokeDevice(deviceId: DeviceId, now: number): Promise<void> {
    checkDeviceId(deviceId)
    checkInteger(now, 'now')
    await this.#tx(async (c) => {
      const d = (await c.query('SELECT revoked_at FROM devices WHERE device_id = $1 FOR UPDATE', [deviceId]))
        .rows[0] as Row | undefined
      if (d === undefined) throw new StorageError('not-found', 'no such device')
      if (d.revoked_at !== null) return
      await c.query('UPDATE devices SET revoked_at = $1, mailbox_count = 0 WHERE device_id = $2', [
        now,
        deviceId,
      ])
      const gone = await c.query('DELETE FROM mailbox WHERE device_id = $1 RETURNING payload_id', [deviceId])
      await deleteUnreferencedPayloads(
        c,
        gone.rows.map((r: Row) => r.payload_id as string),
      )
      await c.query('DELETE FROM key_packages WHERE device_id = $1', [deviceId])
      await c.query('DELETE FROM sessions WHERE device_id = $1', [deviceId])
      await c.query('DELETE FROM delivery_tokens WHERE device_id = $1', [deviceId])
    })
  }

  // Sessions

  async createSession(tokenHash: Bytes, deviceId: DeviceId, expiresAt: number): Promise<void> {
    checkHash(tokenHash, 'tokenHash')
    checkDeviceId(deviceId)
    checkInteger(expiresAt, 'expiresAt')
    await this.#tx(async (c) => {
      await lockLiveDevice(c, deviceId)
      const n = await c.query('SELECT count(*) AS n FROM sessions WHERE device_id = $1', [deviceId])
      if (num(n.rows[0]?.n) >= MAX_SESSIONS_PER_DEVICE) {
        throw new StorageError('limit-exceeded', `${MAX_SESSIONS_PER_DEVICE} sessions per device`)
      }
      await c.query('INSERT INTO sessions (token_hash, device_id, expires_at) VALUES ($1, $2, $3)', [
        buf(tokenHash),
        deviceId,
        expiresAt,
      ])
    })
  }

  async getSessionDevice(tokenHash: Bytes, now: number): Promise<DeviceId | null> {
    checkHash(tokenHash, 'tokenHash')
    checkInteger(now, 'now')
    return this.#read(async (c) => {
      const r = await c.query(
        `SELECT s.device_id FROM sessions s JOIN devices d ON d.device_id = s.device_id
          WHERE s.token_hash = $1 AND s.expires_at > $2 AND d.revoked_at IS NULL`,
        [buf(tokenHash), now],
      )
      return (r.rows[0]?.device_id as string | undefined) ?? null
    })
  }

  // Key directory

  async uploadKeyPackages(args: {
    deviceId: DeviceId
    oneTime: readonly StoredKeyPackage[]
    lastResort: StoredKeyPackage | null
    maxOneTime: number
  }): Promise<{ oneTimeCount: number }> {
    checkUpload(args)
    return this.#tx(async (c) => {
      await lockLiveDevice(c, args.deviceId)
      if (args.lastResort !== null) {
        await c.query('DELETE FROM key_packages WHERE device_id = $1 AND last_resort', [args.deviceId])
        await c.query(
          'INSERT INTO key_packages (device_id, ref, key_package, last_resort) VALUES ($1, $2, $3, true)',
          [args.deviceId, buf(args.lastResort.ref), buf(args.lastResort.keyPackage)],
        )
      }
      if (args.oneTime.length > 0) {
        await c.query(
          `INSERT INTO key_packages (device_id, ref, key_package, last_resort)
           SELECT $1, r, k, false FROM unnest($2::bytea[], $3::bytea[]) WITH ORDINALITY AS t(r, k, o) ORDER BY o`,
          [
            args.deviceId,
            args.oneTime.map((kp) => buf(kp.ref)),
            args.oneTime.map((kp) => buf(kp.keyPackage)),
          ],
        )
      }
      const oneTimeCount = await countOneTime(c, args.deviceId)
      if (oneTimeCount > args.maxOneTime) {
        throw new StorageError('limit-exceeded', `more than ${args.maxOneTime} one-time key packages`)
      }
      return { oneTimeCount }
    })
  }

  /** One-time key packages left (the last-resort one is not counted). */
  async countKeyPackages(deviceId: DeviceId): Promise<number> {
    checkDeviceId(deviceId)
    return this.#read((c) => countOneTime(c, deviceId))
  }

  async claimKeyPackages(handle: Handle): Promise<ClaimedKeyPackage[]> {
    checkHandle(handle)
    return this.#tx(async (c) => {
      const account = await c.query('SELECT 1 FROM accounts WHERE handle = $1', [handle])
      if (account.rowCount === 0) throw new StorageError('not-found', 'no such account')
      const devices = (
        await c.query(
          'SELECT device_id FROM devices WHERE handle = $1 AND revoked_at IS NULL ORDER BY created_at, device_id',
          [handle],
        )
      ).rows.map((r: Row) => r.device_id as string)
      if (devices.length === 0) return []
      // SKIP LOCKED: a package another claimer has locked is not waited for but passed over, and
      // the DELETE makes the hand-out final — no two committed claims can return the same row.
      const oneTime = await c.query(
        `DELETE FROM key_packages WHERE id IN (
           SELECT k.id FROM unnest($1::text[]) AS d(device_id) CROSS JOIN LATERAL (
             SELECT id FROM key_packages
              WHERE device_id = d.device_id AND NOT last_resort
              ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) k)
         RETURNING device_id, key_package`,
        [devices],
      )
      const got = new Map<string, ClaimedKeyPackage>()
      for (const r of oneTime.rows as Row[]) {
        const deviceId = r.device_id as string
        got.set(deviceId, { deviceId, keyPackage: bytes(r.key_package), lastResort: false })
      }
      const missing = devices.filter((d) => !got.has(d))
      if (missing.length > 0) {
        const last = await c.query(
          'SELECT device_id, key_package FROM key_packages WHERE device_id = ANY($1::text[]) AND last_resort',
          [missing],
        )
        for (const r of last.rows as Row[]) {
          const deviceId = r.device_id as string
          got.set(deviceId, { deviceId, keyPackage: bytes(r.key_package), lastResort: true })
        }
      }
      return devices.flatMap((d) => {
        const claimed = got.get(d)
        return claimed === undefined ? [] : [claimed]
      })
    })
  }

  // Mailboxes

  enqueue(requests: readonly EnqueueRequest[], now: number): Promise<bigint[][]> {
    let weight: { rows: number; bytes: number }
    try {
      if (this.#closed) throw new StorageError('unavailable', 'storage is closed')
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
      if (this.#closed) throw new StorageError('unavailable', 'storage is closed')
      checkAck(deviceId, seqs)
    } catch (error) {
      return Promise.reject(error)
    }
    if (seqs.length === 0) return Promise.resolve(0)
    return this.#queue.submit({ kind: 'ack', deviceId, seqs }, seqs.length) as Promise<number>
  }

  async #runBatch(calls: WriteCall[]): Promise<Settled<bigint[][] | number>[]> {
    // The ticket is taken now, in batch order, not once the connection is ready: connections
    // come in any order. Released after the lock query; also here, if the batch failed first.
    const ticket = this.#lockTicket()
    try {
      return await this.#tx((c) => this.#writeMailboxCalls(c, calls, ticket, true), null)
    } finally {
      ticket.release()
    }
  }

  /** A place in the order in which batches take their device row locks. */
  #lockTicket(): { readonly previous: Promise<void>; readonly release: () => void } {
    const previous = this.#lockGate
    let release = () => {}
    this.#lockGate = new Promise((resolve) => {
      release = resolve
    })
    return { previous, release }
  }

  /**
   * The body of a group-commit batch: in the caller's transaction, or with `ownTransaction` in
   * one it begins and commits itself, BEGIN and COMMIT pipelined with its first and last
   * statements. The device row locks are held from the lock query to the COMMIT and every other
   * batch touching those mailboxes waits for them (with 1,000 recipients, nearly every batch), so
   * as little as possible happens while they are held: the payload rows are inserted before
   * taking them, and the mailbox rows, the acknowledged deletions, the kept payloads they free
   * and the counters go in ONE statement after.
   */
  async #writeMailboxCalls(
    c: Client,
    calls: readonly WriteCall[],
    ticket = this.#lockTicket(),
    ownTransaction = false,
  ): Promise<Settled<bigint[][] | number>[]> {
    const ids = listBatchDevices(calls)
    const states = new Map<DeviceId, MailboxState>()
    // In a transaction of its own, BEGIN goes with the first statement and COMMIT with the last.
    let begin: PipelineStep[] = ownTransaction ? [{ text: 'BEGIN' }] : []
    const commit: PipelineStep[] = ownTransaction ? [{ text: 'COMMIT' }] : []
    const run = async (step: PipelineStep): Promise<pg.QueryResult> => {
      const results = await pipeline(c, [...begin, step])
      begin = []
      return results[results.length - 1]!
    }
    const prepared = calls.length <= NAMED_STATEMENT_MAX_CALLS
    const named = (name: string, step: PipelineStep): PipelineStep => (prepared ? { ...step, name } : step)
    let payloadIds: string[] = []
    let locked: pg.QueryResult
    // The ticket is released whatever happens here: a batch that fails before its lock query
    // must not hold up every later one.
    try {
      // 1. Every enqueued payload, before any lock: new rows nobody else can see or reference
      //    yet. A refused call's payloads are deleted again below (rare: full, unknown or revoked).
      const insert = payloadInsert(calls)
      if (insert !== null)
        payloadIds = (await run(named('tacit_payload_insert', insert))).rows.map(
          (row: Row) => row.id as string,
        )
      // 2. The device rows, in sorted order, after the previous batch holds its own.
      await ticket.previous
      locked = await run(
        named('tacit_device_lock', {
          text: `SELECT device_id, revoked_at, next_seq, mailbox_count FROM devices
                  WHERE device_id = ANY($1::text[]) ORDER BY device_id FOR UPDATE`,
          values: [ids],
        }),
      )
    } finally {
      ticket.release()
    }
    for (const r of locked.rows as Row[]) {
      states.set(r.device_id as string, {
        revoked: r.revoked_at !== null,
        nextSeq: num(r.next_seq),
        count: num(r.mailbox_count),
      })
    }
    const plan = planMailboxBatch(calls, states, this.#capacity)
    // Plan payload i is the i-th request of the accepted calls; payloadIds follow every request.
    const planIds: string[] = []
    const refusedIds: string[] = []
    let next = 0
    calls.forEach((call, index) => {
      if (call.kind !== 'enqueue') return
      const accepted = plan.results[index]?.ok === true
      for (let i = 0; i < call.requests.length; i++)
        (accepted ? planIds : refusedIds).push(payloadIds[next++]!)
    })
    if (refusedIds.length > 0)
      await run({ text: 'DELETE FROM payloads WHERE id = ANY($1::bigint[])', values: [refusedIds] })
    // 3. One statement: the new mailbox rows, the acknowledged ones deleted, and each touched
    //    device's counters — next_seq and the count after the inserts from the plan, less what
    //    the deletion removed. Its parts see one snapshot: an ack cannot delete a row inserted
    //    here, and needs not to (a device acks only entries delivered, so committed, before).
    if (plan.rows.length === 0 && plan.acks.length === 0) {
      if (ownTransaction) await c.query('COMMIT')
      return plan.results
    }
    const ackDevices = plan.acks.map((a) => a.deviceId)
    const touched = [...new Set([...plan.touched, ...ackDevices])].filter((id) => states.has(id))
    const [deleted] = await pipeline(c, [
      named('tacit_mailbox_write', {
        text: `WITH ins AS (
         INSERT INTO mailbox (device_id, seq, payload_id)
           SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[])),
       del AS (
         DELETE FROM mailbox m USING unnest($4::text[], $5::bigint[]) AS a(device_id, seq)
          WHERE m.device_id = a.device_id AND m.seq = a.seq
          RETURNING m.device_id, m.seq, m.payload_id),
       gone AS (SELECT device_id, count(*) AS n FROM del GROUP BY device_id),
       freed AS (
         DELETE FROM payloads_kept k WHERE k.id = ANY (ARRAY(SELECT payload_id FROM del))
            AND NOT EXISTS (SELECT 1 FROM mailbox m WHERE m.payload_id = k.id
                              AND (m.device_id, m.seq) NOT IN (SELECT device_id, seq FROM del))),
       upd AS (
         UPDATE devices d SET next_seq = u.next_seq,
                mailbox_count = greatest(0, u.mailbox_count - coalesce(g.n, 0))
           FROM unnest($6::text[], $7::bigint[], $8::bigint[]) AS u(device_id, next_seq, mailbox_count)
           LEFT JOIN gone g ON g.device_id = u.device_id
          WHERE d.device_id = u.device_id)
       SELECT device_id, seq, payload_id FROM del`,
        values: [
          plan.rows.map((r) => r.deviceId),
          plan.rows.map((r) => r.seq),
          plan.rows.map((r) => planIds[r.payload]!),
          plan.acks.map((a) => a.deviceId),
          plan.acks.map((a) => a.seq),
          touched,
          touched.map((id) => states.get(id)!.nextSeq),
          touched.map((id) => states.get(id)!.count),
        ],
      }),
      ...commit,
    ])
    const gone = deleted!.rows as Row[]
    creditAcks(
      plan,
      gone.map((r) => ({ deviceId: r.device_id as string, seq: num(r.seq) })),
      states,
    )
    return plan.results
  }

  async fetchMailbox(
    deviceId: DeviceId,
    afterSeq: bigint,
    limit: number,
    now: number,
  ): Promise<MailboxEntry[]> {
    checkFetch(deviceId, afterSeq, limit, now)
    return this.#read(async (c) => {
      const r = await c.query(
        `SELECT m.seq, p.payload, p.received_at FROM mailbox m JOIN payloads p ON p.id = m.payload_id
          WHERE m.device_id = $1 AND m.seq > $2 AND p.expires_at > $3 ORDER BY m.seq LIMIT $4`,
        [deviceId, afterSeq.toString(), now, limit],
      )
      return (r.rows as Row[]).map((row) => ({
        seq: BigInt(row.seq as string),
        payload: bytes(row.payload),
        receivedAt: num(row.received_at),
      }))
    })
  }

  // Delivery tokens

  async putDeliveryToken(tokenHash: Bytes, deviceId: DeviceId): Promise<void> {
    checkHash(tokenHash, 'tokenHash')
    checkDeviceId(deviceId)
    await this.#tx(async (c) => {
      await lockLiveDevice(c, deviceId)
      const existing = (
        await c.query('SELECT device_id FROM delivery_tokens WHERE token_hash = $1', [buf(tokenHash)])
      ).rows[0] as Row | undefined
      if (existing !== undefined) {
        if (existing.device_id === deviceId) return
        throw new StorageError('already-exists', 'this delivery token belongs to another device')
      }
      const n = await c.query('SELECT count(*) AS n FROM delivery_tokens WHERE device_id = $1', [deviceId])
      if (num(n.rows[0]?.n) >= MAX_DELIVERY_TOKENS_PER_DEVICE) {
        throw new StorageError(
          'limit-exceeded',
          `${MAX_DELIVERY_TOKENS_PER_DEVICE} delivery tokens per device`,
        )
      }
      await c.query('INSERT INTO delivery_tokens (token_hash, device_id) VALUES ($1, $2)', [
        buf(tokenHash),
        deviceId,
      ])
    })
  }

  async resolveDeliveryToken(tokenHash: Bytes): Promise<DeviceId | null> {
    checkHash(tokenHash, 'tokenHash')
    return this.#read(async (c) => {
      const r = await c.query(
        `SELECT t.device_id FROM delivery_tokens t JOIN devices d ON d.device_id = t.device_id
          WHERE t.token_hash = $1 AND d.revoked_at IS NULL`,
        [buf(tokenHash)],
      )
      return (r.rows[0]?.device_id as string | undefined) ?? null
    })
  }

  // Group ordering

  async submitCommit(request: CommitRequest, now: number): Promise<CommitOutcome> {
    checkCommit(request, now)
    const next = request.epoch + 1n
    const groupId = buf(request.groupId)
    const outcome = await this.#tx(async (c): Promise<CommitOutcome> => {
      // RFC 9420 §14: one commit per epoch. The group row is claimed first — inserted for an
      // unknown group, else locked — so concurrent commits queue on it and only the first matches.
      const inserted = await c.query(
        `INSERT INTO group_epochs (group_id, epoch, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (group_id) DO NOTHING RETURNING epoch`,
        [groupId, next.toString(), now],
      )
      if (inserted.rowCount === 0) {
        const current = (
          await c.query('SELECT epoch FROM group_epochs WHERE group_id = $1 FOR UPDATE', [groupId])
        ).rows[0] as Row
        const epoch = BigInt(current.epoch as string)
        if (epoch !== request.epoch) return { kind: 'conflict', currentEpoch: epoch }
        await c.query('UPDATE group_epochs SET epoch = $2, updated_at = $3 WHERE group_id = $1', [
          groupId,
          next.toString(),
          now,
        ])
      }
      const [stored] = await this.#writeMailboxCalls(c, [
        {
          kind: 'enqueue',
          requests: request.welcome ? [request.commit, request.welcome] : [request.commit],
          now,
        },
      ])
      // A refused commit or Welcome rolls back everything, the epoch included.
      if (stored !== undefined && !stored.ok) throw stored.error
      return { kind: 'accepted', epoch: next }
    })
    return outcome
  }

  async getGroupEpoch(groupId: Bytes): Promise<bigint | null> {
    checkGroupId(groupId)
    return this.#read(async (c) => {
      const r = await c.query('SELECT epoch FROM group_epochs WHERE group_id = $1', [buf(groupId)])
      const row = r.rows[0] as Row | undefined
      return row === undefined ? null : BigInt(row.epoch as string)
    })
  }

  // Blobs

  async createBlob(args: {
    blobId: string
    owner: Handle
    declaredSize: number
    now: number
    expiresAt: number
    quotaBytes: number
  }): Promise<BlobInfo> {
    checkCreateBlob(args)
    return this.#tx(async (c) => {
      // The account row lock serialises blob creation per owner, so the quota holds under concurrency.
      const account = await c.query('SELECT 1 FROM accounts WHERE handle = $1 FOR UPDATE', [args.owner])
      if (account.rowCount === 0) throw new StorageError('not-found', 'no such account')
      if ((await blobRow(c, args.blobId, false)) !== null) {
        throw new StorageError('already-exists', 'a blob with this id exists')
      }
      const used = await c.query(
        'SELECT coalesce(sum(declared_size), 0) AS n FROM blobs WHERE owner = $1 AND expires_at > $2',
        [args.owner, args.now],
      )
      if (num(used.rows[0]?.n) + args.declaredSize > args.quotaBytes) {
        throw new StorageError(
          'limit-exceeded',
          `the account's blob quota of ${args.quotaBytes} bytes is used up`,
        )
      }
      const r = await c.query(
        `INSERT INTO blobs (blob_id, owner, declared_size, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)
         RETURNING *`,
        [args.blobId, args.owner, args.declaredSize, args.now, args.expiresAt],
      )
      return toBlobInfo(r.rows[0] as Row)
    })
  }

  async appendBlob(blobId: string, offset: number, chunk: Bytes, now?: number): Promise<BlobInfo> {
    checkAppend(blobId, offset, chunk, now)
    return this.#tx(async (c) => {
      const info = liveBlob(await blobRow(c, blobId, true), now)
      if (offset !== info.receivedSize) {
        throw new StorageError('offset-mismatch', `the upload stands at ${info.receivedSize}, not ${offset}`)
      }
      if (offset + chunk.length > info.declaredSize) {
        throw new StorageError(
          'limit-exceeded',
          `the chunk runs past the declared size of ${info.declaredSize}`,
        )
      }
      await c.query('INSERT INTO blob_chunks (blob_id, chunk_start, data) VALUES ($1, $2, $3)', [
        blobId,
        offset,
        buf(chunk),
      ])
      const r = await c.query('UPDATE blobs SET received_size = $2 WHERE blob_id = $1 RETURNING *', [
        blobId,
        offset + chunk.length,
      ])
      return toBlobInfo(r.rows[0] as Row)
    })
  }

  async getBlob(blobId: string, now: number): Promise<BlobInfo | null> {
    checkBlobId(blobId)
    checkInteger(now, 'now')
    return this.#read(async (c) => {
      const info = await blobRow(c, blobId, false)
      return info === null || info.expiresAt <= now ? null : info
    })
  }

  async readBlob(blobId: string, start: number, end: number, now?: number): Promise<Bytes> {
    checkRange(blobId, start, end, now)
    // REPEATABLE READ: the blob row and its chunks come from one snapshot.
    return this.#tx(async (c) => {
      const info = liveBlob(await blobRow(c, blobId, false), now)
      if (!info.complete) throw new StorageError('not-found', 'the blob is not complete yet')
      if (end > info.declaredSize) {
        throw new StorageError(
          'invalid-argument',
          `the range ends past the blob's ${info.declaredSize} bytes`,
        )
      }
      const r = await c.query(
        `SELECT chunk_start, data FROM blob_chunks WHERE blob_id = $1 AND chunk_start < $3 AND chunk_start >=
           (SELECT max(chunk_start) FROM blob_chunks WHERE blob_id = $1 AND chunk_start <= $2)
         ORDER BY chunk_start`,
        [blobId, start, end],
      )
      return assembleRange(
        (r.rows as Row[]).map((row) => ({ start: num(row.chunk_start), data: bytes(row.data) })),
        start,
        end,
      )
    }, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
  }

  async deleteBlob(blobId: string): Promise<void> {
    checkBlobId(blobId)
    await this.#tx(async (c) => {
      // Chunks go by ON DELETE CASCADE.
      const r = await c.query('DELETE FROM blobs WHERE blob_id = $1', [blobId])
      if (r.rowCount === 0) throw new StorageError('not-found', 'no such blob')
    })
  }

  async sweepExpired(now: number): Promise<{ envelopes: number; blobs: number; sessions: number }> {
    checkInteger(now, 'now')
    return this.#tx(async (c) => {
      const expired = (
        await c.query(
          `SELECT m.device_id, m.seq FROM payloads p JOIN mailbox m ON m.payload_id = p.id
            WHERE p.expires_at <= $1 LIMIT $2`,
          [now, MAX_SWEEP_ROWS],
        )
      ).rows as Row[]
      let envelopes = 0
      if (expired.length > 0) {
        // Same lock order as a group-commit batch: device rows (sorted) before mailbox rows.
        const devices = [...new Set(expired.map((r) => r.device_id as string))].sort()
        await c.query(
          'SELECT 1 FROM devices WHERE device_id = ANY($1::text[]) ORDER BY device_id FOR UPDATE',
          [devices],
        )
        const deleted = await c.query(
          `WITH gone AS (
             DELETE FROM mailbox m USING unnest($1::text[], $2::bigint[]) AS e(device_id, seq)
              WHERE m.device_id = e.device_id AND m.seq = e.seq RETURNING m.device_id)
           UPDATE devices d SET mailbox_count = greatest(0, d.mailbox_count - g.n)
             FROM (SELECT device_id, count(*) AS n FROM gone GROUP BY device_id) g
            WHERE d.device_id = g.device_id RETURNING g.n`,
          [expired.map((r) => r.device_id as string), expired.map((r) => r.seq as string)],
        )
        envelopes = (deleted.rows as Row[]).reduce((sum, r) => sum + num(r.n), 0)
      }
      await c.query(
        `DELETE FROM payloads WHERE id IN (SELECT id FROM payloads p WHERE p.expires_at <= $1
           AND NOT EXISTS (SELECT 1 FROM mailbox m WHERE m.payload_id = p.id) LIMIT $2)`,
        [now, MAX_SWEEP_ROWS],
      )
      const blobs = await c.query(
        'DELETE FROM blobs WHERE blob_id IN (SELECT blob_id FROM blobs WHERE expires_at <= $1 LIMIT $2)',
        [now, MAX_SWEEP_BLOBS],
      )
      const sessions = await c.query(
        'DELETE FROM sessions WHERE token_hash IN (SELECT token_hash FROM sessions WHERE expires_at <= $1 LIMIT $2)',
        [now, MAX_SWEEP_ROWS],
      )
      await c.query(
        'DELETE FROM invites WHERE code_hash IN (SELECT code_hash FROM invites WHERE expires_at <= $1 LIMIT $2)',
        [now, MAX_SWEEP_ROWS],
      )
      return { envelopes, blobs: blobs.rowCount ?? 0, sessions: sessions.rowCount ?? 0 }
    })
  }
}

async function insertDevice(c: Client, device: Omit<Device, 'revokedAt'>): Promise<void> {
  await c.query(
    'INSERT INTO devices (device_id, handle, signature_key, credential, created_at) VALUES ($1, $2, $3, $4, $5)',
    [device.deviceId, device.handle, buf(device.signatureKey), buf(device.credential), device.createdAt],
  )
}

/** Locks the device row; throws unless it exists and is not revoked. */
async function lockLiveDevice(c: Client, deviceId: DeviceId): Promise<void> {
  const d = (await c.query('SELECT revoked_at FROM devices WHERE device_id = $1 FOR UPDATE', [deviceId]))
    .rows[0] as Row | undefined
  if (d === undefined) throw new StorageError('not-found', 'no such device')
  if (d.revoked_at !== null) throw new StorageError('device-revoked', 'the device is revoked')
}

async function countOneTime(c: Client, deviceId: DeviceId): Promise<number> {
  const r = await c.query('SELECT count(*) AS n FROM key_packages WHERE device_id = $1 AND NOT last_resort', [
    deviceId,
  ])
  return num(r.rows[0]?.n)
}

/** Runs `fn` in a transaction on a client that is not in one. */
async function inTransaction<T>(c: Client, fn: () => Promise<T>): Promise<T> {
  await c.query('BEGIN')
  try {
    const result = await fn()
    await c.query('COMMIT')
    return result
  } catch (error) {
    await c.query('ROLLBACK').catch(() => undefined)
    throw error
  }
}

/**
 * The body of `rotatePayloads`, under its advisory lock, outside any transaction (DETACH …
 * CONCURRENTLY cannot run in one). Invariant: the partition of the generation after the current
 * one exists, so an insert never lacks its partition.
 *
 * Why a retired generation can be dropped: every mailbox row references a payload its own batch
 * inserted, and a batch reads the current generation under FOR KEY SHARE (`payloadInsert`). The
 * switch below takes the row FOR UPDATE, so it waits for every batch still writing the old
 * generation and every later batch sees the new one. Once a generation is two behind, no
 * transaction can add a payload or a reference to it: moving its referenced payloads is final.
 */
async function rotateGenerations(
  c: Client,
  now: number,
  generationMs: number,
): Promise<{ rotated: boolean; retired: number; kept: number }> {
  const state = (await c.query('SELECT current, started_at FROM payload_generation')).rows[0] as Row
  let current = num(state.current)
  const startedAt = num(state.started_at)
  const rotated = now - startedAt >= generationMs || now < startedAt
  if (rotated) {
    // The partition after the next one, made before the switch so that the switch's row lock is
    // held for one UPDATE only. ATTACH, unlike CREATE … PARTITION OF, lets inserts and reads go on.
    const ahead = current + 2
    if ((await c.query('SELECT to_regclass($1) AS t', [`payloads_g${ahead}`])).rows[0].t === null) {
      await inTransaction(c, () =>
        c.query(
          `CREATE TABLE payloads_g${ahead} (LIKE payloads INCLUDING DEFAULTS INCLUDING STORAGE);
           ALTER TABLE payloads ATTACH PARTITION payloads_g${ahead} FOR VALUES FROM (${ahead}) TO (${ahead + 1})`,
        ),
      )
    }
    current = await inTransaction(c, async () => {
      const locked = (await c.query('SELECT current FROM payload_generation FOR UPDATE')).rows[0] as Row
      const next = num(locked.current) + 1
      await c.query('UPDATE payload_generation SET current = $1, started_at = $2', [next, now])
      return next
    })
  }
  // Every generation table of the schema, attached or not: one left detached by a turn that
  // failed between its DETACH and its DROP is dropped now.
  const r = await c.query(
    `SELECT c.relname, i.inhrelid IS NOT NULL AS attached, coalesce(i.inhdetachpending, false) AS pending
       FROM pg_class c LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
      WHERE c.relkind = 'r' AND c.relname LIKE 'payloads\\_g%'
        AND c.relnamespace = (SELECT relnamespace FROM pg_class WHERE oid = 'payloads'::regclass)`,
  )
  const retiring: { generation: number; attached: boolean; pending: boolean }[] = []
  for (const row of r.rows as Row[]) {
    const generation = GENERATION_TABLE.exec(row.relname as string)?.[1]
    if (generation !== undefined && Number(generation) < current - 1)
      retiring.push({
        generation: Number(generation),
        attached: row.attached === true,
        pending: row.pending === true,
      })
  }
  retiring.sort((a, b) => a.generation - b.generation)
  let kept = 0
  for (const { generation, attached, pending } of retiring) {
    const table = `payloads_g${generation}`
    if (pending) {
      // A DETACH … CONCURRENTLY interrupted after its first transaction (the move was done).
      await c.query(`ALTER TABLE payloads DETACH PARTITION ${table} FINALIZE`)
    } else if (attached) {
      // One transaction, so a reader sees each payload in exactly one of the two places.
      kept += await inTransaction(c, async () => {
        const moved = await c.query(
          `WITH moved AS (
             DELETE FROM ${table} p WHERE EXISTS (SELECT 1 FROM mailbox m WHERE m.payload_id = p.id)
             RETURNING p.id, p.payload, p.received_at, p.expires_at)
           INSERT INTO payloads_kept (id, generation, payload, received_at, expires_at)
             SELECT id, 0, payload, received_at, expires_at FROM moved`,
        )
        return moved.rowCount ?? 0
      })
      // Waits for the readers that may still see the partition; blocks neither them nor inserts.
      await c.query(`ALTER TABLE payloads DETACH PARTITION ${table} CONCURRENTLY`)
    }
    // Otherwise an earlier turn detached it after its move and failed before this DROP.
    await c.query(`DROP TABLE ${table}`)
  }
  return { rotated, retired: retiring.length, kept }
}

/**
 * The statement inserting the payload of every request of every enqueue call, in order, and
 * returning their ids; null if there are none. One statement: ids from the sequence (the CTE is
 * volatile, so evaluated once), then the rows. The CTE holds offsets, not payloads: it is read
 * twice, so PostgreSQL materialises it in a tuplestore, and with the payloads in it every byte was
 * copied there once more and, past `work_mem`, written to a temporary file (a closed loop's
 * batches of thousands of 4 KiB payloads; `perf` showed `tuplestore_puttupleslot` writing).
 * Cutting the payloads in the INSERT's own SELECT took a fifth to a third off PostgreSQL's CPU per
 * envelope in `bench:relay`'s closed loops (docs/benchmarks.md, Relay, fifteenth round).
 * The payloads travel as one binary parameter cut by offset and length: a bytea[] parameter
 * would go hex-encoded as text, doubling the bytes and costing more to encode and parse than the
 * inserts themselves.
 */
function payloadInsert(calls: readonly WriteCall[]): PipelineStep | null {
  const chunks: Buffer[] = []
  const offsets: number[] = []
  const lengths: number[] = []
  const receivedAt: number[] = []
  const expiresAt: number[] = []
  let offset = 1
  for (const call of calls) {
    if (call.kind !== 'enqueue') continue
    for (const request of call.requests) {
      chunks.push(buf(request.payload))
      offsets.push(offset)
      lengths.push(request.payload.length)
      offset += request.payload.length
      receivedAt.push(call.now)
      expiresAt.push(request.expiresAt)
    }
  }
  if (chunks.length === 0) return null
  return {
    text: `WITH p AS (
       SELECT nextval('payloads_id_seq') AS id, t.off, t.len, t.received_at, t.expires_at, t.ord
         FROM unnest($2::int[], $3::int[], $4::bigint[], $5::bigint[])
         WITH ORDINALITY AS t(off, len, received_at, expires_at, ord)),
     ins AS (INSERT INTO payloads (id, generation, payload, received_at, expires_at)
       SELECT id, (SELECT current FROM payload_generation FOR KEY SHARE),
              substring($1::bytea FROM off FOR len), received_at, expires_at FROM p)
     SELECT id FROM p ORDER BY ord`,
    values: [Buffer.concat(chunks), offsets, lengths, receivedAt, expiresAt],
  }
}

/**
 * Deletes the given kept payloads that no mailbox row references any more (a payload of a live
 * generation goes with its partition, decision 0019). Under READ COMMITTED two
 * transactions acknowledging the last two references at once can each still see the other's row
 * and both keep the payload: it then stays, unreachable, until `sweepExpired` passes its expiry.
 */
async function deleteUnreferencedPayloads(c: Client, ids: string[]): Promise<void> {
  if (ids.length === 0) return
  await c.query(
    `DELETE FROM payloads_kept p WHERE p.id = ANY($1::bigint[])
       AND NOT EXISTS (SELECT 1 FROM mailbox m WHERE m.payload_id = p.id)`,
    [[...new Set(ids)]],
  )
}

async function blobRow(c: Client, blobId: string, lock: boolean): Promise<BlobInfo | null> {
  const r = await c.query(`SELECT * FROM blobs WHERE blob_id = $1${lock ? ' FOR UPDATE' : ''}`, [blobId])
  const row = r.rows[0] as Row | undefined
  return row === undefined ? null : toBlobInfo(row)
}

function liveBlob(info: BlobInfo | null, now: number | undefined): BlobInfo {
  if (info === null || (now !== undefined && info.expiresAt <= now)) {
    throw new StorageError('not-found', 'no such blob')
  }
  return info
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

/**
 * Applies `migrations` above the recorded version inside the caller's transaction, under an
 * advisory lock, creating the schema first. Returns the version reached.
 */
export async function migratePostgres(
  c: Client,
  schema: string,
  migrations: readonly Migration[] = POSTGRES_MIGRATIONS,
): Promise<number> {
  await c.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [MIGRATION_LOCK, schema])
  await c.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`)
  await c.query(`SET LOCAL search_path TO ${schema}`)
  await c.query(
    'CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
  )
  const current = async (): Promise<number> =>
    num((await c.query('SELECT coalesce(max(version), 0) AS v FROM schema_version')).rows[0]?.v)
  const latest = migrations.length === 0 ? 0 : migrations[migrations.length - 1]!.version
  const found = await current()
  if (found > latest) {
    throw new StorageError(
      'unavailable',
      `the database schema v${found} is newer than this server (v${latest})`,
    )
  }
  for (const step of migrations) {
    if (step.version <= found) continue
    await c.query(step.sql)
    await c.query('INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, $3)', [
      step.version,
      step.name,
      Date.now(),
    ])
  }
  return current()
}

export function checkSchemaName(schema: string): void {
  if (!SCHEMA_NAME.test(schema)) {
    throw new StorageError('invalid-argument', 'the schema name must be a plain lower-case identifier')
  }
}

export async function openPostgresStorage(
  url: string,
  options: PostgresStorageOptions = {},
): Promise<PostgresStorage> {
  const schema = options.schema ?? 'tacit'
  checkSchemaName(schema)
  const pool = new pg.Pool({
    connectionString: url,
    max: Math.max(2, options.poolSize ?? 10),
    // Every connection resolves table names in our schema only.
    options: `-c search_path=${schema}`,
    connectionTimeoutMillis: 10_000,
  })
  // An idle client's error (the server restarted) must not crash the process; the next query on
  // a fresh client reports `unavailable`.
  pool.on('error', () => {})
  const storage = new PostgresStorage(pool, schema, options)
  if (options.migrate !== false) {
    try {
      await storage.migrate()
    } catch (error) {
      await pool.end().catch(() => {})
      throw error
    }
  }
  if (options.backgroundWork !== false) {
    storage.startPayloadRotation(
      options.payloadGenerationMs ?? DEFAULT_PAYLOAD_GENERATION_MS,
      options.onBackgroundError,
    )
  }
  return storage
}
