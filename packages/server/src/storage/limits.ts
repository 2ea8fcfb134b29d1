/**
 * Every bound the storage layer enforces on its own, whatever the server in front of it checked.
 * The server's wire limits are tighter; these exist so that no caller bug can make a backend hold
 * unbounded state or run an unbounded transaction. Exceeding one is `StorageError('limit-exceeded')`.
 */

/** SHA-256 output: invite codes, session tokens and delivery tokens are stored only as hashes. */
export const HASH_BYTES = 32
export const MAX_HANDLE_CHARS = 64
export const MAX_DEVICE_ID_CHARS = 64
export const MAX_PUBLIC_KEY_BYTES = 2_048
export const MAX_CREDENTIAL_BYTES = 16_384
/** Non-revoked devices per account; `claimKeyPackages` returns at most this many packages. */
export const MAX_DEVICES_PER_ACCOUNT = 32

export const MAX_KEY_PACKAGE_BYTES = 16_384
export const MAX_KEY_PACKAGE_REF_BYTES = 64
/** Upper bound on the `maxOneTime` a caller may pass to `uploadKeyPackages`. */
export const MAX_ONE_TIME_KEY_PACKAGES = 1_000

/** One envelope's opaque payload (the server's wire limit is lower). */
export const MAX_PAYLOAD_BYTES = 1_048_576
export const MAX_MAILBOXES_PER_ENVELOPE = 1_000
export const MAX_REQUESTS_PER_ENQUEUE = 1_000
/** Payload bytes of one `enqueue` call, all its requests together. */
export const MAX_ENQUEUE_BYTES = 16 * 1024 ** 2
/** Stored, unacknowledged entries per mailbox (expired ones count until swept). */
export const MAX_MAILBOX_ENTRIES = 100_000
export const MAX_FETCH_LIMIT = 1_000
export const MAX_ACK_SEQS = 1_000

/**
 * Group commit: at most this many `enqueue`/`ack` calls share one transaction. Under saturation
 * batches grow to this bound, and the larger they are the more frames each socket read and write
 * carries (a batch's answers leave as one write per connection): 8,192 instead of 2,048 took the
 * server's main thread from 33–37 to 21 µs per envelope (decision 0017).
 */
export const MAX_GROUP_COMMIT_CALLS = 8_192
/** Group commit: at most this many mailbox rows written in one transaction (a fan-out counts each). */
export const MAX_GROUP_COMMIT_ROWS = 16_384
/** Group commit: at most this many payload bytes in one transaction (a single call may reach MAX_ENQUEUE_BYTES). */
export const MAX_GROUP_COMMIT_BYTES = 32 * 1024 ** 2
/** Calls waiting for a transaction; beyond this `enqueue`/`ack` fail fast with `unavailable`. */
export const MAX_PENDING_WRITE_CALLS = 65_536
/** Upper bound on the optional group-commit window (the default 0 means "same tick"). */
export const MAX_GROUP_COMMIT_WINDOW_MS = 50

export const MAX_GROUP_ID_BYTES = 256
/** Epochs are RFC 9420 uint64; both databases store signed 64-bit integers. */
export const MAX_EPOCH = 2n ** 63n - 2n

export const MAX_BLOB_ID_CHARS = 64
/** One blob's declared size. */
export const MAX_BLOB_BYTES = 4 * 1024 ** 3
/** One `appendBlob` chunk. */
export const MAX_BLOB_CHUNK_BYTES = 4 * 1024 ** 2
/** One `readBlob` range. */
export const MAX_BLOB_READ_BYTES = 16 * 1024 ** 2

/** Rows of each kind one `sweepExpired` call deletes. */
export const MAX_SWEEP_ROWS = 10_000

/** Invites neither used, revoked nor expired; `createInvite` refuses more. */
export const MAX_OPEN_INVITES = 1_000
/** `listInvites` returns at most this many, newest first. */
export const MAX_LISTED_INVITES = 2_000
/** Live sessions per device; `createSession` refuses more. */
export const MAX_SESSIONS_PER_DEVICE = 64
/** Delivery tokens per device (sealed sending); `putDeliveryToken` refuses more. */
export const MAX_DELIVERY_TOKENS_PER_DEVICE = 256
/** Blobs one `sweepExpired` call deletes (each may hold many chunk rows). */
export const MAX_SWEEP_BLOBS = 100
