/**
 * Node adapter that decrypts a blob into a file (docs/protocol/files.md §7). Integrity comes
 * before visibility: plaintext goes to `<destination>.tacit-part` beside the destination, and only
 * after the decryptor's `finish` — last chunk seen, nothing after it, content digest equal to the
 * descriptor's — is that file fsynced and renamed into place (rename is atomic within one file
 * system). A failed check deletes the partial file; an interrupted download (the source throws)
 * keeps it, and the next call with `resume: true` continues from its last whole chunk.
 */
import { createReadStream, createWriteStream } from 'node:fs'
import { open, rename, rm, stat, truncate } from 'node:fs/promises'
import { dirname } from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { CryptoBackend } from '@tacit/crypto/backend'
import { ProtocolError } from '@tacit/protocol/errors'
import type { FileCheckpoint } from '@tacit/protocol/files/checkpoint'
import { absorbChunk, initialDigestState } from '@tacit/protocol/files/content-digest'
import { createFileDecryptor } from '@tacit/protocol/files/decryptor'
import type { FileSecrets } from '@tacit/protocol/files/encryptor'
import {
  chunkCiphertextOffset,
  FILE_CHUNK_BYTES,
  FILE_HEADER_BYTES,
  fileLayout,
} from '@tacit/protocol/files/format'
import { decryptChunks } from '@tacit/protocol/files/stream'
import type { FileProgress } from './encrypt-file.ts'

export const PARTIAL_SUFFIX = '.tacit-part'

/** Opens the blob from a byte offset: a file read, or an HTTP range request to the server. */
export type BlobSource = (offset: number) => AsyncIterable<Uint8Array>

export interface DecryptToPathOptions extends FileProgress {
  /** Continue from `<destination>.tacit-part` if one is there. */
  readonly resume?: boolean
}

export function partialPathOf(destination: string): string {
  return destination + PARTIAL_SUFFIX
}

/** Errors that say the blob or descriptor is bad (not that the transfer stopped): discard. */
function isIntegrityFailure(error: unknown): boolean {
  return (
    ProtocolError.is(error, 'decrypt-failed') ||
    ProtocolError.is(error, 'verification-failed') ||
    ProtocolError.is(error, 'malformed')
  )
}

async function readHeader(source: BlobSource): Promise<Uint8Array> {
  const header = new Uint8Array(FILE_HEADER_BYTES)
  let filled = 0
  for await (const piece of source(0)) {
    const take = Math.min(FILE_HEADER_BYTES - filled, piece.length)
    header.set(piece.subarray(0, take), filled)
    filled += take
    if (filled === FILE_HEADER_BYTES) break
  }
  if (filled < FILE_HEADER_BYTES) throw new ProtocolError('decrypt-failed', 'blob shorter than its header')
  return header
}

/**
 * The checkpoint for the plaintext already in the partial file: its whole chunks, re-hashed (the
 * chain value is not stored anywhere; the file itself is the state). Truncates the partial file
 * to that boundary. Returns null when there is nothing to resume.
 */
async function checkpointFromPartial(
  backend: CryptoBackend,
  partial: string,
  secrets: FileSecrets,
  source: BlobSource,
): Promise<FileCheckpoint | null> {
  let length: number
  try {
    length = (await stat(partial)).size
  } catch {
    return null
  }
  const layout = fileLayout(secrets.size)
  const chunkIndex = Math.min(Math.floor(length / FILE_CHUNK_BYTES), layout.dataChunkCount)
  if (chunkIndex === 0) return null
  const plaintextOffset = Math.min(chunkIndex * FILE_CHUNK_BYTES, secrets.size)
  await truncate(partial, plaintextOffset)
  let state = await initialDigestState(backend)
  const buffer = new Uint8Array(FILE_CHUNK_BYTES)
  let filled = 0
  for await (const piece of createReadStream(partial, { highWaterMark: FILE_CHUNK_BYTES })) {
    let offset = 0
    while (offset < piece.length) {
      const take = Math.min(FILE_CHUNK_BYTES - filled, piece.length - offset)
      buffer.set(piece.subarray(offset, offset + take), filled)
      filled += take
      offset += take
      if (filled === FILE_CHUNK_BYTES) {
        state = await absorbChunk(backend, state, buffer)
        filled = 0
      }
    }
  }
  if (filled > 0) state = await absorbChunk(backend, state, buffer.subarray(0, filled))
  return {
    chunkIndex,
    header: await readHeader(source),
    digestState: state,
    plaintextOffset,
    ciphertextOffset: chunkCiphertextOffset(chunkIndex),
  }
}

async function syncPath(path: string, flags: string): Promise<void> {
  const handle = await open(path, flags)
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/**
 * Decrypts the blob from `source` into `destination`. Nothing appears at `destination` unless
 * the whole file decrypted and matched the descriptor.
 */
export async function decryptToPath(
  backend: CryptoBackend,
  source: BlobSource,
  secrets: FileSecrets,
  destination: string,
  options: DecryptToPathOptions = {},
): Promise<void> {
  const partial = partialPathOf(destination)
  const checkpoint = options.resume ? await checkpointFromPartial(backend, partial, secrets, source) : null
  const decryptor = await createFileDecryptor(
    backend,
    checkpoint === null ? { secrets } : { secrets, resume: checkpoint },
  )
  let done = checkpoint?.plaintextOffset ?? 0
  const total = secrets.size
  const onProgress = options.onProgress
  async function* progress(plaintext: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const piece of plaintext) {
      yield piece
      done += piece.length
      onProgress?.(done, total)
    }
  }
  const writer =
    checkpoint === null
      ? createWriteStream(partial, { flags: 'w' })
      : createWriteStream(partial, { flags: 'r+', start: checkpoint.plaintextOffset })
  try {
    await pipeline(
      source(checkpoint?.ciphertextOffset ?? 0),
      (blob: AsyncIterable<Uint8Array>) => progress(decryptChunks(decryptor, blob)),
      writer,
      { signal: options.signal },
    )
  } catch (error) {
    if (isIntegrityFailure(error)) await rm(partial, { force: true })
    throw error
  }
  await syncPath(partial, 'r+')
  await rename(partial, destination)
  // The rename itself is durable only once the directory entry is (POSIX fsync on the folder).
  await syncPath(dirname(destination), 'r').catch(() => undefined)
}

/** A BlobSource over a blob file on disk. */
export function fileBlobSource(path: string): BlobSource {
  return (offset) => createReadStream(path, { start: offset, highWaterMark: FILE_CHUNK_BYTES + 16 })
}
