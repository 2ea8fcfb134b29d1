import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { base64urlToBytes, bytesToBase64url, isBase64url } from '../../src/wire/encoding.ts'
import { WireError } from '../../src/wire/errors.ts'
import {
  type ClientFrame,
  decodeClientFrame,
  decodeServerFrame,
  encodeFrame,
  type ServerFrame,
} from '../../src/wire/frames.ts'
import {
  MAX_ACK_SEQS,
  MAX_ENVELOPE_BYTES,
  MAX_ENVELOPE_TTL_SECONDS,
  MAX_FRAME_BYTES,
  MAX_GROUP_ID_BYTES,
  MAX_RECIPIENTS,
} from '../../src/wire/limits.ts'

const deviceId = fc.uint8Array({ minLength: 16, maxLength: 16 }).map(bytesToBase64url)
const payload = fc.uint8Array({ minLength: 1, maxLength: 300 })
const recipients = fc.uniqueArray(deviceId, { minLength: 1, maxLength: 8 })
const id = fc.integer({ min: 0, max: 0xffffffff })
const ttl = fc.integer({ min: 0, max: MAX_ENVELOPE_TTL_SECONDS })
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })
const time = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })
const fanout = fc.record({ recipients, payload })

const clientFrame: fc.Arbitrary<ClientFrame> = fc.oneof(
  fc.record({
    type: fc.constant('auth' as const),
    id,
    deviceId,
    signature: fc.uint8Array({ minLength: 64, maxLength: 64 }),
  }),
  fc.record({ type: fc.constant('send' as const), id, ttlSeconds: ttl, recipients, payload }),
  fc.record({
    type: fc.constant('send-sealed' as const),
    id,
    ttlSeconds: ttl,
    tokens: fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { minLength: 1, maxLength: 4 }),
    payload,
  }),
  fc.record({ type: fc.constant('ack' as const), id, seqs: fc.array(u64, { minLength: 1, maxLength: 20 }) }),
  fc.record({
    type: fc.constant('commit' as const),
    id,
    groupId: fc.uint8Array({ minLength: 1, maxLength: MAX_GROUP_ID_BYTES }),
    epoch: u64,
    ttlSeconds: ttl,
    commit: fanout,
    welcome: fc.option(fanout, { nil: null }),
  }),
)

const serverFrame: fc.Arbitrary<ServerFrame> = fc.oneof(
  fc.record({
    type: fc.constant('challenge' as const),
    id,
    challenge: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    expiresAt: time,
  }),
  fc.record({
    type: fc.constant('auth-ok' as const),
    id,
    deviceId,
    sessionToken: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    sessionExpiresAt: time,
  }),
  fc.record({ type: fc.constant('send-ok' as const), id }),
  fc.record({ type: fc.constant('ack-ok' as const), id, removed: fc.integer({ min: 0, max: 0xffffffff }) }),
  fc.record({ type: fc.constant('commit-ok' as const), id, epoch: u64 }),
  fc.record({ type: fc.constant('deliver' as const), id, seq: u64, receivedAt: time, payload }),
  fc.record({
    type: fc.constant('error' as const),
    id,
    code: fc.constantFrom(
      'malformed' as const,
      'epoch-conflict' as const,
      'rate-limited' as const,
      'internal' as const,
    ),
    message: fc.string({ maxLength: 100 }),
    details: fc.record(
      { currentEpoch: u64, offset: time, retryAfterSeconds: fc.integer({ min: 0, max: 0xffffffff }) },
      { requiredKeys: [] },
    ),
  }),
)

function expectWireError(fn: () => unknown, code?: string): void {
  assert.throws(fn, (e: unknown) => WireError.is(e) && (code === undefined || e.code === code))
}

