/**
 * Bounded retries for transfer requests: a dropped connection or a busy server is worth a few
 * more attempts (uploads resume at the server's offset, downloads at the byte reached), anything
 * else is an answer and is thrown at once.
 */
import { ClientError } from '../errors.ts'
import { MAX_TRANSFER_RETRIES, TRANSFER_RETRY_MIN_MS } from '../limits.ts'

/** True for failures that say nothing about the request itself: try again. */
export function isTransient(error: unknown): boolean {
  if (ClientError.is(error, 'network') || ClientError.is(error, 'timeout')) return true
  if (!ClientError.is(error, 'server')) return false
  const code = error.serverCode ?? ''
  return code === 'rate-limited' || code === 'unavailable' || /^http-5\d\d$/.test(code)
}

export function abortError(): ClientError {
  return new ClientError('closed', 'the transfer was cancelled')
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError())
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      reject(abortError())
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/** Runs `fn`, again after a growing pause on a transient failure, at most MAX_TRANSFER_RETRIES more times. */
export async function withTransferRetries<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    if (signal?.aborted) throw abortError()
    try {
      return await fn()
    } catch (error) {
      if (!isTransient(error) || attempt >= MAX_TRANSFER_RETRIES || signal?.aborted) throw error
      await sleep(TRANSFER_RETRY_MIN_MS * 2 ** attempt, signal)
    }
  }
}
