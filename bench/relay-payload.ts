/**
 * The envelope `bench:relay` sends, opaque to every server:
 * [phase u32][sender u32][counter u32][send lag u32, µs from the scheduled time to the send call]
 * [scheduled time f64, ms since the epoch][random bytes up to the envelope size].
 */
import { randomBytes } from 'node:crypto'

export const HEADER_BYTES = 24
/** Longest send lag the payload can carry (µs in a u32): ~71 minutes, longer than any phase. */
const MAX_LAG_US = 0xffffffff

/**
 * What follows the header: random bytes, because a real envelope is ciphertext and does not
 * compress. Zeros did, and PostgreSQL compressed every payload over ~2 KB (pglz) into a short
 * inline value, which real ciphertext never allows (docs/benchmarks.md, Relay, ninth round). One
 * random block, made once per process, is copied from a different offset for each envelope: the
 * copy costs the generator far less than the CSPRNG would, and no envelope repeats within itself.
 */
const NOISE = randomBytes(1 << 17)

export interface PayloadHeader {
  readonly phase: number
  readonly sender: number
  readonly counter: number
  /** ms since the epoch */
  readonly scheduled: number
}

/** `sentAt` (ms since the epoch) fixes the send lag the payload carries. */
export function makePayload(size: number, header: PayloadHeader, sentAt: number): Uint8Array {
  if (!Number.isInteger(size) || size < HEADER_BYTES)
    throw new RangeError(`size: an integer of at least ${HEADER_BYTES}`)
  const payload = new Uint8Array(size)
  let from = (header.counter * 4099 + header.sender * 131) % NOISE.length
  for (let at = HEADER_BYTES; at < size; from = 0) {
    const n = Math.min(size - at, NOISE.length - from)
    payload.set(NOISE.subarray(from, from + n), at)
    at += n
  }
  const view = new DataView(payload.buffer)
  view.setUint32(0, header.phase)
  view.setUint32(4, header.sender)
  view.setUint32(8, header.counter)
  view.setUint32(12, Math.min(MAX_LAG_US, Math.max(0, Math.round((sentAt - header.scheduled) * 1000))))
  view.setFloat64(16, header.scheduled)
  return payload
}

export interface ReadHeader extends PayloadHeader {
  /** ms from the scheduled time to the send call */
  readonly sendLagMs: number
}

export function readHeader(payload: Uint8Array): ReadHeader | null {
  if (payload.length < HEADER_BYTES) return null
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength)
  return {
    phase: view.getUint32(0),
    sender: view.getUint32(4),
    counter: view.getUint32(8),
    sendLagMs: view.getUint32(12) / 1000,
    scheduled: view.getFloat64(16),
  }
}
