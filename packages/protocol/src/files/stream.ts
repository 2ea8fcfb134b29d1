/**
 * Async-iterable plumbing over the encryptor and decryptor: pure (no I/O), so the same code
 * drives Node streams (packages/client/src/files/) and browser ReadableStreams. Each generator
 * holds at most one chunk and yields as soon as one is ready, so a consumer that awaits its
 * writes gets backpressure for free.
 */
import type { FileDecryptor } from './decryptor.ts'
import type { FileEncryptor } from './encryptor.ts'

/**
 * Yields the blob of `source`: the header (unless resuming past it), every sealed chunk, the
 * encrypted padding. Call `encryptor.finish()` afterwards for the descriptor's values.
 */
export async function* encryptChunks(
  encryptor: FileEncryptor,
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<Uint8Array, void, undefined> {
  if (encryptor.checkpoint().ciphertextOffset === 0) yield encryptor.header
  for await (const piece of source) {
    for (const chunk of await encryptor.push(piece)) yield chunk
  }
  for (;;) {
    const chunk = await encryptor.nextPaddingChunk()
    if (chunk === null) return
    yield chunk
  }
}

/**
 * Yields the real plaintext of the blob bytes in `source`, and ends by calling
 * `decryptor.finish()`: a consumer that reaches the end of the loop without an exception has the
 * whole, authentic file; one that sees an exception must discard what it received.
 */
export async function* decryptChunks(
  decryptor: FileDecryptor,
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<Uint8Array, void, undefined> {
  for await (const piece of source) {
    for (const chunk of await decryptor.push(piece)) yield chunk
  }
  await decryptor.finish()
}
