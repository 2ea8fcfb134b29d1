import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { decodeEnvelope, type Envelope, encodeEnvelope } from '../src/envelope.ts'
import { ClientError } from '../src/errors.ts'

const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max })
const id = bytes(16, 16)

const envelope: fc.Arbitrary<Envelope> = fc.oneof(
  fc.record({ kind: fc.constant('application' as const), id, groupId: bytes(1, 64), mls: bytes(1, 300) }),
  fc.record({
    kind: fc.constant('commit' as const),
    id,
    groupId: bytes(1, 64),
    epoch: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    mls: bytes(1, 300),
  }),
  fc.record({
    kind: fc.constant('welcome' as const),
    id,
    keyPackageRefs: fc.array(bytes(1, 64), { minLength: 1, maxLength: 5 }),
    welcome: bytes(1, 300),
  }),
  fc.record({ kind: fc.constant('link' as const), id, sealed: bytes(1, 300) }),
  fc.record({ kind: fc.constant('marker' as const), id }),
)

describe('envelope codec', () => {
  it('round-trips every kind', () => {
    fc.assert(fc.property(envelope, (e) => assert.deepEqual(decodeEnvelope(encodeEnvelope(e)), { ...e })))
  })

  it('rejects trailing bytes, truncation, unknown version and kind with `malformed`', () => {
    fc.assert(
      fc.property(envelope, (e) => {
        const b = encodeEnvelope(e)
        const bad = [
          Uint8Array.of(...b, 0),
          b.slice(0, b.length - 1),
          Uint8Array.of(b[0]!, b[1]!, 2, ...b.slice(3)),
          Uint8Array.of(b[0]!, b[1]!, b[2]!, 9, ...b.slice(4)),
        ]
        for (const x of bad)
          assert.throws(
            () => decodeEnvelope(x),
            (err) => ClientError.is(err, 'malformed'),
          )
      }),
    )
  })
})