describe('wire frames', () => {
  it('client frames round-trip', () => {
    fc.assert(
      fc.property(clientFrame, (frame) => {
        assert.deepEqual(decodeClientFrame(encodeFrame(frame)), structuredClone(frame))
      }),
      { numRuns: 300 },
    )
  })

  it('server frames round-trip', () => {
    fc.assert(
      fc.property(serverFrame, (frame) => {
        assert.deepEqual(decodeServerFrame(encodeFrame(frame)), structuredClone(frame))
      }),
      { numRuns: 300 },
    )
  })

  it('random bytes either decode to a frame that re-encodes identically or throw a WireError', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.constantFrom(0x01, 0x02, 0x03, 0x04, 0x05, 0x85, 0x86),
        (raw, type) => {
          const bytes = Uint8Array.of(type, ...raw)
          for (const decode of [decodeClientFrame, decodeServerFrame]) {
            try {
              const frame = decode(bytes)
              assert.deepEqual(encodeFrame(frame), bytes)
            } catch (e) {
              assert.ok(WireError.is(e), `unexpected ${String(e)}`)
            }
          }
        },
      ),
      { numRuns: 2000 },
    )
  })

  it('every truncation and every single bit flip of a valid frame is handled without a crash', () => {
    fc.assert(
      fc.property(clientFrame, fc.nat(), (frame, n) => {
        const bytes = encodeFrame(frame)
        for (let cut = 0; cut < bytes.length; cut++)
          expectWireError(() => decodeClientFrame(bytes.subarray(0, cut)))
        const flipped = bytes.slice()
        const bit = n % (bytes.length * 8)
        flipped[bit >> 3]! ^= 1 << (bit & 7)
        try {
          const again = decodeClientFrame(flipped)
          assert.deepEqual(encodeFrame(again), flipped)
        } catch (e) {
          assert.ok(WireError.is(e))
        }
      }),
      { numRuns: 200 },
    )
  })

  it('refuses trailing bytes, unknown types and oversized counts before allocating', () => {
    const send = encodeFrame({
      type: 'send',
      id: 7,
      ttlSeconds: 0,
      recipients: ['AAAAAAAAAAAAAAAAAAAAAA'],
      payload: Uint8Array.of(1),
    })
    expectWireError(() => decodeClientFrame(Uint8Array.of(...send, 0)), 'malformed')
    expectWireError(() => decodeClientFrame(Uint8Array.of(0x7f, 0, 0, 0, 1)), 'malformed')
    expectWireError(() => decodeClientFrame(new Uint8Array(0)), 'malformed')
    // A send claiming MAX_RECIPIENTS + 1 recipients in a 13-byte frame.
    const tooMany = Uint8Array.of(
      0x02,
      0,
      0,
      0,
      1,
      0,
      0,
      0,
      0,
      (MAX_RECIPIENTS + 1) >> 8,
      (MAX_RECIPIENTS + 1) & 0xff,
    )
    expectWireError(() => decodeClientFrame(tooMany), 'too-large')
    const ackTooMany = Uint8Array.of(0x04, 0, 0, 0, 1, (MAX_ACK_SEQS + 1) >> 8, (MAX_ACK_SEQS + 1) & 0xff)
    expectWireError(() => decodeClientFrame(ackTooMany), 'too-large')
    // A payload length above MAX_ENVELOPE_BYTES is refused from its length field alone.
    const big = MAX_ENVELOPE_BYTES + 1
    const header = Uint8Array.of(
      0x02,
      0,
      0,
      0,
      1,
      0,
      0,
      0,
      0,
      0,
      1,
      22,
      ...new TextEncoder().encode('AAAAAAAAAAAAAAAAAAAAAA'),
    )
    const bigPayload = Uint8Array.of(
      ...header,
      big >>> 24,
      (big >>> 16) & 0xff,
      (big >>> 8) & 0xff,
      big & 0xff,
    )
    expectWireError(() => decodeClientFrame(bigPayload), 'too-large')
    expectWireError(() => decodeClientFrame(new Uint8Array(MAX_FRAME_BYTES + 1)), 'too-large')
  })

  it('refuses invalid fields on encode and decode alike', () => {
    const base = { type: 'send' as const, id: 1, ttlSeconds: 0, payload: Uint8Array.of(1) }
    expectWireError(() => encodeFrame({ ...base, recipients: [] }), 'invalid-field')
    expectWireError(() => encodeFrame({ ...base, recipients: ['short'] }), 'invalid-field')
    expectWireError(
      () => encodeFrame({ ...base, recipients: ['AAAAAAAAAAAAAAAAAAAAAA', 'AAAAAAAAAAAAAAAAAAAAAA'] }),
      'invalid-field',
    )
    expectWireError(
      () => encodeFrame({ ...base, recipients: ['AAAAAAAAAAAAAAAAAAAAAA'], payload: new Uint8Array(0) }),
      'invalid-field',
    )
    expectWireError(
      () =>
        encodeFrame({
          ...base,
          recipients: ['AAAAAAAAAAAAAAAAAAAAAA'],
          ttlSeconds: MAX_ENVELOPE_TTL_SECONDS + 1,
        }),
      'too-large',
    )
    expectWireError(
      () => encodeFrame({ ...base, id: -1, recipients: ['AAAAAAAAAAAAAAAAAAAAAA'] }),
      'invalid-field',
    )
    // A non-canonical device id (pad bits set) is not a device id.
    expectWireError(() => encodeFrame({ ...base, recipients: ['AAAAAAAAAAAAAAAAAAAAAB'] }), 'invalid-field')
  })
})

describe('base64url', () => {
  it('round-trips and matches Buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const text = bytesToBase64url(bytes)
        assert.equal(text, Buffer.from(bytes).toString('base64url'))
        assert.ok(isBase64url(text))
        assert.deepEqual(base64urlToBytes(text, 'x'), bytes)
      }),
    )
  })

  it('refuses padding, foreign characters and non-canonical tails', () => {
    for (const bad of ['AA==', 'A', 'AB', 'a+b/', 'AAA ', 'AAB']) {
      expectWireError(() => base64urlToBytes(bad, 'x'), 'invalid-field')
    }
  })
})
