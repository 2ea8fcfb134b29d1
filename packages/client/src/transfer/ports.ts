/**
 * What file transfer needs from the platform, behind two small interfaces so the transfer code
 * (`upload.ts`, `download.ts`) runs unchanged on Node and in browsers. Node's adapter is
 * `src/node/node-files.ts` (files on disk, the temporary-file-then-rename writer of
 * `src/files/`); a browser adapter reads a `Blob` and writes through the File System Access API
 * or an in-memory sink.
 */
import type { CryptoBackend } from '@tacit/crypto/backend'
import type { FileSecrets } from '@tacit/protocol/files/encryptor'

/** Called with bytes done and the total, both in bytes of the file itself. */
export type TransferProgress = (done: number, total: number) => void

/** A plaintext file to send: its size is known up front (the blob's size is declared first). */
export interface FileSource {
  readonly size: number
  /** The name offered to recipients (a base name, no folders). */
  readonly name: string
  /** RFC 6838 `type/subtype`, when the platform knows it. */
  readonly type?: string
  /**
   * Names this content while it is unchanged (Node: path, size, modification time, inode). An
   * interrupted upload is resumed only for the same conversation and the same identity, and
   * only after the part already sent hashes to the stored checkpoint.
   */
  readonly identity: string
  /** The bytes from `offset` to the end, in pieces of any size. */
  read(offset: number, signal?: AbortSignal): AsyncIterable<Uint8Array>
}

/** The encrypted blob from a byte offset (an HTTP range request to the server). */
export type BlobReader = (offset: number) => AsyncIterable<Uint8Array>

export interface FilePlatform {
  /** Opens a file to send by its platform name (Node: a path). */
  openSource(name: string): Promise<FileSource>
  /**
   * Decrypts the blob into `destination`. Nothing may appear at `destination` unless the whole
   * file decrypted and matched `secrets` (size, digest); a partial result of an interrupted call
   * is kept out of view and continued by the next call for the same destination. Integrity
   * failures throw the protocol's `FileError` and leave nothing behind.
   */
  decryptTo(
    backend: CryptoBackend,
    destination: string,
    secrets: FileSecrets,
    blob: BlobReader,
    options: { readonly onProgress?: TransferProgress; readonly signal?: AbortSignal },
  ): Promise<void>
}
