/**
 * Messages between the SQLite storage on the main thread and its writer thread. A batch's
 * payloads travel packed into one ArrayBuffer that is transferred, not cloned; the calls carry
 * offsets into it. Errors cross as (code, message) and become StorageErrors again on arrival.
 */
import type { Settled, WriteCall } from '../group-commit.ts'
import { StorageError, type StorageErrorCode } from '../storage.ts'

export interface WriterInit {
  readonly path: string
  readonly busyTimeoutMs: number
  readonly synchronous: 'FULL' | 'NORMAL'
  readonly capacity: number
}

type WireCall =
  | {
      readonly kind: 'enqueue'
      readonly now: number
      readonly requests: readonly {
        readonly mailboxes: readonly string[]
        readonly expiresAt: number
        readonly offset: number
        readonly length: number
      }[]
    }
  | { readonly kind: 'ack'; readonly deviceId: string; readonly seqs: readonly bigint[] }

export interface BatchMessage {
  readonly id: number
  readonly calls: readonly WireCall[]
  readonly payloads: ArrayBuffer
}

export interface WireError {
  readonly code: StorageErrorCode
  readonly message: string
}

export type WireSettled =
  | { readonly ok: true; readonly value: bigint[][] | number }
  | { readonly ok: false; readonly error: WireError }

export type WorkerReply =
  | { readonly type: 'ready' }
  | { readonly type: 'open-failed'; readonly error: WireError }
  | { readonly type: 'done'; readonly id: number; readonly results: readonly WireSettled[] }
  | { readonly type: 'failed'; readonly id: number; readonly error: WireError }

export type WorkerCommand =
  | { readonly type: 'batch'; readonly batch: BatchMessage }
  | { readonly type: 'close' }

/** Copies the batch's payloads into one transferable buffer (one copy each, as cloning would). */
export function encodeBatch(id: number, calls: readonly WriteCall[]): BatchMessage {
  let total = 0
  for (const c of calls) if (c.kind === 'enqueue') for (const r of c.requests) total += r.payload.length
  const packed = new Uint8Array(total)
  let offset = 0
  const wire: WireCall[] = calls.map((c) => {
    if (c.kind === 'ack') return c
    return {
      kind: 'enqueue',
      now: c.now,
      requests: c.requests.map((r) => {
        packed.set(r.payload, offset)
        const out = { mailboxes: r.mailboxes, expiresAt: r.expiresAt, offset, length: r.payload.length }
        offset += r.payload.length
        return out
      }),
    }
  })
  return { id, calls: wire, payloads: packed.buffer }
}

export function decodeBatch(batch: BatchMessage): WriteCall[] {
  return batch.calls.map((c) => {
    if (c.kind === 'ack') return c
    return {
      kind: 'enqueue',
      now: c.now,
      requests: c.requests.map((r) => ({
        mailboxes: r.mailboxes,
        expiresAt: r.expiresAt,
        payload: new Uint8Array(batch.payloads, r.offset, r.length),
      })),
    }
  })
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

export function toWireSettled(results: readonly Settled<bigint[][] | number>[]): WireSettled[] {
  return results.map((r) => (r.ok ? r : { ok: false, error: toWireError(r.error) }))
}

export function fromWireSettled(results: readonly WireSettled[]): Settled<bigint[][] | number>[] {
  return results.map((r) => (r.ok ? r : { ok: false, error: fromWireError(r.error) }))
}
