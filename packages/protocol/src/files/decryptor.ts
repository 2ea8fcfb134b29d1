/**
 * The receiving side of the file format (docs/protocol/files.md §6): blob bytes in (split
 * anywhere), authenticated plaintext out, in constant memory (one ciphertext chunk of buffer).
 *
 * Each chunk's plaintext is released once its own GCM tag verified, but the file as a whole is
 * only known to be complete and the sender's when `finish` returns: it refuses unless the chunk
 * flagged last was opened, nothing follows it, and the content digest matches the descriptor.
 * Callers therefore write to a temporary place and move the result into view only after
 * `finish` (packages/client/src/files/ does this for files on disk).
 */
import type { CryptoBackend } from '@tacit/crypto/backend'
import { equalBytes } from '@tacit/crypto/bytes'
import { CryptoError } from '@tacit/crypto/errors'
import { checkCheckpoint, type FileCheckpoint, makeCheckpoint } from './checkpoint.ts'
import { absorbChunk, CONTENT_DIGEST_BYTES, finishDigest, initialDigestState } from './content-digest.ts'
import type { FileSecrets } from './encryptor.ts'
import { FileError } from './errors.ts'
import {
  chunkDataBytes,
  chunkNonce,
  chunkPlaintextBytes,
  decodeFileHeader,
  FILE_CIPHERTEXT_CHUNK_BYTES,
  FILE_HEADER_BYTES,
  FILE_KEY_BYTES,
  FILE_TAG_BYTES,
  type FileLayout,
  fileLayout,
} from './format.ts'

export interface FileDecryptorParams {
  /** Key, real size and content digest from the FileDescriptor. */
  readonly secrets: FileSecrets
  /**
   * Continue an interrupted download: bytes pushed start at `checkpoint.ciphertextOffset` of the
   * blob, and the plaintext already written ends at `checkpoint.plaintextOffset`.
   */
  readonly resume?: FileCheckpoint
}

export interface FileDecryptor {
  readonly layout: FileLayout
  /** Feeds the next blob bytes (any length); returns the real plaintext of the chunks completed. */
  push(ciphertext: Uint8Array): Promise<Uint8Array[]>
  /** The last chunk boundary reached (for resuming a download). */
  checkpoint(): FileCheckpoint
  /** Succeeds only if the last chunk was opened and the content digest matches. */
  finish(): Promise<void>
}

export async function createFileDecryptor(
  backend: CryptoBackend,
  params: FileDecryptorParams,
): Promise<FileDecryptor> {
  const { secrets } = params
  if (!(secrets.key instanceof Uint8Array) || secrets.key.length !== FILE_KEY_BYTES) {
    throw new FileError('misuse', `file key must be ${FILE_KEY_BYTES} bytes`)
  }
  if (!(secrets.digest instanceof Uint8Array) || secrets.digest.length !== CONTENT_DIGEST_BYTES) {
    throw new FileError('misuse', `content digest must be ${CONTENT_DIGEST_BYTES} bytes`)
  }
  const layout = fileLayout(secrets.size)
  const key = secrets.key.slice()
  const expectedDigest = secrets.digest.slice()
  let header: Uint8Array | null = null
  let noncePrefix: Uint8Array = new Uint8Array(0)
  let index = 0
  let digestState: Uint8Array
  if (params.resume !== undefined) {
    checkCheckpoint(layout, params.resume)
    header = params.resume.header.slice()
    noncePrefix = decodeFileHeader(header).noncePrefix
    index = params.resume.chunkIndex
    digestState = params.resume.digestState.slice()
  } else {
    digestState = await initialDigestState(backend)
  }
  const headerBuffer = new Uint8Array(FILE_HEADER_BYTES)
  let headerFilled = 0
  const buffer = new Uint8Array(FILE_CIPHERTEXT_CHUNK_BYTES)
  let filled = 0
  let busy = false
  let failed = false

  /** Opens chunk `index` from `sealed` (the buffer, or a whole chunk in the caller's bytes). */
  async function openChunk(sealed: Uint8Array): Promise<Uint8Array | null> {
    const last = index === layout.chunkCount - 1
    let plaintext: Uint8Array
    try {
      plaintext = await backend.aead.open(
        'AES-256-GCM',
        key,
        chunkNonce(noncePrefix, index, last),
        header!,
        sealed,
      )
    } catch (cause) {
      if (CryptoError.is(cause, 'aead-auth-failed')) {
        throw new FileError('chunk-auth-failed', `chunk ${index} did not authenticate`, { cause })
      }
      throw cause
    }
    const dataLength = chunkDataBytes(layout, index)
    let padding = 0
    for (let i = dataLength; i < plaintext.length; i++) padding |= plaintext[i]!
    if (padding !== 0) throw new FileError('bad-padding', `chunk ${index} has non-zero padding`)
    index++
    filled = 0
    if (dataLength === 0) return null
    const data = plaintext.subarray(0, dataLength)
    digestState = await absorbChunk(backend, digestState, data)
    return data
  }

  async function guarded<T>(work: () => Promise<T>): Promise<T> {
    if (failed) throw new FileError('misuse', 'the decryptor failed earlier and cannot continue')
    if (busy) throw new FileError('misuse', 'one call at a time: await the previous one')
    busy = true
    try {
      return await work()
    } catch (error) {
      failed = true
      throw error
    } finally {
      busy = false
    }
  }

  return {
    layout,
    push: (ciphertext) =>
      guarded(async () => {
        if (!(ciphertext instanceof Uint8Array))
          throw new FileError('misuse', 'ciphertext must be a Uint8Array')
        const out: Uint8Array[] = []
        let offset = 0
        while (offset < ciphertext.length) {
          if (header === null) {
            const take = Math.min(FILE_HEADER_BYTES - headerFilled, ciphertext.length - offset)
            headerBuffer.set(ciphertext.subarray(offset, offset + take), headerFilled)
            headerFilled += take
            offset += take
            if (headerFilled === FILE_HEADER_BYTES) {
              noncePrefix = decodeFileHeader(headerBuffer).noncePrefix
              header = headerBuffer.slice()
            }
            continue
          }
          if (index >= layout.chunkCount) {
            throw new FileError('trailing-data', 'bytes after the last chunk')
          }
          const sealedLength = chunkPlaintextBytes(layout, index) + FILE_TAG_BYTES
          if (filled === 0 && ciphertext.length - offset >= sealedLength) {
            // A whole chunk in the caller's bytes is opened in place, without a copy.
            const data = await openChunk(ciphertext.subarray(offset, offset + sealedLength))
            offset += sealedLength
            if (data !== null) out.push(data)
            continue
          }
          const take = Math.min(sealedLength - filled, ciphertext.length - offset)
          buffer.set(ciphertext.subarray(offset, offset + take), filled)
          filled += take
          offset += take
          if (filled === sealedLength) {
            const data = await openChunk(buffer.subarray(0, sealedLength))
            if (data !== null) out.push(data)
          }
        }
        return out
      }),
    checkpoint: () => {
      if (header === null) throw new FileError('misuse', 'no checkpoint before the header was read')
      return makeCheckpoint(layout, index, header, digestState)
    },
    finish: () =>
      guarded(async () => {
        if (header === null || index < layout.chunkCount) {
          throw new FileError(
            'truncated',
            `the blob ended before its last chunk (${index} of ${layout.chunkCount})`,
          )
        }
        const digest = await finishDigest(backend, digestState, layout.size)
        if (!equalBytes(digest, expectedDigest)) {
          throw new FileError('digest-mismatch', 'the plaintext does not match the descriptor digest')
        }
      }),
  }
}
