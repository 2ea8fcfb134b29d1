import {
  type Argon2Params,
  checkArgon2Params,
  MAX_ARGON2_SALT_BYTES,
  MIN_ARGON2_SALT_BYTES,
} from '@tacit/crypto/argon2'
import { AEAD_NONCE_LENGTH, AEAD_TAG_LENGTH } from '@tacit/crypto/backend'
import { concatBytes, utf8 } from '@tacit/crypto/bytes'
import { CryptoError } from '@tacit/crypto/errors'
import { StoreError } from './errors.ts'

/**
 * Byte layouts of the store, version 1. `docs/protocol/local-store.md` is the specification;
 * this file is its only implementation. Integers are big-endian.
 */

export const STORE_MAGIC = utf8.encode('TACITSTR')
export const STORE_FORMAT_VERSION = 1
/** KDF identifier 1: Argon2id, version 0x13 (RFC 9106), 32-byte output. */
export const KDF_ARGON2ID = 1
export const STORE_KEY_LENGTH = 32
export const STORE_SALT_LENGTH = 16
/** The header is about 100 bytes; anything much larger is not ours. */
export const MAX_HEADER_BYTES = 256

/** HKDF-SHA-256 salt and labels (RFC 5869 §3.1, §3.2: salt and info for domain separation). */
export const STORE_HKDF_SALT = utf8.encode('tacit-store-v1')
export const RECORD_KEY_INFO = utf8.encode('tacit-store-v1 record aead key')
export const LOOKUP_KEY_INFO = utf8.encode('tacit-store-v1 lookup hmac key')
const WRAP_AAD_LABEL = utf8.encode('tacit-store-v1 wrap')
const RECORD_AAD_LABEL = utf8.encode('tacit-store-v1 record')
const NAMESPACE_TAG_PREFIX = 0x00
const LOOKUP_PREFIX = 0x01

/** Record plaintexts are padded to a multiple of this, so sealed sizes say less about values. */
export const RECORD_PAD_BLOCK = 64
export const RECORD_VERSION = 1
const RECORD_PREFIX_LENGTH = 8 // u32 key length ‖ u32 value length

export interface StoreHeader {
  readonly kdf: typeof KDF_ARGON2ID
  readonly params: Argon2Params
  readonly salt: Uint8Array
  readonly wrapNonce: Uint8Array
  /** AES-256-GCM(KEK, wrapNonce, wrapAad, storeKey): 32 bytes ‖ 16-byte tag. */
  readonly wrappedKey: Uint8Array
}

/**
 * A copy as a plain Uint8Array. Not `.slice()`: on a Node Buffer that is a view, and the store
 * zeroes its own copies — it must never zero an array the caller still holds.
 */
export function copyBytes(bytes: Uint8Array, start?: number, end?: number): Uint8Array {
  return new Uint8Array(bytes.subarray(start, end))
}

function u32(value: number): Uint8Array {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, value)
  return out
}

/** The header bytes before the nonce: the wrap's associated data binds all of them. */
function encodeHeaderPrefix(params: Argon2Params, salt: Uint8Array): Uint8Array {
  return concatBytes(
    STORE_MAGIC,
    Uint8Array.of(STORE_FORMAT_VERSION, KDF_ARGON2ID),
    u32(params.memoryKiB),
    u32(params.iterations),
    u32(params.parallelism),
    Uint8Array.of(salt.length),
    salt,
  )
}

/** Associated data of the key wrap: the label and every header field before the nonce. */
export function wrapAad(params: Argon2Params, salt: Uint8Array): Uint8Array {
  return concatBytes(WRAP_AAD_LABEL, encodeHeaderPrefix(params, salt))
}

export function encodeHeader(header: StoreHeader): Uint8Array {
  return concatBytes(encodeHeaderPrefix(header.params, header.salt), header.wrapNonce, header.wrappedKey)
}

