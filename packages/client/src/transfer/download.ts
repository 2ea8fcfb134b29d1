/**
 * Reading a blob from the server for decryption (docs/protocol/client.md §7): one HTTP request
 * from the wanted offset, and when the connection drops or stalls, a new range request from the
 * byte reached (RFC 9110 §14.1.2), at most MAX_TRANSFER_RETRIES times in a row without
 * progress. The bytes are untrusted: the decryptor authenticates every chunk and the whole file.
 */
import { ClientError } from '../errors.ts'
import { MAX_TRANSFER_RETRIES, TRANSFER_IDLE_TIMEOUT_MS, TRANSFER_RETRY_MIN_MS } from '../limits.ts'
import type { HttpApi } from '../net/http-api.ts'
import type { BlobReader } from './ports.ts'
import { abortError, isTransient, sleep } from './retry.ts'

async function* readFrom(
  api: HttpApi,
  blobId: string,
  start: number,
  outer: AbortSignal | undefined,
): AsyncGenerator<Uint8Array, void, undefined> {
  let position = start
  let failures = 0
  for (;;) {
    if (outer?.aborted) throw abortError()
    const controller = new AbortController()
    const onAbort = () => controller.abort()
    outer?.addEventListener('abort', onAbort, { once: true })
    let reader: ReadableStreamDefaultReader<Uint8Array> | null = null
    try {
      let failure: unknown = null
      try {
        reader = (await api.openBlob(blobId, position, controller.signal)).body.getReader()
      } catch (error) {
        // Resuming exactly at the end (the partial file already holds every chunk): nothing is
        // left to read, and the decryptor decides whether that is the whole file.
        if (position > 0 && ClientError.isServer(error, 'range-not-satisfiable')) return
        if (!isTransient(error)) throw error
        failure = error
      }
      while (reader !== null && failure === null) {
        let next: ReadableStreamReadResult<Uint8Array>
        const idle = setTimeout(() => controller.abort(), TRANSFER_IDLE_TIMEOUT_MS)
        try {
          next = await reader.read()
        } catch (error) {
          // A cut or stalled body: continue from `position` with a new range request.
          failure = new ClientError('network', 'the download was cut', { cause: error })
          break
        } finally {
          clearTimeout(idle)
        }
        if (next.done) return
        if (next.value.length === 0) continue
        position += next.value.length
        failures = 0
        yield next.value
      }
      if (outer?.aborted) throw abortError()
      failures++
      if (failures > MAX_TRANSFER_RETRIES) throw failure
      await sleep(TRANSFER_RETRY_MIN_MS * 2 ** (failures - 1), outer)
    } finally {
      outer?.removeEventListener('abort', onAbort)
      controller.abort()
      reader?.releaseLock()
    }
  }
}

/** A `BlobReader` over the server's blob download (Range requests, retried where it stopped). */
export function httpBlobReader(api: HttpApi, blobId: string, signal?: AbortSignal): BlobReader {
  return (offset) => readFrom(api, blobId, offset, signal)
}
