import { CryptoError } from './errors.ts'

/** Checks that `value` is a Uint8Array (of `length` bytes when given), naming the field on failure. */
export function abytes(value: unknown, field: string, length?: number): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new CryptoError('invalid-type', `${field} must be a Uint8Array`)
  if (length !== undefined && value.length !== length) {
    throw new CryptoError('invalid-length', `${field} must be ${length} bytes, got ${value.length}`)
  }
  return value
}

/**
 * Compares two byte strings in time that depends only on their lengths. Lengths are not secret
 * in any place this is used (tags, MACs, hashes of fixed size).
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!
  return diff === 0
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0
  for (const p of parts) length += p.length
  const out = new Uint8Array(length)
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}

export function hexToBytes(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new CryptoError('invalid-type', 'hex string must have an even number of hex digits')
  }
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  return out
}

export function bytesToHex(bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += b.toString(16).padStart(2, '0')
  return s
}

/** Big-endian encoding of a non-negative integer into `length` bytes (RFC 9180 §4 I2OSP). */
export function i2osp(value: number, length: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0 || value >= 2 ** (8 * Math.min(length, 6))) {
    throw new CryptoError('invalid-length', `integer ${value} does not fit in ${length} bytes`)
  }
  const out = new Uint8Array(length)
  let v = value
  for (let i = length - 1; i >= 0 && v > 0; i--) {
    out[i] = v & 0xff
    v = Math.floor(v / 256)
  }
  return out
}

export const utf8 = {
  encode: (s: string): Uint8Array => new TextEncoder().encode(s),
  decode: (b: Uint8Array): string => new TextDecoder('utf-8', { fatal: true }).decode(b),
}
