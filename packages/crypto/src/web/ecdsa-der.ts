/**
 * The ECDSA signature encodings at the WebCrypto boundary. WebCrypto signs and verifies the IEEE
 * P1363 form r ‖ s (each integer left-padded to the curve's byte length, W3C WebCrypto §23.4);
 * MLS carries the X9.62 DER form `SEQUENCE { INTEGER r, INTEGER s }` (RFC 9420 §5.1.1, RFC 3279
 * §2.2.3). This is an encoding only: no arithmetic on the integers beyond their byte layout.
 *
 * The decoder accepts strict DER and nothing else (X.690 §10: definite, minimal lengths; §8.3.2:
 * minimal two's-complement integers), because a signature with two encodings is malleable.
 */

/** The longest DER signature we decode: P-521, two 66-byte integers with a sign byte each. */
export const MAX_DER_SIGNATURE_LENGTH = 3 + 2 * (2 + 67)

export type DerDecodeResult =
  | { readonly kind: 'ok'; readonly signature: Uint8Array }
  | { readonly kind: 'malformed'; readonly reason: string }

const SEQUENCE = 0x30
const INTEGER = 0x02

function malformed(reason: string): DerDecodeResult {
  return { kind: 'malformed', reason }
}

/** Minimal two's-complement DER INTEGER content for an unsigned big-endian value (X.690 §8.3.2). */
function encodeUnsigned(value: Uint8Array): Uint8Array {
  let start = 0
  while (start < value.length - 1 && value[start] === 0) start++
  const digits = value.subarray(start)
  const needsSignByte = (digits[0]! & 0x80) !== 0
  const out = new Uint8Array(2 + digits.length + (needsSignByte ? 1 : 0))
  out[0] = INTEGER
  out[1] = out.length - 2
  out.set(digits, needsSignByte ? 3 : 2)
  return out
}

/** r ‖ s (each `size` bytes) to DER. */
export function encodeDerSignature(p1363: Uint8Array, size: number): Uint8Array {
  if (p1363.length !== 2 * size) throw new RangeError(`P1363 signature must be ${2 * size} bytes`)
  const r = encodeUnsigned(p1363.subarray(0, size))
  const s = encodeUnsigned(p1363.subarray(size))
  const bodyLength = r.length + s.length
  // X.690 §8.1.3: short form below 128, else one length byte after 0x81 (a P-521 signature needs it).
  const header = bodyLength < 0x80 ? [SEQUENCE, bodyLength] : [SEQUENCE, 0x81, bodyLength]
  const out = new Uint8Array(header.length + bodyLength)
  out.set(header, 0)
  out.set(r, header.length)
  out.set(s, header.length + r.length)
  return out
}

/** Reads one INTEGER at `offset` into `out` (left-padded to `size` bytes); returns the next offset. */
function decodeUnsigned(
  der: Uint8Array,
  offset: number,
  end: number,
  out: Uint8Array,
  size: number,
): number | string {
  if (offset + 2 > end) return 'truncated integer header'
  if (der[offset] !== INTEGER) return 'expected an INTEGER'
  const length = der[offset + 1]!
  // Every integer here is at most size + 1 ≤ 67 bytes, so only the short length form is minimal.
  if (length >= 0x80) return 'integer length is not in short form'
  if (length === 0) return 'empty integer'
  const start = offset + 2
  if (start + length > end) return 'integer runs past the sequence'
  const first = der[start]!
  if ((first & 0x80) !== 0) return 'negative integer'
  if (length > 1 && first === 0 && (der[start + 1]! & 0x80) === 0)
    return 'integer has a redundant leading zero'
  const digits =
    first === 0 && length > 1 ? der.subarray(start + 1, start + length) : der.subarray(start, start + length)
  if (digits.length > size) return 'integer is longer than the curve order'
  out.set(digits, size - digits.length)
  return start + length
}

/** Strict DER to r ‖ s (each `size` bytes). */
export function decodeDerSignature(der: Uint8Array, size: number): DerDecodeResult {
  if (der.length > MAX_DER_SIGNATURE_LENGTH) return malformed('longer than any ECDSA signature')
  if (der.length < 2 || der[0] !== SEQUENCE) return malformed('expected a SEQUENCE')
  let bodyLength = der[1]!
  let offset = 2
  if (bodyLength === 0x81) {
    if (der.length < 3) return malformed('truncated length')
    bodyLength = der[2]!
    if (bodyLength < 0x80) return malformed('long-form length for a short body')
    offset = 3
  } else if (bodyLength > 0x80) {
    return malformed('length form is not minimal')
  } else if (bodyLength === 0x80) {
    return malformed('indefinite length')
  }
  const end = offset + bodyLength
  if (end !== der.length) return malformed('sequence length does not match the input')
  const out = new Uint8Array(2 * size)
  const afterR = decodeUnsigned(der, offset, end, out.subarray(0, size), size)
  if (typeof afterR === 'string') return malformed(`r: ${afterR}`)
  const afterS = decodeUnsigned(der, afterR, end, out.subarray(size), size)
  if (typeof afterS === 'string') return malformed(`s: ${afterS}`)
  if (afterS !== end) return malformed('trailing bytes inside the sequence')
  return { kind: 'ok', signature: out }
}
