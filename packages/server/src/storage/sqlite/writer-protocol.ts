/**
 * Messages between the SQLite storage on the main thread and its writer thread. A batch crosses
 * as ONE transferred ArrayBuffer in a small binary layout (below), and its results come back the
 * same way: no structured clone of per-call objects, strings and bigints in either direction.
 * Errors, rare, cross as (code, message) objects and become StorageErrors again on arrival.
 *
 * Batch layout (big-endian; strings as u16 length + UTF-16 code units, so any string round-trips):
 *   u32 calls, then per call
 *     u8 1 (enqueue) ‖ f64 now ‖ u16 requests ‖ per request:
 *        f64 expiresAt ‖ u16 mailboxes ‖ mailbox strings ‖ u32 payload length ‖ payload
 *     u8 2 (ack) ‖ device id string ‖ u16 seqs ‖ u64 each
 * Results layout: per call
 *     u8 1 (accepted enqueue) ‖ u16 requests ‖ per request: u16 seqs ‖ f64 each
 *     u8 2 (ack) ‖ u32 removed
 *     u8 0 (refused) ‖ u16 index into the reply's `errors`
 */
import type { Settled, WriteCall } from '../group-commit.ts'
import { StorageError, type StorageErrorCode } from '../storage.ts'

export interface WriterInit {
  readonly path: string
  readonly busyTimeoutMs: number
  readonly synchronous: 'FULL' | 'NORMAL'
  readonly capacity: number
  /** The writer connection's page cache, in KiB (`cache_size = -N`). */
  readonly cacheKiB: number
  /** WAL pages after which the writer's commit checkpoints (`wal_autocheckpoint`). */
  readonly checkpointPages: number
}

/** The writer connection's settings as SQLite reports them once applied. */
export interface WriterSettings {
  readonly cacheKiB: number
  readonly checkpointPages: number
  readonly synchronous: 'FULL' | 'NORMAL' | 'OTHER'
}

export interface BatchMessage {
  readonly id: number
  /** The calls, in the batch layout above; transferred. */
  readonly calls: ArrayBuffer
}

export interface WireError {
  readonly code: StorageErrorCode
  readonly message: string
}

export type WorkerReply =
  | { readonly type: 'ready'; readonly settings: WriterSettings }
  | { readonly type: 'open-failed'; readonly error: WireError }
  | {
      readonly type: 'done'
      readonly id: number
      /** One result per call, in the results layout above; transferred. */
      readonly results: ArrayBuffer
      readonly errors: readonly WireError[]
    }
  | { readonly type: 'failed'; readonly id: number; readonly error: WireError }

export type WorkerCommand =
  | { readonly type: 'batch'; readonly batch: BatchMessage }
  | { readonly type: 'close' }

const CALL_ENQUEUE = 1
const CALL_ACK = 2
const RESULT_REFUSED = 0
const RESULT_ENQUEUED = 1
const RESULT_ACKED = 2

/** Storage validated every string (`validate.ts`: at most MAX_DEVICE_ID_CHARS); u16 bounds it again. */
const MAX_STRING_UNITS = 0xffff

const stringBytes = (s: string) => 2 + 2 * s.length

/** A cursor over a DataView: both directions use it. */
class Cursor {
  at = 0
  readonly view: DataView
  readonly bytes: Uint8Array
  constructor(buffer: ArrayBuffer) {
    this.view = new DataView(buffer)
    this.bytes = new Uint8Array(buffer)
  }
  u8(v: number): void {
    this.view.setUint8(this.at, v)
    this.at += 1
  }
  u16(v: number): void {
    this.view.setUint16(this.at, v)
    this.at += 2
  }
  u32(v: number): void {
    this.view.setUint32(this.at, v)
    this.at += 4
  }
  f64(v: number): void {
    this.view.setFloat64(this.at, v)
    this.at += 8
  }
  u64(v: bigint): void {
    this.view.setBigUint64(this.at, v)
    this.at += 8
  }
  string(s: string): void {
    if (s.length > MAX_STRING_UNITS) throw new StorageError('invalid-argument', 'a string is too long')
    this.u16(s.length)
    for (let i = 0; i < s.length; i++) this.u16(s.charCodeAt(i))
  }
  readU8(): number {
    return this.view.getUint8(this.at++)
  }
  readU16(): number {
    const v = this.view.getUint16(this.at)
    this.at += 2
    return v
  }
  readU32(): number {
    const v = this.view.getUint32(this.at)
    this.at += 4
    return v
  }
  readF64(): number {
    const v = this.view.getFloat64(this.at)
    this.at += 8
    return v
  }
  readU64(): bigint {
    const v = this.view.getBigUint64(this.at)
    this.at += 8
    return v
  }
  readString(): string {
    const n = this.readU16()
    const units = new Array<number>(n)
    for (let i = 0; i < n; i++) units[i] = this.readU16()
    return String.fromCharCode.apply(null, units)
  }
}

