/**
 * The SQLite writer thread's binary messages (storage/sqlite/writer-protocol.ts): a batch and its
 * results must cross exactly — every field, payload byte, seq and error — whatever the strings
 * hold, because the worker runs the decoded calls as the transaction.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import type { Settled, WriteCall } from '../../src/storage/group-commit.ts'
import {
  decodeBatch,
  decodeResults,
  encodeBatch,
  encodeResults,
} from '../../src/storage/sqlite/writer-protocol.ts'
import { StorageError } from '../../src/storage/storage.ts'

const bytes = (n: number) => new Uint8Array(randomBytes(n))

describe('SQLite writer protocol', () => {
  it('a batch decodes to the same calls, payloads included', () => {
    const calls: WriteCall[] = [
      {
        kind: 'enqueue',
        now: 1_764_000_000_123,
        requests: [
          { mailboxes: ['AAAAAAAAAAAAAAAAAAAAAA'], payload: bytes(256), expiresAt: 1_764_000_999_000 },
          { mailboxes: ['b', 'ü-é', '\ud83d\ude00', '\ud800'], payload: bytes(1), expiresAt: 0 },
        ],
      },
      { kind: 'ack', deviceId: 'dev-1', seqs: [1n, 2n, (1n << 64n) - 1n] },
      { kind: 'enqueue', now: 0, requests: [] },
      { kind: 'ack', deviceId: 'x'.repeat(64), seqs: [] },
      { kind: 'enqueue', now: 5, requests: [{ mailboxes: [], payload: bytes(70_000), expiresAt: 9 }] },
    ]
    const message = encodeBatch(42, calls)
    assert.equal(message.id, 42)
    const decoded = decodeBatch(message)
    assert.deepEqual(decoded.map(plain), calls.map(plain))
  })

  it('results decode to the same outcomes, refusals as StorageErrors with their code', () => {
    const results: Settled<bigint[][] | number>[] = [
      { ok: true, value: [[1n], [2n, 3n, 2n ** 53n - 1n]] },
      { ok: true, value: 0 },
      { ok: true, value: 0xffffffff },
      { ok: false, error: new StorageError('limit-exceeded', 'a recipient mailbox is full (10 entries)') },
      { ok: true, value: [] },
      { ok: false, error: new Error('not a storage error') },
    ]
    const { results: buffer, errors } = encodeResults(results)
    const decoded = decodeResults(buffer, structuredClone(errors))
    assert.equal(decoded.length, results.length)
    assert.deepEqual(decoded[0], results[0])
    assert.deepEqual(decoded[1], results[1])
    assert.deepEqual(decoded[2], results[2])
    assert.deepEqual(decoded[4], results[4])
    const refused = decoded[3]!
    assert.ok(!refused.ok && StorageError.is(refused.error, 'limit-exceeded'))
    assert.equal(refused.error.message, 'limit-exceeded: a recipient mailbox is full (10 entries)')
    const failed = decoded[5]!
    assert.ok(!failed.ok && StorageError.is(failed.error, 'unavailable'))
  })

  it('refuses a string longer than its u16 length can say', () => {
    const calls: WriteCall[] = [{ kind: 'ack', deviceId: 'x'.repeat(0x10000), seqs: [1n] }]
    assert.throws(
      () => encodeBatch(1, calls),
      (e) => StorageError.is(e, 'invalid-argument'),
    )
  })
})

/** Payload views compared by content. */
function plain(call: WriteCall): unknown {
  if (call.kind === 'ack') return { ...call, seqs: [...call.seqs] }
  return {
    ...call,
    requests: call.requests.map((r) => ({ ...r, mailboxes: [...r.mailboxes], payload: [...r.payload] })),
  }
}
