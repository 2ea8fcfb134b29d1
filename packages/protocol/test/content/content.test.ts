import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import {
  type Content,
  type ContentBody,
  decodeContent,
  encodeContent,
  MAX_RECEIPT_IDS,
  MAX_TEXT_BYTES,
  MIN_PADDED_BYTES,
  paddedLength,
} from '../../src/content.ts'
import { ProtocolError } from '../../src/errors.ts'

const id = fc.uint8Array({ minLength: 16, maxLength: 16 })
const shortText = fc.string({ maxLength: 200 })
const body: fc.Arbitrary<ContentBody> = fc.oneof(
  fc.record({ type: fc.constant('text' as const), text: fc.string({ maxLength: 2000, unit: 'grapheme' }) }),
  fc.record({ type: fc.constant('edit' as const), target: id, text: shortText }),
  fc.record({ type: fc.constant('delete' as const), target: id }),
  fc.record({
    type: fc.constant('reaction' as const),
    target: id,
    reaction: fc.string({ maxLength: 8 }),
    remove: fc.boolean(),
  }),
  fc.record({
    type: fc.constant('receipt' as const),
    kind: fc.constantFrom('delivered' as const, 'read' as const),
    targets: fc.array(id, { minLength: 1, maxLength: 20 }),
  }),
  fc.record({ type: fc.constant('typing' as const), typing: fc.boolean() }),
  fc.record({ type: fc.constant('file' as const), descriptor: fc.uint8Array({ maxLength: 300 }) }),
  fc.record({ type: fc.constant('call' as const), signal: fc.uint8Array({ maxLength: 3000 }) }),
  fc.record({
    type: fc.constant('metadata' as const),
    name: shortText,
    admins: fc.array(fc.stringMatching(/^[a-z0-9]{2,20}$/), { maxLength: 5 }),
  }),
  fc.record({ type: fc.constant('tree-head' as const), treeHead: fc.uint8Array({ maxLength: 200 }) }),
  fc.record({ type: fc.constant('delivery-token' as const), token: fc.uint8Array({ maxLength: 64 }) }),
)
const content: fc.Arbitrary<Content> = fc.record({ id, sentAt: fc.nat({ max: 2 ** 52 }), body })

test('content round-trips, padded to a bucket', () => {
  fc.assert(
    fc.property(content, (c) => {
      const bytes = encodeContent(c)
      assert.equal(bytes.length, paddedLength(bytes.length))
      assert.ok(bytes.length >= MIN_PADDED_BYTES)
      // fast-check builds records without a prototype; compare against plain objects.
      assert.deepEqual(decodeContent(bytes), { ...c, body: { ...c.body } })
    }),
    { numRuns: 500 },
  )
})

test('buckets: short messages share sizes', () => {
  assert.equal(paddedLength(0), 256)
  assert.equal(paddedLength(256), 256)
  assert.equal(paddedLength(257), 512)
  assert.equal(paddedLength(40_000), 65_536)
  assert.equal(paddedLength(65_537), 131_072)
  assert.equal(paddedLength(200_000), 262_144)
})

test('decoding rejects garbage, bad padding, unknown types and limits with typed errors', () => {
  const good = encodeContent({ id: new Uint8Array(16), sentAt: 1, body: { type: 'text', text: 'hi' } })
  const cases: [string, Uint8Array, string][] = [
    ['empty', new Uint8Array(0), 'malformed'],
    ['truncated', good.subarray(0, 20), 'malformed'],
    ['unknown version', Uint8Array.from([9, ...good.subarray(1)]), 'malformed'],
    ['unknown type', Uint8Array.from([1, 99, ...good.subarray(2)]), 'malformed'],
    ['non-zero padding', Uint8Array.from([...good.subarray(0, good.length - 1), 1]), 'malformed'],
  ]
  for (const [name, bytes, code] of cases) {
    assert.throws(
      () => decodeContent(bytes),
      (e) => ProtocolError.is(e, code as 'malformed'),
      name,
    )
  }
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      try {
        decodeContent(bytes)
      } catch (e) {
        assert.ok(e instanceof ProtocolError, String(e))
      }
    }),
    { numRuns: 2000 },
  )
  assert.throws(
    () =>
      encodeContent({
        id: new Uint8Array(16),
        sentAt: 0,
        body: { type: 'text', text: 'x'.repeat(MAX_TEXT_BYTES + 1) },
      }),
    (e) => ProtocolError.is(e, 'too-large'),
  )
  assert.throws(
    () =>
      encodeContent({
        id: new Uint8Array(16),
        sentAt: 0,
        body: {
          type: 'receipt',
          kind: 'read',
          targets: Array.from({ length: MAX_RECEIPT_IDS + 1 }, () => new Uint8Array(16)),
        },
      }),
    (e) => ProtocolError.is(e, 'too-large'),
  )
  assert.throws(
    () => encodeContent({ id: new Uint8Array(15), sentAt: 0, body: { type: 'typing', typing: true } }),
    (e) => ProtocolError.is(e, 'usage'),
  )
})
