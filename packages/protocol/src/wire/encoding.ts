/**
 * base64url without padding (RFC 4648 §5), the one text encoding of bytes in the JSON API.
 * Decoding is strict: only the URL-safe alphabet, no padding, no whitespace, and the unused
 * trailing bits must be zero, so each byte string has exactly one accepted encoding.
 */
import { WireError } from './errors.ts'

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const LOOKUP = new Int16Array(128).fill(-1)
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i

export function bytesToBase64url(bytes: Uint8Array): string {
  let out = ''
  let i = 0
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    out += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]! + ALPHABET[(n >>> 6) & 63]! + ALPHABET[n & 63]!
  }
  const rest = bytes.length - i
  if (rest === 1) {
    const n = bytes[i]! << 16
    out += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]!
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8)
    out += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]! + ALPHABET[(n >>> 6) & 63]!
  }
  return out
}

/** True when `text` is canonical base64url without padding (see module comment). */
export function isBase64url(text: string): boolean {
  if (text.length % 4 === 1) return false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c >= 128 || LOOKUP[c] === -1) return false
  }
  const tail = text.length % 4
  if (tail === 0) return true
  const last = LOOKUP[text.charCodeAt(text.length - 1)]!
  // RFC 4648 §3.5: the pad bits of the last character must be zero (canonical encoding).
  return tail === 2 ? (last & 0x0f) === 0 : (last & 0x03) === 0
}

/** Decodes canonical base64url; throws WireError('invalid-field') naming `field` otherwise. */
export function base64urlToBytes(text: string, field: string): Uint8Array {
  if (!isBase64url(text)) throw new WireError('invalid-field', `${field} must be base64url without padding`)
  const out = new Uint8Array(Math.floor((text.length * 3) / 4))
  let o = 0
  let i = 0
  for (; i + 3 < text.length; i += 4) {
    const n =
      (LOOKUP[text.charCodeAt(i)]! << 18) |
      (LOOKUP[text.charCodeAt(i + 1)]! << 12) |
      (LOOKUP[text.charCodeAt(i + 2)]! << 6) |
      LOOKUP[text.charCodeAt(i + 3)]!
    out[o++] = n >>> 16
    out[o++] = (n >>> 8) & 0xff
    out[o++] = n & 0xff
  }
  const tail = text.length - i
  if (tail >= 2) {
    const n =
      (LOOKUP[text.charCodeAt(i)]! << 18) |
      (LOOKUP[text.charCodeAt(i + 1)]! << 12) |
      (tail === 3 ? LOOKUP[text.charCodeAt(i + 2)]! << 6 : 0)
    out[o++] = n >>> 16
    if (tail === 3) out[o++] = (n >>> 8) & 0xff
  }
  return out
}

/** base64url length (no padding) of `byteLength` bytes. */
export function base64urlLength(byteLength: number): number {
  return Math.ceil((byteLength * 4) / 3)
}

/** Device and blob ids: base64url of 16 bytes, 22 characters. */
export function isId22(text: string): boolean {
  return text.length === 22 && isBase64url(text)
}
