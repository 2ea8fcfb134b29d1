/**
 * The encrypted file format, version 1 (docs/protocol/files.md §2–§3): a 16-byte header, then the
 * padded plaintext in 64 KiB chunks, each sealed with AES-256-GCM in the STREAM construction
 * (Hoang, Reyhanitabar, Rogaway, Vizár, "Online Authenticated-Encryption and its Nonce-Reuse
 * Misuse-Resistance", CRYPTO 2015, §7; the same shape as age and Tink's streaming AEAD):
 *
 *   header  = "TACF" ‖ uint8 version (1) ‖ uint32 chunk_size (65536) ‖ nonce_prefix[7]
 *   nonce_i = nonce_prefix ‖ uint32 i ‖ uint8 (i == last ? 1 : 0)
 *   chunk_i = AES-256-GCM(key, nonce_i, aad = header, padded_plaintext[i·C .. (i+1)·C))
 *
 * The counter pins each chunk's position (reordering, duplication fail), the flag pins the end
 * (a cut tail or an appended chunk fails), and the header as associated data of every chunk pins
 * the version, chunk size and prefix.
 */
import { AEAD_TAG_LENGTH } from '@tacit/crypto/backend'
import { FileError } from './errors.ts'
import { MAX_FILE_CHUNKS } from './limits.ts'
import { paddedFileSize } from './padding.ts'

export const FILE_FORMAT_VERSION = 1
/** "TACF": Tacit file. */
export const FILE_MAGIC = Uint8Array.of(0x54, 0x41, 0x43, 0x46)
/** Plaintext bytes per chunk (every chunk but the last is exactly this long). */
export const FILE_CHUNK_BYTES = 65536
export const FILE_HEADER_BYTES = 16
export const FILE_KEY_BYTES = 32
export const FILE_NONCE_PREFIX_BYTES = 7
export const FILE_TAG_BYTES = AEAD_TAG_LENGTH
/** A whole ciphertext chunk but the last: plaintext and the GCM tag. */
export const FILE_CIPHERTEXT_CHUNK_BYTES = FILE_CHUNK_BYTES + FILE_TAG_BYTES

export interface FileHeader {
  readonly version: number
  readonly chunkSize: number
  readonly noncePrefix: Uint8Array
}

export function encodeFileHeader(noncePrefix: Uint8Array): Uint8Array {
  if (noncePrefix.length !== FILE_NONCE_PREFIX_BYTES) {
    throw new FileError('misuse', `nonce prefix must be ${FILE_NONCE_PREFIX_BYTES} bytes`)
  }
  const out = new Uint8Array(FILE_HEADER_BYTES)
  out.set(FILE_MAGIC, 0)
  out[4] = FILE_FORMAT_VERSION
  new DataView(out.buffer).setUint32(5, FILE_CHUNK_BYTES)
  out.set(noncePrefix, 9)
  return out
}

/** Parses and checks a header; the version is checked before anything that depends on it. */
export function decodeFileHeader(bytes: Uint8Array): FileHeader {
  if (bytes.length !== FILE_HEADER_BYTES)
    throw new FileError('bad-header', `header must be ${FILE_HEADER_BYTES} bytes`)
  for (let i = 0; i < FILE_MAGIC.length; i++) {
    if (bytes[i] !== FILE_MAGIC[i]) throw new FileError('bad-header', 'not a Tacit encrypted file (magic)')
  }
  const version = bytes[4]!
  if (version !== FILE_FORMAT_VERSION)
    throw new FileError('unsupported-version', `file format version ${version}`)
  const chunkSize = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(5)
  if (chunkSize !== FILE_CHUNK_BYTES)
    throw new FileError('bad-header', `chunk size ${chunkSize} (version 1 uses 65536)`)
  return { version, chunkSize, noncePrefix: bytes.slice(9, 16) }
}

/** Where everything of one file lies, from its real size alone (§4): both sides compute it. */
export interface FileLayout {
  /** Real plaintext bytes. */
  readonly size: number
  /** Plaintext bytes after padding: the bucket. */
  readonly paddedSize: number
  /** Chunks in the blob; the last one carries the flag. */
  readonly chunkCount: number
  /** Chunks holding real bytes: ceil(size / 65536). */
  readonly dataChunkCount: number
  /** Plaintext bytes of the last chunk (1..65536). */
  readonly lastChunkBytes: number
  /** Bytes of the whole blob: header, chunks, tags. */
  readonly ciphertextSize: number
}

export function fileLayout(size: number): FileLayout {
  const paddedSize = paddedFileSize(size)
  const chunkCount = Math.ceil(paddedSize / FILE_CHUNK_BYTES)
  if (chunkCount > MAX_FILE_CHUNKS)
    throw new FileError('too-large', 'file needs more than MAX_FILE_CHUNKS chunks')
  return {
    size,
    paddedSize,
    chunkCount,
    dataChunkCount: Math.ceil(size / FILE_CHUNK_BYTES),
    lastChunkBytes: paddedSize - (chunkCount - 1) * FILE_CHUNK_BYTES,
    ciphertextSize: FILE_HEADER_BYTES + paddedSize + chunkCount * FILE_TAG_BYTES,
  }
}

/** Plaintext bytes of chunk `index` (padding included). */
export function chunkPlaintextBytes(layout: FileLayout, index: number): number {
  return index === layout.chunkCount - 1 ? layout.lastChunkBytes : FILE_CHUNK_BYTES
}

/** Real (unpadded) bytes in chunk `index`: 0 for chunks of padding only. */
export function chunkDataBytes(layout: FileLayout, index: number): number {
  const start = index * FILE_CHUNK_BYTES
  return Math.max(0, Math.min(FILE_CHUNK_BYTES, layout.size - start))
}

/** Offset of chunk `index` in the blob: where a resumed download starts reading. */
export function chunkCiphertextOffset(index: number): number {
  return FILE_HEADER_BYTES + index * FILE_CIPHERTEXT_CHUNK_BYTES
}

/** nonce_i = prefix[7] ‖ uint32 i ‖ uint8 last (§3). */
export function chunkNonce(noncePrefix: Uint8Array, index: number, last: boolean): Uint8Array {
  const nonce = new Uint8Array(12)
  nonce.set(noncePrefix, 0)
  new DataView(nonce.buffer).setUint32(7, index)
  nonce[11] = last ? 1 : 0
  return nonce
}
