/**
 * The one storage interface of the delivery service. Two backends implement it — SQLite
 * (`sqlite/`, the embedded default) and PostgreSQL (`postgres/`) — and one contract suite
 * (`packages/server/test/storage/contract.ts`) runs against both.
 *
 * Rules every backend keeps:
 * - Each method is one transaction: it either happens entirely or not at all.
 * - A promise resolves only once its writes are durable (fsync'd / committed). The hot path
 *   (`enqueue`, `ack`) group-commits: concurrent calls share one transaction and one fsync.
 * - Stored envelopes carry no sender. Nothing here ever sees plaintext: payloads are opaque bytes.
 * - Time is a parameter (`now`, ms since the epoch), never read inside, so tests control it.
 * - Secrets (invite codes, session and delivery tokens) are stored only as SHA-256 hashes.
 */

export type Bytes = Uint8Array
/** Server-assigned, random, URL-safe (base64url of 16 bytes). */
export type DeviceId = string
/** Lower-case handle, validated by the server before it reaches storage. */
export type Handle = string

export interface Account {
  readonly handle: Handle
  /** The user's Ed25519 identity public key (32 bytes). */
  readonly identityKey: Bytes
  readonly createdAt: number
}

export interface Device {
  readonly deviceId: DeviceId
  readonly handle: Handle
  /** The device's MLS signature public key. */
  readonly signatureKey: Bytes
  /** The device's credential, signed by the identity key (opaque to storage). */
  readonly credential: Bytes
  readonly createdAt: number
  readonly revokedAt: number | null
}

export interface Invite {
  readonly codeHash: Bytes
  readonly createdAt: number
  readonly expiresAt: number
  readonly usedBy: Handle | null
  readonly revokedAt: number | null
}

export interface StoredKeyPackage {
  /** RFC 9420 §5.2 KeyPackageRef, or any unique id the server computes: unique per device. */
  readonly ref: Bytes
  readonly keyPackage: Bytes
  readonly lastResort: boolean
}

export interface ClaimedKeyPackage {
  readonly deviceId: DeviceId
  readonly keyPackage: Bytes
  readonly lastResort: boolean
}

export interface EnqueueRequest {
  /** Mailboxes (devices) that get this envelope. Stored once, fanned out by reference. */
  readonly mailboxes: readonly DeviceId[]
  readonly payload: Bytes
  readonly expiresAt: number
}

export interface MailboxEntry {
  /** Strictly increasing per mailbox; the unit of acknowledgement. */
  readonly seq: bigint
  readonly payload: Bytes
  readonly receivedAt: number
}

export type CommitOutcome =
  | { readonly kind: 'accepted'; readonly epoch: bigint }
  | { readonly kind: 'conflict'; readonly currentEpoch: bigint }

export interface CommitRequest {
  readonly groupId: Bytes
  /** The epoch the commit was made in; on success the group moves to epoch + 1. */
  readonly epoch: bigint
  /** The commit, fanned out to the group's other members. */
  readonly commit: EnqueueRequest
  /** The Welcome for added members, if any: stored only if the commit is accepted. */
  readonly welcome: EnqueueRequest | null
}

export interface BlobInfo {
  readonly blobId: string
  readonly owner: Handle
  readonly declaredSize: number
  /** Bytes received so far; an upload resumes at this offset. */
  readonly receivedSize: number
  readonly complete: boolean
  readonly createdAt: number
  readonly expiresAt: number
}

export type StorageErrorCode =
  | 'not-found'
  | 'already-exists'
  | 'invite-invalid' // unknown, used, revoked or expired
  | 'device-revoked'
  | 'limit-exceeded' // a count or size above its limit (key packages per device, quota)
  | 'offset-mismatch' // a blob chunk that does not start where the upload stands
  | 'unavailable' // the database could not be reached, or the write queue is full (retry later)
  | 'invalid-argument' // a caller bug or unvalidated input: wrong hash length, negative count, bad range

