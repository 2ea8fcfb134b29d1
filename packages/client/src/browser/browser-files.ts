/**
 * Browser adapter for file transfer (`FilePlatform`, src/transfer/ports.ts). Files to send are
 * `Blob`s (a `File` from an `<input type="file">` or a drop), read in 64 KiB pieces from any
 * offset. A download is decrypted into memory and handed over as a `Blob` only after the
 * decryptor's `finish` — last chunk seen, content digest equal to the descriptor's — so nothing
 * unverified ever reaches the page (the same rule as Node's temporary-file-then-rename).
 *
 * Not done here (yet): resuming a download after an interruption (the verified part is dropped;
 * the next call starts over), and writing straight to disk through the File System Access API.
 */
import type { CryptoBackend } from '@tacit/crypto/backend'
import { createFileDecryptor } from '@tacit/protocol/files/decryptor'
import type { FileSecrets } from '@tacit/protocol/files/encryptor'
import { FILE_CHUNK_BYTES } from '@tacit/protocol/files/format'
import { decryptChunks } from '@tacit/protocol/files/stream'
import { ClientError } from '../errors.ts'
import type { BlobReader, FilePlatform, FileSource, TransferProgress } from '../transfer/ports.ts'

/** A download lives in memory until taken: above this, the page would risk the tab's memory. */
export const MAX_BROWSER_DOWNLOAD_BYTES = 1024 * 1024 * 1024
/** Finished downloads not yet taken by the page; the oldest is dropped beyond this. */
export const MAX_PENDING_DOWNLOADS = 16
/** Files registered with `add` and not yet sent. */
export const MAX_REGISTERED_SOURCES = 64

export interface BrowserFiles {
  readonly platform: FilePlatform
  /** A source over a Blob or File, to pass to `client.sendFile(conversation, source)`. */
  source(file: Blob, name?: string): FileSource
  /** Registers a file under a fresh name that `client.sendFile(conversation, name)` accepts. */
  add(file: Blob, name?: string): string
  /**
   * The verified file that `client.downloadFile(…, destination)` wrote, handed over once
   * (`URL.createObjectURL(blob)` to show or save it).
   */
  take(destination: string): Blob | undefined
  /** Forgets registered files and finished downloads (on lock). */
  clear(): void
}

function nameOf(file: Blob, name: string | undefined): string {
  if (name !== undefined) return name
  const own = (file as { name?: unknown }).name
  return typeof own === 'string' && own !== '' ? own : 'file'
}

/** Pieces of at most FILE_CHUNK_BYTES from `offset` to the end of `file`. */
async function* readBlob(file: Blob, offset: number, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  for (let at = offset; at < file.size; at += FILE_CHUNK_BYTES) {
    signal?.throwIfAborted()
    yield new Uint8Array(await file.slice(at, Math.min(at + FILE_CHUNK_BYTES, file.size)).arrayBuffer())
  }
}

export function sourceOfBlob(file: Blob, name?: string): FileSource {
  const lastModified = (file as { lastModified?: unknown }).lastModified
  const fileName = nameOf(file, name)
  return {
    size: file.size,
    name: fileName,
    ...(file.type !== '' ? { type: file.type } : {}),
    // Same name, size and modification time: an interrupted upload may resume, and only after
    // the part already sent hashes to the stored checkpoint (transfer/upload.ts).
    identity: `browser\0${fileName}\0${file.size}\0${typeof lastModified === 'number' ? lastModified : 0}`,
    read: (offset, signal) => readBlob(file, offset, signal),
  }
}

async function decryptToBlob(
  backend: CryptoBackend,
  secrets: FileSecrets,
  blob: BlobReader,
  options: { readonly onProgress?: TransferProgress; readonly signal?: AbortSignal },
): Promise<Blob> {
  if (secrets.size > MAX_BROWSER_DOWNLOAD_BYTES) {
    throw new ClientError(
      'too-large',
      `files above ${MAX_BROWSER_DOWNLOAD_BYTES} bytes are not downloaded in a browser`,
    )
  }
  const decryptor = await createFileDecryptor(backend, { secrets })
  const parts: Uint8Array<ArrayBuffer>[] = []
  let done = 0
  for await (const piece of decryptChunks(decryptor, blob(0))) {
    options.signal?.throwIfAborted()
    parts.push(new Uint8Array(piece))
    done += piece.length
    options.onProgress?.(done, secrets.size)
  }
  // decryptChunks ended without throwing: finish() checked the last chunk and the digest.
  return new Blob(parts)
}

export function browserFiles(): BrowserFiles {
  const sources = new Map<string, FileSource>()
  const downloads = new Map<string, Blob>()
  let counter = 0
  const platform: FilePlatform = {
    async openSource(name) {
      const source = sources.get(name)
      if (source === undefined) {
        throw new ClientError(
          'usage',
          'no file registered under this name: use files.add(file) or files.source(file)',
        )
      }
      return source
    },
    async decryptTo(backend, destination, secrets, blob, options) {
      const file = await decryptToBlob(backend, secrets, blob, options)
      downloads.delete(destination)
      if (downloads.size >= MAX_PENDING_DOWNLOADS) {
        const oldest = downloads.keys().next()
        if (!oldest.done) downloads.delete(oldest.value)
      }
      downloads.set(destination, file)
    },
  }
  return {
    platform,
    source: (file, name) => sourceOfBlob(file, name),
    add(file, name) {
      if (sources.size >= MAX_REGISTERED_SOURCES) {
        throw new ClientError('too-large', `at most ${MAX_REGISTERED_SOURCES} files waiting to be sent`)
      }
      counter += 1
      const key = `browser-file-${counter}`
      sources.set(key, sourceOfBlob(file, name))
      return key
    },
    take(destination) {
      const file = downloads.get(destination)
      downloads.delete(destination)
      return file
    },
    clear() {
      sources.clear()
      downloads.clear()
    },
  }
}
