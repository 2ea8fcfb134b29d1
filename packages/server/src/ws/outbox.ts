/**
 * The frames a connection writes in one turn of the event loop, framed as WebSocket messages
 * and written to the socket as ONE buffer after the turn's I/O phase: the `send-ok`s and
 * `deliver`s one group commit releases and the `ack-ok`s go out in one `write` per socket instead
 * of one `ws.send` (a header buffer, an options object, two queued chunks) per frame.
 *
 * RFC 6455 §5.2 framing of a server-to-client binary message in one frame: byte 0 = FIN (0x80) |
 * opcode 0x2 (binary); byte 1 = payload length (no mask bit: §5.1, a server never masks) — < 126
 * as is, else 126 + 16-bit length, else 127 + 64-bit length, network byte order (§5.2).
 * No extensions are negotiated (no permessage-deflate), so RSV1–3 are 0.
 */

/** An outbox flushes early once it holds this many bytes, so one turn never buffers without bound. */
export const MAX_OUTBOX_BYTES = 256 * 1024

const FIN_BINARY = 0x82

/** Header bytes of an unmasked frame carrying `length` bytes. */
export function frameHeaderSize(length: number): number {
  return length < 126 ? 2 : length < 0x10000 ? 4 : 10
}

/** Writes the header of an unmasked binary message of `length` bytes at `at`; returns the offset after it. */
export function writeFrameHeader(out: Uint8Array, at: number, length: number): number {
  out[at++] = FIN_BINARY
  if (length < 126) {
    out[at++] = length
  } else if (length < 0x10000) {
    out[at++] = 126
    out[at++] = length >>> 8
    out[at++] = length & 0xff
  } else {
    out[at++] = 127
    // Frames are at most MAX_FRAME_BYTES (a few MiB): the high 32 bits are 0.
    out[at++] = 0
    out[at++] = 0
    out[at++] = 0
    out[at++] = 0
    out[at++] = length >>> 24
    out[at++] = (length >>> 16) & 0xff
    out[at++] = (length >>> 8) & 0xff
    out[at++] = length & 0xff
  }
  return at
}

/** One buffer holding each payload as its own binary message, in order. */
export function frameBinaryMessages(payloads: readonly Uint8Array[]): Buffer {
  let total = 0
  for (const p of payloads) total += frameHeaderSize(p.length) + p.length
  const out = takeWriteBuffer(total)
  let at = 0
  for (const p of payloads) {
    at = writeFrameHeader(out, at, p.length)
    out.set(p, at)
    at += p.length
  }
  return out
}

/**
 * Write buffers are cut from a slab instead of allocated one by one (as Node's own Buffer pool
 * does, but for writes up to a quarter of the slab, not 4 KiB). A slab is never reused: once
 * full, the next one is allocated and the old one is freed by the garbage collector when the
 * last write cut from it is done with it, so a buffer still queued in a slow socket is never
 * overwritten.
 */
const SLAB_BYTES = 256 * 1024
const MAX_SLAB_CUT = SLAB_BYTES / 4
let slab = Buffer.allocUnsafeSlow(SLAB_BYTES)
let slabUsed = 0

/** A buffer of exactly `length` bytes, uninitialised: the caller overwrites all of it. */
export function takeWriteBuffer(length: number): Buffer {
  if (length > MAX_SLAB_CUT) return Buffer.allocUnsafeSlow(length)
  if (slabUsed + length > SLAB_BYTES) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES)
    slabUsed = 0
  }
  const out = slab.subarray(slabUsed, slabUsed + length)
  // Keep cuts 8-byte aligned.
  slabUsed += (length + 7) & ~7
  return out
}

export interface OutboxOwner {
  /** Writes what the outbox holds (called once per turn, or early when it is full). */
  flushOutbox(): void
}

/** Owners with frames waiting, flushed together after the current I/O phase. */
const waiting: OutboxOwner[] = []

export function flushAfterThisTurn(owner: OutboxOwner): void {
  waiting.push(owner)
  if (waiting.length === 1) setImmediate(flushWaiting)
}

function flushWaiting(): void {
  for (const owner of waiting.splice(0)) owner.flushOutbox()
}

/** Bound of the policy's `ackReplyDelayMs`: a client waits at most this long for an `ack-ok`. */
export const MAX_ACK_REPLY_DELAY_MS = 1_000

/**
 * Owners whose outbox holds only frames that may wait (`ack-ok`; decision 0021), each flushed by
 * a deadline `delayMs` after its first such frame. The frame leaves earlier with the owner's next
 * frame that may not wait — on a busy connection most often a `deliver` or a `send-ok` — which
 * saves one socket write here and one read at the client; an idle connection gets it at the
 * deadline. Every owner waits the same delay, so deadlines are in insertion order: the timer
 * looks only at the oldest, and one firing flushes every owner due within the next eighth of
 * the delay, so the timer runs at most about eight times per delay however many owners wait.
 */
export class DeferredFlush {
  readonly delayMs: number
  readonly #now: () => number
  /** Owner -> deadline (`#now()` ms), oldest first. */
  readonly #due = new Map<OutboxOwner, number>()
  #timer: NodeJS.Timeout | null = null

  /** `now`: a monotonic clock in ms (tests pass their own). */
  constructor(delayMs: number, now: () => number = () => performance.now()) {
    this.delayMs = Math.min(Math.max(0, delayMs), MAX_ACK_REPLY_DELAY_MS)
    this.#now = now
  }

  get size(): number {
    return this.#due.size
  }

  /** Flush `owner` by the deadline unless it flushes before; an owner already waiting keeps its deadline. */
  add(owner: OutboxOwner): void {
    if (this.#due.has(owner)) return
    this.#due.set(owner, this.#now() + this.delayMs)
    if (this.#timer === null) this.#arm()
  }

  /** The owner flushed or closed: its deadline is void. */
  remove(owner: OutboxOwner): void {
    this.#due.delete(owner)
  }

  #arm(): void {
    const oldest = this.#due.values().next()
    if (oldest.done) return
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, oldest.value - this.#now()))
    // A reply waiting here does not keep the process alive on its own; its socket does.
    this.#timer.unref()
  }

  #fire(): void {
    this.#timer = null
    const until = this.#now() + this.delayMs / 8
    for (const [owner, due] of this.#due) {
      if (due > until) break
      // flushOutbox calls remove(owner); deleting the entry being visited is safe in a Map.
      this.#due.delete(owner)
      owner.flushOutbox()
    }
    this.#arm()
  }
}
