/**
 * Every size and count of the encrypted file format (docs/protocol/files.md) has a maximum, named
 * here. The delivery service has its own, lower blob limit (`MAX_BLOB_BYTES`); these are the
 * format's own bounds, so that every counter and length fits the encoding with room to spare.
 */

/** Largest real (unpadded) file size. 2^40 bytes pads to fewer than 2^25 chunks, far below the
 * 2^32 the 4-byte chunk counter can number (docs/protocol/files.md §3). */
export const MAX_FILE_BYTES = 2 ** 40
/** Chunks in one blob: the 4-byte big-endian counter of the nonce (§3) must never wrap. */
export const MAX_FILE_CHUNKS = 2 ** 32 - 1
/** A file name in a descriptor, in UTF-8 bytes (the common file-system limit). */
export const MAX_FILE_NAME_BYTES = 255
/** A media type in a descriptor (`type/subtype`, RFC 6838 §4.2: each part at most 127). */
export const MAX_MEDIA_TYPE_BYTES = 255
/** The blob id the server assigned (base64url of 16 bytes: 22 characters today). */
export const MAX_BLOB_ID_BYTES = 64
/** An encoded FileDescriptor: version, blob id, key, size, digest, name, media type. */
export const MAX_FILE_DESCRIPTOR_BYTES =
  1 + 1 + MAX_BLOB_ID_BYTES + 32 + 8 + 32 + 1 + MAX_FILE_NAME_BYTES + 1 + MAX_MEDIA_TYPE_BYTES
