import { CONTENT_DIGEST_BYTES } from './content-digest.ts'
import { FileError } from './errors.ts'
import {
  chunkCiphertextOffset,
  decodeFileHeader,
  FILE_CHUNK_BYTES,
  FILE_HEADER_BYTES,
  type FileLayout,
} from './format.ts'

/**
 * Where an interrupted upload or download stands, at a chunk boundary (docs/protocol/files.md
 * §7). `digestState` is a hash of the plaintext before `chunkIndex`: keep it as private as the
 * file (in the encrypted local store), never in logs.
 */
export interface FileCheckpoint {
  /** The next chunk to seal or open. */
  readonly chunkIndex: number
  /** The blob's 16-byte header (public: the server has it). */
  readonly header: Uint8Array
  /** The content-digest chain value c_k before chunk `chunkIndex` (content-digest.ts). */
  readonly digestState: Uint8Array
  /** Real plaintext bytes before chunk `chunkIndex`: where to resume reading or writing it. */
  readonly plaintextOffset: number
  /** Blob bytes before chunk `chunkIndex`: where to resume uploading or downloading. */
  readonly ciphertextOffset: number
}

export function makeCheckpoint(
  layout: FileLayout,
  chunkIndex: number,
  header: Uint8Array,
  digestState: Uint8Array,
): FileCheckpoint {
  return {
    chunkIndex,
    header: header.slice(),
    digestState: digestState.slice(),
    plaintextOffset: Math.min(layout.size, chunkIndex * FILE_CHUNK_BYTES),
    // Every chunk before the last is full; after the last (possibly short) chunk the offset is
    // the end of the blob, not one more full chunk.
    ciphertextOffset:
      chunkIndex === 0
        ? 0
        : chunkIndex >= layout.chunkCount
          ? layout.ciphertextSize
          : chunkCiphertextOffset(chunkIndex),
  }
}

/** Checks a checkpoint a caller hands back (it may come from storage) against the layout. */
export function checkCheckpoint(layout: FileLayout, checkpoint: FileCheckpoint): void {
  const { chunkIndex, header, digestState } = checkpoint
  if (!Number.isSafeInteger(chunkIndex) || chunkIndex < 0 || chunkIndex > layout.chunkCount) {
    throw new FileError('misuse', 'checkpoint chunk index out of range')
  }
  if (!(header instanceof Uint8Array) || header.length !== FILE_HEADER_BYTES) {
    throw new FileError('misuse', 'checkpoint header must be 16 bytes')
  }
  decodeFileHeader(header)
  if (!(digestState instanceof Uint8Array) || digestState.length !== CONTENT_DIGEST_BYTES) {
    throw new FileError('misuse', 'checkpoint digest state must be 32 bytes')
  }
}