export function decodeHeader(bytes: Uint8Array): StoreHeader {
  if (bytes.length > MAX_HEADER_BYTES) throw new StoreError('corrupt-header', 'header too long')
  const magicLength = STORE_MAGIC.length
  if (bytes.length < magicLength + 2 || !STORE_MAGIC.every((b, i) => bytes[i] === b)) {
    throw new StoreError('not-a-store', 'header does not start with the store magic')
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let at = magicLength
  const version = bytes[at++]
  if (version !== STORE_FORMAT_VERSION) {
    throw new StoreError(
      'unsupported-version',
      `store format ${String(version)}; this code reads ${STORE_FORMAT_VERSION}`,
    )
  }
  const kdf = bytes[at++]
  if (kdf !== KDF_ARGON2ID) throw new StoreError('unsupported-version', `KDF ${String(kdf)}`)
  if (bytes.length < at + 13) throw new StoreError('corrupt-header', 'header truncated')
  const raw = {
    memoryKiB: view.getUint32(at),
    iterations: view.getUint32(at + 4),
    parallelism: view.getUint32(at + 8),
  }
  at += 12
  const saltLength = bytes[at++]!
  if (saltLength < MIN_ARGON2_SALT_BYTES || saltLength > MAX_ARGON2_SALT_BYTES) {
    throw new StoreError('corrupt-header', 'salt length out of range')
  }
  const expectedLength = at + saltLength + AEAD_NONCE_LENGTH + STORE_KEY_LENGTH + AEAD_TAG_LENGTH
  if (bytes.length !== expectedLength) throw new StoreError('corrupt-header', 'header length does not match')
  let params: Argon2Params
  try {
    params = checkArgon2Params(raw)
  } catch (cause) {
    // An altered header could ask for 4 TiB of memory: refuse before deriving anything.
    if (CryptoError.is(cause))
      throw new StoreError('corrupt-header', 'KDF parameters out of bounds', { cause })
    throw cause
  }
  const salt = copyBytes(bytes, at, at + saltLength)
  at += saltLength
  const wrapNonce = copyBytes(bytes, at, at + AEAD_NONCE_LENGTH)
  at += AEAD_NONCE_LENGTH
  return { kdf: KDF_ARGON2ID, params, salt, wrapNonce, wrappedKey: copyBytes(bytes, at) }
}

/** HMAC input naming a namespace: 0x00 ‖ UTF-8 name. */
export function namespaceTagInput(namespace: string): Uint8Array {
  return concatBytes(Uint8Array.of(NAMESPACE_TAG_PREFIX), utf8.encode(namespace))
}

/** HMAC input naming a record: 0x01 ‖ u16 name length ‖ name ‖ key (no two inputs collide). */
export function lookupInput(namespace: string, key: Uint8Array): Uint8Array {
  const name = utf8.encode(namespace)
  return concatBytes(Uint8Array.of(LOOKUP_PREFIX, name.length >> 8, name.length & 0xff), name, key)
}

/** Associated data of a record: label ‖ version ‖ namespace tag ‖ lookup key. */
export function recordAad(namespaceTag: Uint8Array, lookup: Uint8Array): Uint8Array {
  return concatBytes(RECORD_AAD_LABEL, Uint8Array.of(RECORD_VERSION), namespaceTag, lookup)
}

/** u32 key length ‖ u32 value length ‖ key ‖ value ‖ zeros to a multiple of RECORD_PAD_BLOCK. */
export function encodeRecordPlaintext(key: Uint8Array, value: Uint8Array): Uint8Array {
  const used = RECORD_PREFIX_LENGTH + key.length + value.length
  const padded = Math.ceil(used / RECORD_PAD_BLOCK) * RECORD_PAD_BLOCK
  const out = new Uint8Array(padded)
  const view = new DataView(out.buffer)
  view.setUint32(0, key.length)
  view.setUint32(4, value.length)
  out.set(key, RECORD_PREFIX_LENGTH)
  out.set(value, RECORD_PREFIX_LENGTH + key.length)
  return out
}

/** Inverse of encodeRecordPlaintext; copies out key and value. Any deviation is corruption. */
export function decodeRecordPlaintext(plaintext: Uint8Array): { key: Uint8Array; value: Uint8Array } {
  if (plaintext.length < RECORD_PREFIX_LENGTH || plaintext.length % RECORD_PAD_BLOCK !== 0) {
    throw new StoreError('corrupt-record', 'record plaintext has a bad length')
  }
  const view = new DataView(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength)
  const keyLength = view.getUint32(0)
  const valueLength = view.getUint32(4)
  const end = RECORD_PREFIX_LENGTH + keyLength + valueLength
  if (end > plaintext.length || plaintext.length - end >= RECORD_PAD_BLOCK) {
    throw new StoreError('corrupt-record', 'record lengths do not match')
  }
  for (let i = end; i < plaintext.length; i++) {
    if (plaintext[i] !== 0) throw new StoreError('corrupt-record', 'record padding is not zero')
  }
  return {
    key: copyBytes(plaintext, RECORD_PREFIX_LENGTH, RECORD_PREFIX_LENGTH + keyLength),
    value: copyBytes(plaintext, RECORD_PREFIX_LENGTH + keyLength, end),
  }
}

/** Sealed row: version ‖ nonce ‖ AES-256-GCM ciphertext ‖ tag. */
export function encodeSealedRecord(nonce: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.of(RECORD_VERSION), nonce, ciphertext)
}

export function decodeSealedRecord(sealed: Uint8Array): { nonce: Uint8Array; ciphertext: Uint8Array } {
  if (sealed.length < 1 + AEAD_NONCE_LENGTH + RECORD_PAD_BLOCK + AEAD_TAG_LENGTH) {
    throw new StoreError('corrupt-record', 'sealed record too short')
  }
  if (sealed[0] !== RECORD_VERSION) throw new StoreError('unsupported-version', `record version ${sealed[0]}`)
  return {
    nonce: sealed.subarray(1, 1 + AEAD_NONCE_LENGTH),
    ciphertext: sealed.subarray(1 + AEAD_NONCE_LENGTH),
  }
}
