/**
 * The sending side of the file format (docs/protocol/files.md §6): plaintext in, sealed chunks
 * out, in constant memory (one 64 KiB buffer, a 32-byte digest chain value and a counter).
 * The caller writes `header`, then every chunk `push` returns, then every chunk
 * `nextPaddingChunk` returns until it returns null, then calls `finish` for the values that go
 * into the FileDescriptor. `encryptChunks` (stream.ts) does all of that over an async iterable.
 */
import type { CryptoBackend } from '@tacit/crypto/backend'
import { checkCheckpoint, type FileCheckpoint, makeCheckpoint } from './checkpoint.ts'
import { absorbChunk, finishDigest, initialDigestState } from './content-digest.ts'
import { FileError } from './errors.ts'
import {
  chunkNonce,
  chunkPlaintextBytes,
  decodeFileHeader,
  encodeFileHeader,
  FILE_CHUNK_BYTES,
  FILE_KEY_BYTES,
  FILE_NONCE_PREFIX_BYTES,
  type FileLayout,
  fileLayout,
} from './format.ts'

/** What the receiver needs to open the blob; it travels inside the MLS message (descriptor.ts). */
export interface FileSecrets {
  readonly key: Uint8Array
  readonly size: number
  readonly digest: Uint8Array
}

export interface FileEncryptorParams {
  /** Real size of the plaintext in bytes; the encryptor refuses more or fewer. */
  readonly size: number
  /**
   * Continue an interrupted upload from a checkpoint of the first run, with its key. The
   * plaintext fed from `checkpoint.plaintextOffset` on MUST be the same bytes as in the first
   * run: the same key and nonce over different plaintext would reuse a GCM nonce. Callers check
   * that the file did not change (its size, modification time, and the digest chain of the part
   * before the checkpoint) before resuming.
   */
  readonly resume?: { readonly key: Uint8Array; readonly checkpoint: FileCheckpoint }
  /** Test vectors only: a fixed key and nonce prefix instead of fresh CSPRNG output. */
  readonly unsafeFixedRandomness?: { readonly key: Uint8Array; readonly noncePrefix: Uint8Array }
}

export interface FileEncryptor {
  readonly layout: FileLayout
  /** The blob's first 16 bytes. */
  readonly header: Uint8Array
  /** The file key (also returned by `finish`): needed to resume an interrupted upload. */
  readonly key: Uint8Array
  /** Feeds the next plaintext bytes (any length); returns the chunks they complete, in order. */
  push(plaintext: Uint8Array): Promise<Uint8Array[]>
  /** After all `size` bytes: the next chunk of encrypted padding, or null once the blob is whole. */
  nextPaddingChunk(): Promise<Uint8Array | null>
  /** The last chunk boundary reached (for resuming an upload). */
  checkpoint(): FileCheckpoint
  /** Once every chunk was returned: the key, size and content digest. */
  finish(): Promise<FileSecrets>
}

function checkKey(key: unknown): Uint8Array {
  if (!(key instanceof Uint8Array) || key.length !== FILE_KEY_BYTES) {
    throw new FileError('misuse', `file key must be ${FILE_KEY_BYTES} bytes`)
  }
  return key
}

export async function createFileEncryptor(
  backend: CryptoBackend,
  params: FileEncryptorParams,
): Promise<FileEncryptor> {
  const layout = fileLayout(params.size)
  let key: Uint8Array
  let header: Uint8Array
  let index = 0
  let digestState: Uint8Array
  if (params.resume !== undefined && params.unsafeFixedRandomness !== undefined) {
    throw new FileError('misuse', 'resume and fixed randomness are exclusive')
  }
  if (params.resume !== undefined) {
    checkCheckpoint(layout, params.resume.checkpoint)
    key = checkKey(params.resume.key).slice()
    header = params.resume.checkpoint.header.slice()
    index = params.resume.checkpoint.chunkIndex
    digestState = params.resume.checkpoint.digestState.slice()
  } else {
    const fixed = params.unsafeFixedRandomness
    key = fixed === undefined ? backend.randomBytes(FILE_KEY_BYTES) : checkKey(fixed.key).slice()
    header = encodeFileHeader(
      fixed === undefined ? backend.randomBytes(FILE_NONCE_PREFIX_BYTES) : fixed.noncePrefix,
    )
    digestState = await initialDigestState(backend)
  }
  const { noncePrefix } = decodeFileHeader(header)
  const buffer = new Uint8Array(FILE_CHUNK_BYTES)
  let filled = 0
  let consumed = Math.min(layout.size, index * FILE_CHUNK_BYTES)
  let busy = false
  let failed = false

  /** Seals chunk `index` from `data` (its real bytes), zero-padding it in the buffer if needed. */
  async function sealChunk(data: Uint8Array): Promise<Uint8Array> {
    const plainLength = chunkPlaintextBytes(layout, index)
    if (data.length > 0) digestState = await absorbChunk(backend, digestState, data)
    let plaintext = data
    if (data.length < plainLength) {
      if (data.buffer !== buffer.buffer) buffer.set(data, 0)
      buffer.fill(0, data.length, plainLength)
      plaintext = buffer.subarray(0, plainLength)
    }
    const last = index === layout.chunkCount - 1
    const sealed = await backend.aead.seal(
      'AES-256-GCM',
      key,
      chunkNonce(noncePrefix, index, last),
      header,
      plaintext,
    )
    index++
    filled = 0
    return sealed
  }

  function sealBuffered(): Promise<Uint8Array> {
    return sealChunk(buffer.subarray(0, filled))
  }

  /** One call at a time; after any failure the encryptor refuses further work. */
  async function guarded<T>(work: () => Promise<T>): Promise<T> {
    if (failed) throw new FileError('misuse', 'the encryptor failed earlier and cannot continue')
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
    header,
    key,
    push: (plaintext) =>
      guarded(async () => {
        if (!(plaintext instanceof Uint8Array))
          throw new FileError('misuse', 'plaintext must be a Uint8Array')
        if (consumed + plaintext.length > layout.size) {
          throw new FileError('misuse', `more plaintext than the declared size ${layout.size}`)
        }
        const out: Uint8Array[] = []
        let offset = 0
        while (offset < plaintext.length) {
          // A whole chunk in the caller's bytes is sealed in place, without a copy.
          if (filled === 0 && plaintext.length - offset >= FILE_CHUNK_BYTES) {
            const take = Math.min(FILE_CHUNK_BYTES, layout.size - consumed)
            const whole = take === FILE_CHUNK_BYTES || consumed + take === layout.size
            if (whole) {
              consumed += take
              out.push(await sealChunk(plaintext.subarray(offset, offset + take)))
              offset += take
              continue
            }
          }
          const take = Math.min(FILE_CHUNK_BYTES - filled, plaintext.length - offset)
          buffer.set(plaintext.subarray(offset, offset + take), filled)
          filled += take
          offset += take
          consumed += take
          if (filled === FILE_CHUNK_BYTES || consumed === layout.size) out.push(await sealBuffered())
        }
        return out
      }),
    nextPaddingChunk: () =>
      guarded(async () => {
        if (consumed < layout.size) throw new FileError('misuse', 'padding before all plaintext was pushed')
        if (index >= layout.chunkCount) return null
        return sealBuffered()
      }),
    checkpoint: () => makeCheckpoint(layout, index, header, digestState),
    finish: () =>
      guarded(async () => {
        if (index < layout.chunkCount) throw new FileError('misuse', 'finish before every chunk was sealed')
        return {
          key: key.slice(),
          size: layout.size,
          digest: await finishDigest(backend, digestState, layout.size),
        }
      }),
  }
}
