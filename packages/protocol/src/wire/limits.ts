/**
 * Every size and count the delivery service accepts, in one place. Server and clients import the
 * same values; `docs/protocol/server.md` §Limits lists them. Exceeding one yields a `WireError`
 * whose code names the kind of violation and whose message names the constant.
 */

/** Handles: lower-case ASCII, see `HANDLE_PATTERN`. */
export const MAX_HANDLE_LENGTH = 32
/** `^[a-z0-9][a-z0-9._-]{1,31}$`: 2–32 characters, no upper case, no leading punctuation. */
export const HANDLE_PATTERN = /^[a-z0-9][a-z0-9._-]{1,31}$/

/** Device ids are base64url (no padding) of 16 random bytes: exactly 22 characters. */
export const DEVICE_ID_LENGTH = 22
/** Ed25519 public keys (RFC 8032 §5.1.5). */
export const ED25519_PUBLIC_KEY_BYTES = 32
/** Ed25519 signatures (RFC 8032 §5.1.6). */
export const ED25519_SIGNATURE_BYTES = 64
/** A device's credential (an MLS credential signed by the identity key): opaque to the server. */
export const MAX_CREDENTIAL_BYTES = 4096
/** Devices (revoked ones not counted) per account. */
export const MAX_DEVICES_PER_ACCOUNT = 16
/** Handles in one batch directory lookup (`POST /v1/accounts/lookup`): a group change's worth. */
export const MAX_LOOKUP_HANDLES = 100

/** Server challenges: 32 random bytes. */
export const CHALLENGE_BYTES = 32
/** Invite codes as typed by people: base64url of 16 random bytes. */
export const MAX_INVITE_CODE_LENGTH = 64
/** Session tokens (HTTP bearer): 32 random bytes, base64url. */
export const SESSION_TOKEN_BYTES = 32
/** Delivery tokens for sealed sending: 32 bytes chosen by the recipient's client. */
export const DELIVERY_TOKEN_BYTES = 32

/** One KeyPackage (RFC 9420 §10), opaque to the server. */
export const MAX_KEY_PACKAGE_BYTES = 8192
/** One-time KeyPackages in one upload. */
export const MAX_KEY_PACKAGES_PER_UPLOAD = 50
/** One-time KeyPackages stored per device (the last-resort one is extra). */
export const MAX_ONE_TIME_KEY_PACKAGES = 200

/** One envelope's payload (an MLS message, padded by the client). */
export const MAX_ENVELOPE_BYTES = 1024 * 1024
/** Recipient mailboxes of one send (the largest group the server relays to in one upload). */
export const MAX_RECIPIENTS = 1000
/** Sequence numbers in one acknowledgement. */
export const MAX_ACK_SEQS = 1000
/** MLS group ids (opaque, random, chosen by clients). */
export const MAX_GROUP_ID_BYTES = 64
/** The longest time-to-live a client may ask for on an envelope. */
export const MAX_ENVELOPE_TTL_SECONDS = 60 * 60 * 24 * 30
/**
 * One WebSocket frame: a commit frame carries two payloads and two recipient lists, each
 * recipient at most 1 + 22 bytes; 64 KiB of headroom covers every header.
 */
export const MAX_FRAME_BYTES =
  2 * MAX_ENVELOPE_BYTES + 2 * MAX_RECIPIENTS * (1 + DEVICE_ID_LENGTH) + 64 * 1024

/** One blob (an encrypted file, padded); servers may configure a lower cap. 4 GiB leaves room for
 * a padded 2 GiB file and more (DESIGN.md §3: files of any size; constant memory at both ends). */
export const MAX_BLOB_BYTES = 4 * 1024 * 1024 * 1024
/** One chunk of a blob upload (one PATCH request body). */
export const MAX_BLOB_CHUNK_BYTES = 4 * 1024 * 1024
/** Blob ids: base64url of 16 random bytes. */
export const BLOB_ID_LENGTH = 22
/** One JSON request body. */
export const MAX_JSON_BODY_BYTES = 1024 * 1024
/** Error messages sent to clients (UTF-8 bytes). */
export const MAX_ERROR_MESSAGE_BYTES = 1024
/** Error codes on the wire (ASCII bytes). */
export const MAX_ERROR_CODE_LENGTH = 64
