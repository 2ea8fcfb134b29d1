/**
 * The file's content digest (docs/protocol/files.md §5): SHA-256 chained over the 64 KiB chunks
 * of the real plaintext, closed with the size.
 *
 *   c_0     = SHA-256("Tacit file digest v1")
 *   c_(i+1) = SHA-256(0x00 ‖ c_i ‖ P_i)        for each chunk P_i of real bytes, i < m = ceil(L / C)
 *   digest  = SHA-256(0x01 ‖ c_m ‖ uint64 L)
 *
 * Why not SHA-256 of the whole plaintext: WebCrypto has no incremental digest and the backend's
 * `hash.digest` is one-shot, so a plain SHA-256 of a 2 GiB file could not be computed in constant
 * memory through the backend in a browser; and the chain value c_i is 32 bytes that a resumed
 * upload or download carries from one run to the next (a hash object's internal state cannot be
 * saved). Collision resistance follows from SHA-256's by the Merkle–Damgård argument: chunk
 * boundaries are fixed by L, which the final step binds. Decision record 0008 has the details.
 */
import type { CryptoBackend } from '@tacit/crypto/backend'
import { utf8 } from '@tacit/crypto/bytes'
import { FileError } from './errors.ts'
import { FILE_CHUNK_BYTES } from './format.ts'

export const CONTENT_DIGEST_BYTES = 32
const INITIAL_LABEL = utf8.encode('Tacit file digest v1')

/** c_0: the chain value before any chunk. */
export async function initialDigestState(backend: CryptoBackend): Promise<Uint8Array> {
  return backend.hash.digest('SHA-256', INITIAL_LABEL)
}

/** c_(i+1) from c_i and the real bytes of chunk i (a whole chunk, or the last, shorter one). */
export async function absorbChunk(
  backend: CryptoBackend,
  state: Uint8Array,
  chunk: Uint8Array,
): Promise<Uint8Array> {
  if (state.length !== CONTENT_DIGEST_BYTES) throw new FileError('misuse', 'digest state must be 32 bytes')
  if (chunk.length === 0 || chunk.length > FILE_CHUNK_BYTES)
    throw new FileError('misuse', 'chunk length out of range')
  const input = new Uint8Array(1 + CONTENT_DIGEST_BYTES + chunk.length)
  input[0] = 0x00
  input.set(state, 1)
  input.set(chunk, 1 + CONTENT_DIGEST_BYTES)
  return backend.hash.digest('SHA-256', input)
}

/** The digest from the last chain value and the real size. */
export async function finishDigest(
  backend: CryptoBackend,
  state: Uint8Array,
  size: number,
): Promise<Uint8Array> {
  if (state.length !== CONTENT_DIGEST_BYTES) throw new FileError('misuse', 'digest state must be 32 bytes')
  const input = new Uint8Array(1 + CONTENT_DIGEST_BYTES + 8)
  input[0] = 0x01
  input.set(state, 1)
  new DataView(input.buffer).setBigUint64(1 + CONTENT_DIGEST_BYTES, BigInt(size))
  return backend.hash.digest('SHA-256', input)
}

/** The digest of a whole plaintext held in memory (tests, small files). */
export async function computeContentDigest(
  backend: CryptoBackend,
  plaintext: Uint8Array,
): Promise<Uint8Array> {
  let state = await initialDigestState(backend)
  for (let offset = 0; offset < plaintext.length; offset += FILE_CHUNK_BYTES) {
    state = await absorbChunk(backend, state, plaintext.subarray(offset, offset + FILE_CHUNK_BYTES))
  }
  return finishDigest(backend, state, plaintext.length)
}
