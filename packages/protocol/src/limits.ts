/** Every size and count the protocol accepts has a maximum, named here. */

/** Largest encoded MLS handshake message (commit, Welcome, GroupInfo) we decode. A Welcome with the
 * ratchet tree of a 1,000-device group in the X-Wing suite is about 3 MiB. */
export const MAX_HANDSHAKE_MESSAGE_BYTES = 16 * 1024 * 1024
/** Largest encoded application message; file contents travel as blobs, not in messages. */
export const MAX_APPLICATION_MESSAGE_BYTES = 1024 * 1024
/** Largest plaintext handed to `encryptMessage`. */
export const MAX_PLAINTEXT_BYTES = 512 * 1024
/** Largest encoded KeyPackage (X-Wing init + HPKE keys, credential, extensions). */
export const MAX_KEY_PACKAGE_BYTES = 16 * 1024
/** Devices in one group: the benchmark covers 1,000. */
export const MAX_GROUP_MEMBERS = 5_000
/** Proposals in one commit we create (adds, removes). */
export const MAX_PROPOSALS_PER_COMMIT = 1_000
/** Device ids are opaque; the server assigns 16 random bytes. */
export const MAX_DEVICE_ID_BYTES = 64
/** Largest encoded snapshot of one group's state we restore. */
export const MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024
/** Exporter output (RFC 9420 §8.5) a caller may ask for. */
export const MAX_EXPORTER_LENGTH = 255
/** Past epochs whose receiver secrets a member keeps for late application messages. */
export const PAST_EPOCHS_RETAINED = 4
/** Out-of-order generations within one sender's chain kept for late messages. */
export const OUT_OF_ORDER_GENERATIONS_RETAINED = 32
/** Generations a receiver ratchets forward to reach a message (RFC 9420 §9.2 bounds this). */
export const MAX_FORWARD_RATCHET_STEPS = 1_000
