/** Every size and count the client SDK accepts or keeps has a maximum, named here. */

/** One-time KeyPackages a device keeps uploaded; topped up when fewer than the low-water mark. */
export const ONE_TIME_KEY_PACKAGE_TARGET = 20
export const ONE_TIME_KEY_PACKAGE_LOW_WATER = 10
/** Old last-resort KeyPackage private keys kept after replacement, for Welcomes already in flight. */
export const MAX_RETAINED_LAST_RESORT = 3
/** Attempts at one commit before giving up (each lost race catches up first). */
export const MAX_COMMIT_ATTEMPTS = 8
/** Handles in one createConversation / addMembers / removeMembers call. */
export const MAX_MEMBERS_PER_CHANGE = 100
/** Handles in one KeyPackage claim request (the server's MAX_CLAIM_HANDLES). */
export const MAX_HANDLES_PER_CLAIM = 100
/** Key-directory lookups in flight at once against a server without the batch lookup (older versions). */
export const DIRECTORY_LOOKUP_CONCURRENCY = 8
/** Envelope ids remembered for de-duplication (at-least-once delivery). Oldest are forgotten first. */
export const MAX_SEEN_ENVELOPES = 20_000
/** Messages returned by one history call. */
export const MAX_HISTORY_PAGE = 1_000
/** Outgoing envelopes waiting for the server's acknowledgement, persisted across crashes. */
export const MAX_OUTBOX = 10_000
/** Delivered receipts batched into one message (the content format allows 256). */
export const MAX_RECEIPT_BATCH = 256
/** Bounded waits: a request to the server, a sync barrier, a connection attempt. */
export const REQUEST_TIMEOUT_MS = 30_000
export const SYNC_TIMEOUT_MS = 60_000
export const CONNECT_TIMEOUT_MS = 15_000
/** Reconnect back-off bounds after the connection drops. */
export const RECONNECT_MIN_MS = 200
export const RECONNECT_MAX_MS = 10_000
/** A device commits an update of its own leaf at least this often in each conversation. */
export const SELF_UPDATE_INTERVAL_MS = 7 * 24 * 3600 * 1000
/** Largest device-link code and answer we decode (an X-Wing public key is 1,216 bytes). */
export const MAX_LINK_CODE_CHARS = 4096
/** Largest sealed device-link package (account keys, credential, KeyPackages). */
export const MAX_LINK_PACKAGE_BYTES = 256 * 1024
/** Conversation name, in UTF-8 bytes (the content format's own limit). */
export const MAX_NAME_BYTES = 256
/**
 * Blob bytes in one upload request (one PATCH, docs/protocol/server.md §3.5). Requests end on
 * file-chunk boundaries so that the server's offset is always a resumable checkpoint; the
 * server refuses bodies above its MAX_BLOB_CHUNK_BYTES (4 MiB), which this equals.
 */
export const MAX_UPLOAD_REQUEST_BYTES = 4 * 1024 * 1024
/** Attempts at one upload request or one download range after a network failure. */
export const MAX_TRANSFER_RETRIES = 5
/** First back-off between transfer retries; doubles per attempt. */
export const TRANSFER_RETRY_MIN_MS = 200
/** A download that delivers no byte for this long is cut (and resumed by a retry). */
export const TRANSFER_IDLE_TIMEOUT_MS = 30_000
/** Unfinished uploads remembered for resuming (one record each in the store). */
export const MAX_PENDING_UPLOADS = 256
/** Verified contacts kept (one record each in the store). */
export const MAX_VERIFIED_CONTACTS = 10_000
/** The longest text `verifyContact` looks at (a hex QR payload is 138 characters; digits 60). */
export const MAX_VERIFICATION_INPUT_CHARS = 1024