export class StorageError extends Error {
  override readonly name = 'StorageError'
  constructor(
    readonly code: StorageErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${message}`, options)
  }
  static is(value: unknown, code?: StorageErrorCode): value is StorageError {
    return value instanceof StorageError && (code === undefined || value.code === code)
  }
}

/** A setting of the database that works against Tacit's load; logged once at start. */
export interface StorageWarning {
  /** Stable, for alerts: `postgres-autovacuum-off`. */
  readonly code: string
  readonly message: string
}

export interface Storage {
  /** Applies pending schema migrations; idempotent. */
  migrate(): Promise<void>
  close(): Promise<void>
  /** Settings of the database that work against Tacit's load (docs/operations.md); [] if none. */
  configurationWarnings(): Promise<StorageWarning[]>

  // Invites and accounts
  createInvite(codeHash: Bytes, now: number, expiresAt: number): Promise<void>
  revokeInvite(codeHash: Bytes, now: number): Promise<void>
  listInvites(): Promise<Invite[]>
  /** Consumes the invite and creates the account and its first device in one transaction. */
  registerAccount(args: {
    codeHash: Bytes
    account: Account
    device: Omit<Device, 'revokedAt'>
    now: number
  }): Promise<void>
  getAccount(handle: Handle): Promise<Account | null>

  // Devices
  addDevice(device: Omit<Device, 'revokedAt'>): Promise<void>
  getDevice(deviceId: DeviceId): Promise<Device | null>
  listDevices(handle: Handle): Promise<Device[]>
  /** Revokes the device and deletes its mailbox, key packages and sessions. */
  revokeDevice(deviceId: DeviceId, now: number): Promise<void>

  // Sessions (bearer tokens for HTTP after a WebSocket challenge; stored hashed)
  createSession(tokenHash: Bytes, deviceId: DeviceId, expiresAt: number): Promise<void>
  getSessionDevice(tokenHash: Bytes, now: number): Promise<DeviceId | null>

  // Key directory
  /** Adds one-time key packages and optionally replaces the last-resort one; refuses above `maxOneTime`. */
  uploadKeyPackages(args: {
    deviceId: DeviceId
    oneTime: readonly StoredKeyPackage[]
    lastResort: StoredKeyPackage | null
    maxOneTime: number
  }): Promise<{ oneTimeCount: number }>
  countKeyPackages(deviceId: DeviceId): Promise<number>
  /**
   * One key package per non-revoked device of `handle`: a one-time one (deleted as it is handed
   * out, never to two claimers) or else the last-resort one (kept).
   */
  claimKeyPackages(handle: Handle): Promise<ClaimedKeyPackage[]>

  // Mailboxes
  /**
   * Stores envelopes durably; returns, per request, the seq assigned in each of its mailboxes (in
   * the order of `mailboxes`). Calls in the same tick share one transaction (group commit), but
   * each call succeeds or fails alone: `not-found` for an unknown mailbox, `device-revoked`,
   * `limit-exceeded` for a full mailbox (`MAX_MAILBOX_ENTRIES`) or an oversized request.
   */
  enqueue(requests: readonly EnqueueRequest[], now: number): Promise<bigint[][]>
  /** Entries after `afterSeq`, oldest first, not expired. */
  fetchMailbox(deviceId: DeviceId, afterSeq: bigint, limit: number, now: number): Promise<MailboxEntry[]>
  /** Deletes acknowledged entries of that mailbox; returns how many existed. Group-committed like `enqueue`. */
  ack(deviceId: DeviceId, seqs: readonly bigint[]): Promise<number>

  // Delivery tokens for sealed sending (the recipient registers them; stored hashed)
  putDeliveryToken(tokenHash: Bytes, deviceId: DeviceId): Promise<void>
  resolveDeliveryToken(tokenHash: Bytes): Promise<DeviceId | null>

  // Group ordering: the first commit per (group, epoch) wins (RFC 9420 §14)
  submitCommit(request: CommitRequest, now: number): Promise<CommitOutcome>
  getGroupEpoch(groupId: Bytes): Promise<bigint | null>

  // Blobs (encrypted files)
  createBlob(args: {
    blobId: string
    owner: Handle
    declaredSize: number
    now: number
    expiresAt: number
    quotaBytes: number
  }): Promise<BlobInfo>
  /**
   * Appends at exactly `offset` (== receivedSize); completes the blob at declaredSize. With `now`,
   * an expired blob is `not-found` even before the sweeper removed it.
   */
  appendBlob(blobId: string, offset: number, chunk: Bytes, now?: number): Promise<BlobInfo>
  getBlob(blobId: string, now: number): Promise<BlobInfo | null>
  /**
   * Reads [start, end) of a complete blob (`not-found` while incomplete). With `now`, an expired
   * blob is `not-found` even before the sweeper removed it.
   */
  readBlob(blobId: string, start: number, end: number, now?: number): Promise<Bytes>
  deleteBlob(blobId: string): Promise<void>

  /**
   * Deletes expired envelopes, blobs, sessions and invites; returns counts. Each kind is deleted
   * at most `MAX_SWEEP_ROWS` at a time (see `limits.ts`): a count equal to it means call again.
   */
  sweepExpired(now: number): Promise<{ envelopes: number; blobs: number; sessions: number }>
}
