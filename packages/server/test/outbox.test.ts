/**
 * The outbox frames messages itself (RFC 6455 §5.2); `ws`'s own sender is the reference: for
 * every length class the bytes must be exactly what `ws` would have written, one frame after the
 * other, and `ws`'s receiver must read them back as the same messages.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import type { EventEmitter } from 'node:events'
import { createRequire } from 'node:module'
import { describe, it } from 'node:test'
import { frameBinaryMessages, frameHeaderSize } from '../src/ws/outbox.ts'

/** `ws`'s own sender and receiver: exported at run time, not in its type declarations. */
const ws = createRequire(import.meta.url)('ws') as {
  Sender: {
    frame(
      data: Buffer,
      options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean },
    ): Buffer[]
  }
  Receiver: new (options: {
    isServer: boolean
    maxPayload: number
  }) => EventEmitter & {
    write(chunk: Buffer, callback: () => void): void
  }
}

/** Every boundary of the three length encodings, and a few around them. */
const LENGTHS = [0, 1, 125, 126, 127, 1000, 0xffff, 0x10000, 0x10001, 300_000]

function wsFrame(payload: Buffer): Buffer {
  const parts = ws.Sender.frame(payload, { fin: true, opcode: 2, mask: false, readOnly: false, rsv1: false })
  return Buffer.concat(parts)
}

describe('outbox framing', () => {
  it('writes each message exactly as ws would, in order', () => {
    const payloads = LENGTHS.map((n) => randomBytes(n))
    const ours = frameBinaryMessages(payloads)
    const reference = Buffer.concat(payloads.map(wsFrame))
    assert.equal(ours.length, reference.length)
    assert.ok(ours.equals(reference))
  })

  it('header sizes follow the three length encodings', () => {
    assert.deepEqual(
      LENGTHS.map(frameHeaderSize),
      LENGTHS.map((n) => wsFrame(Buffer.alloc(n)).length - n),
    )
  })

  it("ws's receiver reads the concatenation back as the same messages", async () => {
    const payloads = LENGTHS.map((n) => randomBytes(n))
    const received: Buffer[] = []
    const receiver = new ws.Receiver({ isServer: false, maxPayload: 0 })
    receiver.on('message', (data: Buffer, isBinary: boolean) => {
      assert.equal(isBinary, true)
      received.push(Buffer.from(data))
    })
    await new Promise<void>((resolve, reject) => {
      receiver.on('error', reject)
      receiver.write(frameBinaryMessages(payloads), () => resolve())
    })
    assert.equal(received.length, payloads.length)
    for (const [i, r] of received.entries()) assert.ok(r.equals(payloads[i]!), `message ${i}`)
  })
})
