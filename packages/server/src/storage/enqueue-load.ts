/**
 * A bounded load generator for `Storage.enqueue`, for benchmarks and quick throughput checks (not
 * for tests: timings belong in benchmarks). It keeps `inFlight` single-envelope calls outstanding,
 * as a relay with many connected senders does, so group commit sees realistic batches.
 */
import { randomBytes } from 'node:crypto'
import type { DeviceId, Storage } from './storage.ts'

export interface EnqueueLoad {
  readonly mailboxes: readonly DeviceId[]
  /** Envelopes to store in total (bounded: at most 10 million). */
  readonly envelopes: number
  readonly payloadBytes: number
  /** Calls outstanding at once. */
  readonly inFlight: number
  readonly now: number
  readonly ttlMs: number
}

export interface EnqueueLoadResult {
  readonly stored: number
  readonly seconds: number
  readonly perSecond: number
}

export const MAX_LOAD_ENVELOPES = 10_000_000

export async function runEnqueueLoad(storage: Storage, load: EnqueueLoad): Promise<EnqueueLoadResult> {
  const total = Math.min(load.envelopes, MAX_LOAD_ENVELOPES)
  const payload = new Uint8Array(randomBytes(load.payloadBytes))
  let issued = 0
  let stored = 0
  const started = process.hrtime.bigint()
  const worker = async (): Promise<void> => {
    while (issued < total) {
      const i = issued++
      const mailbox = load.mailboxes[i % load.mailboxes.length]!
      await storage.enqueue([{ mailboxes: [mailbox], payload, expiresAt: load.now + load.ttlMs }], load.now)
      stored++
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, load.inFlight) }, worker))
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  return { stored, seconds, perSecond: stored / seconds }
}
