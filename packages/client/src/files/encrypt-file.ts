/**
 * Node adapters that encrypt files on disk with the Tacit file format
 * (packages/protocol/src/files/, docs/protocol/files.md). Memory stays constant at any size: one
 * 64 KiB read buffer, the encryptor's one chunk, and the write stream's high-water mark, with
 * `pipeline` carrying backpressure from the disk (or the network) back to the reader.
 */
import { createReadStream, createWriteStream } from 'node:fs'
import { open, stat } from 'node:fs/promises'
import { pipeline } from 'node:stream/promises'
import type { CryptoBackend } from '@tacit/crypto/backend'
import type { FileCheckpoint } from '@tacit/protocol/files/checkpoint'
import { createFileEncryptor, type FileEncryptor, type FileSecrets } from '@tacit/protocol/files/encryptor'
import { FILE_CHUNK_BYTES } from '@tacit/protocol/files/format'
import { encryptChunks } from '@tacit/protocol/files/stream'

export interface FileProgress {
  /** Called after each chunk with the plaintext bytes handled so far and the file's size. */
  readonly onProgress?: (done: number, total: number) => void
  readonly signal?: AbortSignal
}

export interface FileEncryption {
  readonly encryptor: FileEncryptor
  /** The blob from `resume.checkpoint.ciphertextOffset` (or from 0) to its end. */
  readonly chunks: AsyncIterable<Uint8Array>
}

async function* counting(
  source: AsyncIterable<Uint8Array>,
  start: number,
  total: number,
  onProgress: ((done: number, total: number) => void) | undefined,
): AsyncGenerator<Uint8Array> {
  let done = start
  for await (const piece of source) {
    done += piece.length
    yield piece
    onProgress?.(done, total)
  }
}

/**
 * Encrypts an in-memory-sized or streamed plaintext of a known size. The source must yield
 * exactly `size` bytes; the encryptor refuses more and `finish` refuses fewer.
 */
export async function openStreamEncryption(
  backend: CryptoBackend,
  source: AsyncIterable<Uint8Array>,
  size: number,
  options: FileProgress & { readonly resume?: { key: Uint8Array; checkpoint: FileCheckpoint } } = {},
): Promise<FileEncryption> {
  const encryptor = await createFileEncryptor(
    backend,
    options.resume === undefined ? { size } : { size, resume: options.resume },
  )
  const start = options.resume?.checkpoint.plaintextOffset ?? 0
  return { encryptor, chunks: encryptChunks(encryptor, counting(source, start, size, options.onProgress)) }
}

/**
 * Encrypts the file at `path` for upload. With `resume`, reading starts at the checkpoint's
 * plaintext offset; the file must be unchanged since the first run (the caller checks size and
 * modification time; the digest at the end would catch a change, but only after a GCM nonce was
 * used twice — see FileEncryptorParams.resume).
 */
export async function openFileEncryption(
  backend: CryptoBackend,
  path: string,
  options: FileProgress & { readonly resume?: { key: Uint8Array; checkpoint: FileCheckpoint } } = {},
): Promise<FileEncryption> {
  const { size } = await stat(path)
  const start = options.resume?.checkpoint.plaintextOffset ?? 0
  const reader = createReadStream(path, { start, highWaterMark: FILE_CHUNK_BYTES, signal: options.signal })
  return openStreamEncryption(backend, reader, size, options)
}

/** Writes the blob of `source` to `outputPath` (fsynced) and returns the descriptor's secrets. */
export async function encryptStreamToPath(
  backend: CryptoBackend,
  source: AsyncIterable<Uint8Array>,
  size: number,
  outputPath: string,
  options: FileProgress = {},
): Promise<FileSecrets> {
  const { encryptor, chunks } = await openStreamEncryption(backend, source, size, options)
  await pipeline(chunks, createWriteStream(outputPath), { signal: options.signal })
  const handle = await open(outputPath, 'r+')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
  return encryptor.finish()
}

/** Encrypts the file at `inputPath` into a blob file at `outputPath`. */
export async function encryptFileToPath(
  backend: CryptoBackend,
  inputPath: string,
  outputPath: string,
  options: FileProgress = {},
): Promise<FileSecrets> {
  const { size } = await stat(inputPath)
  const reader = createReadStream(inputPath, { highWaterMark: FILE_CHUNK_BYTES, signal: options.signal })
  return encryptStreamToPath(backend, reader, size, outputPath, options)
}
