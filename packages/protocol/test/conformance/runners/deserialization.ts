// RFC 9420 §2.1.2: variable-size vector length headers.
import assert from 'node:assert/strict'
import { encode } from 'ts-mls/codec/tlsEncoder.js'
import { determineLength, lengthEncoder } from 'ts-mls/codec/variableLength.js'
import { assertBytes, fromHex } from '../harness.ts'

interface DeserializationVector {
  vlbytes_header: string
  length: number
}

export function runDeserialization(v: DeserializationVector): void {
  const header = fromHex(v.vlbytes_header)
  const decoded = determineLength(header, 0)
  assert.equal(decoded.length, v.length, 'length')
  assert.equal(decoded.lengthFieldSize, header.length, 'the header is consumed exactly')
  // The vectors use the shortest header for each length, which is also what the encoder writes.
  assertBytes(encode(() => lengthEncoder(v.length))(undefined), v.vlbytes_header, 'vlbytes_header re-encoded')
}
