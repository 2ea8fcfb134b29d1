/**
 * The outbox frames messages itself (RFC 6455 §5.2); `ws`'s own sender is the reference: for
 * every length class the bytes must be exactly what `ws` would have written, one frame after the
 * other, and `ws`'s receiver must read them back as the same messages.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import type { EventEmitter } from 'node:events'
import { createRequire } from 'node:module'
import { afterEach, beforeEach, describe, it, mock } from 'node:test'
import { WireError } from '@tacit/protocol/wire/errors'
import {
  type DeliveryFrame,
  decodeServerFrame,
  deliveryFrameLength,
  encodeDeliveryFrameInto,
  encodeFrame,
} from '@tacit/protocol/wire/frames'
import {
  DeferredFlush,
  frameBinaryMessages,
  frameHeaderSize,
  MAX_ACK_REPLY_DELAY_MS,
  type OutboxOwner,
  takeWriteBuffer,
} from '../src/ws/outbox.ts'

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

describe('delivery frames encoded in place', () => {
  const frames: DeliveryFrame[] = [
    { type: 'send-ok', id: 0 },
    { type: 'send-ok', id: 0xffffffff },
    { type: 'ack-ok', id: 7, removed: 0 },
    { type: 'ack-ok', id: 0x80000000, removed: 0xffffffff },
    {
      type: 'deliver',
      id: 0,
      seq: 1n,
      receivedAt: 1_764_000_000_000,
      payload: new Uint8Array(randomBytes(1)),
    },
    { type: 'deliver', id: 3, seq: 0xffffffffn, receivedAt: 0, payload: new Uint8Array(randomBytes(256)) },
    // Above 2^53 (the bigint branch) and the largest u64.
    {
      type: 'deliver',
      id: 9,
      seq: (1n << 53n) + 1n,
      receivedAt: Number.MAX_SAFE_INTEGER,
      payload: new Uint8Array(randomBytes(4096)),
    },
    {
      type: 'deliver',
      id: 9,
      seq: (1n << 64n) - 1n,
      receivedAt: 2 ** 32,
      payload: new Uint8Array(randomBytes(70_000)),
    },
  ]

  it('writes the same bytes as encodeFrame, at any offset, and reports the end', () => {
    for (const frame of frames) {
      const reference = encodeFrame(frame)
      assert.equal(deliveryFrameLength(frame), reference.length)
      const target = new Uint8Array(reference.length + 11).fill(0xee)
      const end = encodeDeliveryFrameInto(frame, target, 5)
      assert.equal(end, 5 + reference.length)
      assert.deepEqual(target.subarray(5, end), reference)
      assert.ok(target.subarray(0, 5).every((b) => b === 0xee))
      assert.ok(target.subarray(end).every((b) => b === 0xee))
      assert.deepEqual(decodeServerFrame(target.subarray(5, end)), frame)
    }
  })

  it('refuses what encodeFrame refuses, and writes nothing then', () => {
    const bad: DeliveryFrame[] = [
      { type: 'send-ok', id: -1 },
      { type: 'ack-ok', id: 1, removed: 2 ** 32 },
      { type: 'deliver', id: 0, seq: -1n, receivedAt: 0, payload: new Uint8Array(randomBytes(1)) },
      { type: 'deliver', id: 0, seq: 1n, receivedAt: -5, payload: new Uint8Array(randomBytes(1)) },
      { type: 'deliver', id: 0, seq: 1n, receivedAt: 0, payload: new Uint8Array(0) },
    ]
    for (const frame of bad) {
      assert.throws(() => encodeFrame(frame), WireError)
      assert.throws(() => deliveryFrameLength(frame), WireError)
      const target = new Uint8Array(64).fill(0xee)
      assert.throws(() => encodeDeliveryFrameInto(frame, target, 0), WireError)
      assert.ok(target.every((b) => b === 0xee))
    }
    const small = new Uint8Array(8)
    assert.throws(() => encodeDeliveryFrameInto({ type: 'ack-ok', id: 1, removed: 1 }, small, 0), WireError)
  })

  it('write buffers are whole and distinct, across slabs', () => {
    const seen: Buffer[] = []
    for (let i = 0; i < 3000; i++) {
      const length = 1 + ((i * 7919) % 70_000)
      const b = takeWriteBuffer(length)
      assert.equal(b.length, length)
      b.fill(i & 0xff)
      seen.push(b)
    }
    // Nothing cut later overwrote an earlier cut.
    for (const [i, b] of seen.entries())
      assert.ok(
        b.every((x) => x === (i & 0xff)),
        `buffer ${i}`,
      )
  })
})

describe('deferred flush (ack-ok deadlines)', () => {
  // node:test's mock timers drive setTimeout; the flush's clock is the same mocked time.
  let clock = 0
  const advance = (ms: number) => {
    clock += ms
    mock.timers.tick(ms)
  }
  beforeEach(() => {
    clock = 0
    mock.timers.enable({ apis: ['setTimeout'] })
  })
  afterEach(() => mock.timers.reset())

  /** An owner that counts its flushes and leaves the deadlines as a connection does. */
  function owner(deferred: () => DeferredFlush): OutboxOwner & { flushes: number } {
    const o = {
      flushes: 0,
      flushOutbox() {
        o.flushes++
        deferred().remove(o)
      },
    }
    return o
  }

  it('flushes an owner at its deadline, not before, and once', () => {
    const d = new DeferredFlush(100, () => clock)
    const a = owner(() => d)
    d.add(a)
    advance(99)
    assert.equal(a.flushes, 0)
    advance(1)
    assert.equal(a.flushes, 1)
    advance(1000)
    assert.equal(a.flushes, 1)
    assert.equal(d.size, 0)
  })

  it('a removed owner is not flushed; one added again waits a new delay', () => {
    const d = new DeferredFlush(100, () => clock)
    const a = owner(() => d)
    d.add(a)
    advance(50)
    d.remove(a)
    advance(100)
    assert.equal(a.flushes, 0)
    d.add(a)
    advance(99)
    assert.equal(a.flushes, 0)
    advance(1)
    assert.equal(a.flushes, 1)
  })

  it('adding an owner already waiting keeps its first deadline', () => {
    const d = new DeferredFlush(100, () => clock)
    const a = owner(() => d)
    d.add(a)
    advance(60)
    d.add(a)
    advance(40)
    assert.equal(a.flushes, 1)
  })

  it('one firing takes every owner due within an eighth of the delay; later ones wait', () => {
    const d = new DeferredFlush(80, () => clock)
    const [a, b, c] = [owner(() => d), owner(() => d), owner(() => d)]
    d.add(a)
    advance(10)
    d.add(b) // due at 90: within 80 + 80/8 of the firing at 80
    advance(5)
    d.add(c) // due at 95: after it
    advance(65)
    assert.deepEqual([a.flushes, b.flushes, c.flushes], [1, 1, 0])
    advance(14)
    assert.equal(c.flushes, 0)
    advance(1)
    assert.deepEqual([a.flushes, b.flushes, c.flushes], [1, 1, 1])
  })

  it('bounds the delay', () => {
    assert.equal(new DeferredFlush(10 * MAX_ACK_REPLY_DELAY_MS).delayMs, MAX_ACK_REPLY_DELAY_MS)
    assert.equal(new DeferredFlush(-5).delayMs, 0)
  })
})
