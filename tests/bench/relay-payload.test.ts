import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { deflateRawSync } from 'node:zlib'
import { HEADER_BYTES, makePayload, readHeader } from '../../bench/relay-payload.ts'

const header = { phase: 7, sender: 999, counter: 123_456, scheduled: 1_795_000_000_123.25 }

describe('bench:relay payloads', () => {
  it('carry their header and send lag', () => {
    const payload = makePayload(256, header, header.scheduled + 12.5)
    assert.equal(payload.length, 256)
    assert.deepEqual(readHeader(payload), { ...header, sendLagMs: 12.5 })
    assert.equal(readHeader(payload.subarray(0, HEADER_BYTES - 1)), null)
  })

  it('do not compress, as ciphertext does not', () => {
    for (const size of [256, 4096, 300_000]) {
      const payload = makePayload(size, header, header.scheduled)
      // DEFLATE finds any repeat within 32 KiB; random bytes come out a little larger.
      assert.ok(deflateRawSync(payload).length > 0.99 * size, `a ${size} B payload compressed`)
    }
  })

  it('differ from one counter to the next', () => {
    const a = makePayload(4096, header, header.scheduled).subarray(HEADER_BYTES)
    const b = makePayload(4096, { ...header, counter: header.counter + 1 }, header.scheduled).subarray(
      HEADER_BYTES,
    )
    assert.notDeepEqual(a, b)
  })

  it('refuse a size that cannot hold the header', () => {
    assert.throws(() => makePayload(HEADER_BYTES - 1, header, 0), RangeError)
  })
})
