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

/** One buffer holding each payload as its own binary message, in order. */
export function frameBinaryMessages(payloads: readonly Uint8Array[]): Buffer {
  let total = 0
  for (const p of payloads) total += frameHeaderSize(p.length) + p.length
  const out = Buffer.allocUnsafe(total)
  let at = 0
  for (const p of payloads) {
    out[at++] = FIN_BINARY
    if (p.length < 126) {
      out[at++] = p.length
    } else if (p.length < 0x10000) {
      out[at++] = 126
      out.writeUInt16BE(p.length, at)
      at += 2
    } else {
      out[at++] = 127
      // Frames are at most MAX_FRAME_BYTES (a few MiB): the high 32 bits are 0.
      out.writeUInt32BE(0, at)
      out.writeUInt32BE(p.length, at + 4)
      at += 8
    }
    out.set(p, at)
    at += p.length
  }
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
