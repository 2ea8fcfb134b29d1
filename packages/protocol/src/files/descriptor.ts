/**
 * The FileDescriptor (docs/protocol/files.md §8): everything a recipient needs to fetch, open and
 * name a file. It travels only inside an MLS application message, never next to the blob: it
 * holds the file key. Never log one.
 *
 *   struct {
 *     uint8  version = 1;
 *     opaque blob_id<0..64>;          // the server's blob id (base64url), empty for local use
 *     opaque key[32];                 // AES-256-GCM file key
 *     uint64 size;                    // real plaintext size, <= MAX_FILE_BYTES
 *     opaque digest[32];              // content digest (content-digest.ts)
 *     opaque name<1..255>;            // UTF-8 file name, no path
 *     opaque media_type<1..255>;      // RFC 6838 type "/" subtype, no parameters
 *   } FileDescriptor;
 */
import { utf8 } from '@tacit/crypto/bytes'
import { Reader, Writer } from '../codec.ts'
import { ProtocolError } from '../errors.ts'
import { CONTENT_DIGEST_BYTES } from './content-digest.ts'
import { FileError } from './errors.ts'
import { FILE_KEY_BYTES } from './format.ts'
import {
  MAX_BLOB_ID_BYTES,
  MAX_FILE_BYTES,
  MAX_FILE_DESCRIPTOR_BYTES,
  MAX_FILE_NAME_BYTES,
  MAX_MEDIA_TYPE_BYTES,
} from './limits.ts'

export const FILE_DESCRIPTOR_VERSION = 1
export const DEFAULT_MEDIA_TYPE = 'application/octet-stream'

export interface FileDescriptor {
  readonly blobId: string
  readonly key: Uint8Array
  readonly size: number
  readonly digest: Uint8Array
  readonly name: string
  readonly mediaType: string
}

const BLOB_ID_PATTERN = /^[A-Za-z0-9_-]*$/
// RFC 6838 §4.2 restricted-name, for the type and the subtype.
const MEDIA_TYPE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/
// In unicode mode a pair is one code point, so this matches only unpaired surrogates.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u
/** C0 and C1 controls, DEL, and both path separators. */
function hasForbiddenNameCharacter(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i)
    if (c <= 0x1f || (c >= 0x7f && c <= 0x9f) || c === 0x2f || c === 0x5c) return true
  }
  return false
}

/**
 * A name is shown to people and offered as a file name, never used as a path: no separators, no
 * control characters, not "." or "..". Receivers still join it to a folder of their choosing.
 */
export function isValidFileName(name: string): boolean {
  const length = utf8.encode(name).length
  return (
    length >= 1 &&
    length <= MAX_FILE_NAME_BYTES &&
    !hasForbiddenNameCharacter(name) &&
    name !== '.' &&
    name !== '..' &&
    !LONE_SURROGATE.test(name)
  )
}

export function isValidMediaType(mediaType: string): boolean {
  return mediaType.length <= MAX_MEDIA_TYPE_BYTES && MEDIA_TYPE_PATTERN.test(mediaType)
}

function checkDescriptor(d: FileDescriptor): void {
  if (d.blobId.length > MAX_BLOB_ID_BYTES || !BLOB_ID_PATTERN.test(d.blobId)) {
    throw new FileError('bad-descriptor', 'blob id is not base64url of at most MAX_BLOB_ID_BYTES')
  }
  if (!(d.key instanceof Uint8Array) || d.key.length !== FILE_KEY_BYTES) {
    throw new FileError('bad-descriptor', `key must be ${FILE_KEY_BYTES} bytes`)
  }
  if (!Number.isSafeInteger(d.size) || d.size < 0) throw new FileError('bad-descriptor', 'size is not valid')
  if (d.size > MAX_FILE_BYTES)
    throw new FileError('too-large', `size above MAX_FILE_BYTES (${MAX_FILE_BYTES})`)
  if (!(d.digest instanceof Uint8Array) || d.digest.length !== CONTENT_DIGEST_BYTES) {
    throw new FileError('bad-descriptor', `digest must be ${CONTENT_DIGEST_BYTES} bytes`)
  }
  if (!isValidFileName(d.name)) throw new FileError('bad-descriptor', 'file name is not valid')
  if (!isValidMediaType(d.mediaType)) throw new FileError('bad-descriptor', 'media type is not valid')
}

export function encodeFileDescriptor(descriptor: FileDescriptor): Uint8Array {
  checkDescriptor(descriptor)
  return new Writer()
    .u8(FILE_DESCRIPTOR_VERSION)
    .vec8(utf8.encode(descriptor.blobId))
    .fixed(descriptor.key)
    .u32(Math.floor(descriptor.size / 2 ** 32))
    .u32(descriptor.size % 2 ** 32)
    .fixed(descriptor.digest)
    .vec8(utf8.encode(descriptor.name))
    .vec8(utf8.encode(descriptor.mediaType))
    .finish()
}

export function decodeFileDescriptor(bytes: Uint8Array): FileDescriptor {
  if (bytes.length > MAX_FILE_DESCRIPTOR_BYTES) {
    throw new FileError(
      'too-large',
      `descriptor above MAX_FILE_DESCRIPTOR_BYTES (${MAX_FILE_DESCRIPTOR_BYTES})`,
    )
  }
  if (bytes.length === 0) throw new FileError('bad-descriptor', 'empty descriptor')
  if (bytes[0] !== FILE_DESCRIPTOR_VERSION)
    throw new FileError('unsupported-version', `descriptor version ${bytes[0]}`)
  let descriptor: FileDescriptor
  try {
    const r = new Reader(bytes, 'file descriptor')
    r.u8()
    const blobId = utf8.decode(r.vec8())
    const key = r.fixed(FILE_KEY_BYTES).slice()
    const high = r.u32()
    const low = r.u32()
    const digest = r.fixed(CONTENT_DIGEST_BYTES).slice()
    const name = utf8.decode(r.vec8())
    const mediaType = utf8.decode(r.vec8())
    r.end()
    descriptor = { blobId, key, size: high * 2 ** 32 + low, digest, name, mediaType }
  } catch (cause) {
    if (ProtocolError.is(cause) || cause instanceof TypeError) {
      throw new FileError('bad-descriptor', 'descriptor does not decode', { cause })
    }
    throw cause
  }
  checkDescriptor(descriptor)
  return descriptor
}