/** Encodes a batch's calls into one buffer (payloads copied once, as cloning would). */
export function encodeBatch(id: number, calls: readonly WriteCall[]): BatchMessage {
  let size = 4
  for (const c of calls) {
    if (c.kind === 'ack') {
      size += 1 + stringBytes(c.deviceId) + 2 + 8 * c.seqs.length
      continue
    }
    size += 1 + 8 + 2
    for (const r of c.requests) {
      size += 8 + 2 + 4 + r.payload.length
      for (const m of r.mailboxes) size += stringBytes(m)
    }
  }
  const out = new Cursor(new ArrayBuffer(size))
  out.u32(calls.length)
  for (const c of calls) {
    if (c.kind === 'ack') {
      out.u8(CALL_ACK)
      out.string(c.deviceId)
      out.u16(c.seqs.length)
      for (const seq of c.seqs) out.u64(seq)
      continue
    }
    out.u8(CALL_ENQUEUE)
    out.f64(c.now)
    out.u16(c.requests.length)
    for (const r of c.requests) {
      out.f64(r.expiresAt)
      out.u16(r.mailboxes.length)
      for (const m of r.mailboxes) out.string(m)
      out.u32(r.payload.length)
      out.bytes.set(r.payload, out.at)
      out.at += r.payload.length
    }
  }
  return { id, calls: out.view.buffer as ArrayBuffer }
}

/** The calls of a batch; payloads are views into the batch's buffer (no copy). */
export function decodeBatch(batch: BatchMessage): WriteCall[] {
  const r = new Cursor(batch.calls)
  const count = r.readU32()
  const calls: WriteCall[] = []
  for (let i = 0; i < count; i++) {
    if (r.readU8() === CALL_ACK) {
      const deviceId = r.readString()
      const n = r.readU16()
      const seqs: bigint[] = []
      for (let k = 0; k < n; k++) seqs.push(r.readU64())
      calls.push({ kind: 'ack', deviceId, seqs })
      continue
    }
    const now = r.readF64()
    const n = r.readU16()
    const requests: { mailboxes: string[]; expiresAt: number; payload: Uint8Array }[] = []
    for (let k = 0; k < n; k++) {
      const expiresAt = r.readF64()
      const m = r.readU16()
      const mailboxes: string[] = []
      for (let j = 0; j < m; j++) mailboxes.push(r.readString())
      const length = r.readU32()
      requests.push({ mailboxes, expiresAt, payload: new Uint8Array(batch.calls, r.at, length) })
      r.at += length
    }
    calls.push({ kind: 'enqueue', now, requests })
  }
  return calls
}

/** Encodes one batch's results; refused calls' errors go to `errors`. */
export function encodeResults(results: readonly Settled<bigint[][] | number>[]): {
  results: ArrayBuffer
  errors: WireError[]
} {
  let size = 0
  for (const r of results) {
    if (!r.ok) size += 1 + 2
    else if (typeof r.value === 'number') size += 1 + 4
    else {
      size += 1 + 2
      for (const seqs of r.value) size += 2 + 8 * seqs.length
    }
  }
  const out = new Cursor(new ArrayBuffer(size))
  const errors: WireError[] = []
  for (const r of results) {
    if (!r.ok) {
      out.u8(RESULT_REFUSED)
      out.u16(errors.length)
      errors.push(toWireError(r.error))
    } else if (typeof r.value === 'number') {
      out.u8(RESULT_ACKED)
      out.u32(r.value)
    } else {
      out.u8(RESULT_ENQUEUED)
      out.u16(r.value.length)
      for (const seqs of r.value) {
        out.u16(seqs.length)
        // Seqs are below 2^53 (storage assigns them as numbers): exact as f64.
        for (const seq of seqs) out.f64(Number(seq))
      }
    }
  }
  return { results: out.view.buffer as ArrayBuffer, errors }
}

export function decodeResults(
  results: ArrayBuffer,
  errors: readonly WireError[],
): Settled<bigint[][] | number>[] {
  const r = new Cursor(results)
  const out: Settled<bigint[][] | number>[] = []
  while (r.at < results.byteLength) {
    const kind = r.readU8()
    if (kind === RESULT_ACKED) out.push({ ok: true, value: r.readU32() })
    else if (kind === RESULT_ENQUEUED) {
      const n = r.readU16()
      const value: bigint[][] = []
      for (let i = 0; i < n; i++) {
        const m = r.readU16()
        const seqs: bigint[] = []
        for (let k = 0; k < m; k++) seqs.push(BigInt(r.readF64()))
        value.push(seqs)
      }
      out.push({ ok: true, value })
    } else {
      const error = errors[r.readU16()]
      out.push({
        ok: false,
        error: fromWireError(error ?? { code: 'unavailable', message: 'the database failed' }),
      })
    }
  }
  return out
}

/** `StorageError.message` is "<code>: <message>"; only the message part travels. */
export function toWireError(error: unknown): WireError {
  if (StorageError.is(error)) {
    const prefix = `${error.code}: `
    const message = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message
    return { code: error.code, message }
  }
  return { code: 'unavailable', message: 'the database failed' }
}

export function fromWireError(error: WireError): StorageError {
  return new StorageError(error.code, error.message)
}
