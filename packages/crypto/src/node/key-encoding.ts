import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto'
import type { DhName, SignatureName } from '../backend.ts'
import { bytesToHex } from '../bytes.ts'
import { CryptoError } from '../errors.ts'

/**
 * Raw key bytes (the encodings RFC 9420 and RFC 9180 use) to node:crypto KeyObjects and back.
 * node:crypto only imports DER, PEM or JWK, so raw keys are wrapped in fixed DER prefixes
 * (RFC 8410 for the Edwards/Montgomery curves) or in SEC1/JWK structures (NIST curves).
 * No curve arithmetic happens here: OpenSSL derives public keys and validates points.
 */

export type CurveName = SignatureName | DhName
export type OkpName = 'Ed25519' | 'Ed448' | 'X25519' | 'X448'
export type NistName = 'P-256' | 'P-384' | 'P-521'

interface OkpParams {
  readonly privateLength: number
  readonly publicLength: number
  /** RFC 8410 §7 PKCS#8 prefix: everything before the raw private key. */
  readonly pkcs8Prefix: Uint8Array
  /** RFC 8410 §4 SubjectPublicKeyInfo prefix: everything before the raw public key. */
  readonly spkiPrefix: Uint8Array
}

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'))

const OKP: Readonly<Record<OkpName, OkpParams>> = {
  Ed25519: {
    privateLength: 32,
    publicLength: 32,
    pkcs8Prefix: hex('302e020100300506032b657004220420'),
    spkiPrefix: hex('302a300506032b6570032100'),
  },
  Ed448: {
    privateLength: 57,
    publicLength: 57,
    pkcs8Prefix: hex('3047020100300506032b6571043b0439'),
    spkiPrefix: hex('3043300506032b6571033a00'),
  },
  X25519: {
    privateLength: 32,
    publicLength: 32,
    pkcs8Prefix: hex('302e020100300506032b656e04220420'),
    spkiPrefix: hex('302a300506032b656e032100'),
  },
  X448: {
    privateLength: 56,
    publicLength: 56,
    pkcs8Prefix: hex('3046020100300506032b656f043a0438'),
    spkiPrefix: hex('3042300506032b656f033900'),
  },
}

interface NistParams {
  /** Field element / scalar length in bytes (Nsk in RFC 9180 §7.1). */
  readonly length: number
  /** Group order n; a private scalar must lie in [1, n-1] (SEC1 §3.2.1). */
  readonly order: bigint
  /** namedCurve OID, DER-encoded (RFC 5480 §2.1.1.1). */
  readonly oid: Uint8Array
}

export const NIST: Readonly<Record<NistName, NistParams>> = {
  'P-256': {
    length: 32,
    order: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
    oid: hex('06082a8648ce3d030107'),
  },
  'P-384': {
    length: 48,
    order:
      0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
    oid: hex('06052b81040022'),
  },
  'P-521': {
    length: 66,
    order:
      0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
    oid: hex('06052b81040023'),
  },
}

export function isNist(name: CurveName): name is NistName {
  return name === 'P-256' || name === 'P-384' || name === 'P-521'
}

/** Length in bytes of a raw private key for `name`. */
export function privateKeyLength(name: CurveName): number {
  return isNist(name) ? NIST[name].length : OKP[name].privateLength
}

/** Length in bytes of a raw public key for `name` (SEC1 uncompressed for NIST curves). */
export function publicKeyLength(name: CurveName): number {
  return isNist(name) ? 1 + 2 * NIST[name].length : OKP[name].publicLength
}

function concat(a: Uint8Array, b: Uint8Array): Buffer {
  return Buffer.concat([a, b])
}

/** DER TLV with a short-form length (every structure here is below 128 bytes). */
function tlv(tag: number, body: Uint8Array): Buffer {
  if (body.length > 127) throw new CryptoError('internal', 'DER body too long for short form')
  return Buffer.concat([Uint8Array.of(tag, body.length), body])
}

function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url')
}

function checkLength(bytes: Uint8Array, length: number, field: string): void {
  if (bytes.length !== length) {
    throw new CryptoError('invalid-length', `${field} must be ${length} bytes, got ${bytes.length}`)
  }
}

/** Imports a raw private key. Throws `invalid-length` or `invalid-key`. */
export function importPrivateKey(name: CurveName, raw: Uint8Array): KeyObject {
  if (isNist(name)) {
    const p = NIST[name]
    checkLength(raw, p.length, `${name} private key`)
    const d = BigInt(`0x${bytesToHex(raw)}`)
    if (d === 0n || d >= p.order) throw new CryptoError('invalid-key', `${name} private scalar out of range`)
    // SEC1 §C.4 ECPrivateKey without the optional public key; OpenSSL recomputes it.
    const sec1 = tlv(0x30, Buffer.concat([hex('020101'), tlv(0x04, raw), tlv(0xa0, p.oid)]))
    try {
      return createPrivateKey({ key: sec1, format: 'der', type: 'sec1' })
    } catch (cause) {
      throw new CryptoError('invalid-key', `${name} private key did not import`, { cause })
    }
  }
  const p = OKP[name]
  checkLength(raw, p.privateLength, `${name} private key`)
  try {
    return createPrivateKey({ key: concat(p.pkcs8Prefix, raw), format: 'der', type: 'pkcs8' })
  } catch (cause) {
    throw new CryptoError('invalid-key', `${name} private key did not import`, { cause })
  }
}

/**
 * Imports a raw public key. NIST points must be SEC1 uncompressed (RFC 9180 §7.1.1,
 * RFC 9420 §5.1.1); OpenSSL checks they lie on the curve. Throws `invalid-length` or
 * `invalid-public-key`.
 */
export function importPublicKey(name: CurveName, raw: Uint8Array): KeyObject {
  if (isNist(name)) {
    const n = NIST[name].length
    checkLength(raw, 1 + 2 * n, `${name} public key`)
    if (raw[0] !== 0x04) throw new CryptoError('invalid-public-key', `${name} public key is not uncompressed`)
    try {
      return createPublicKey({
        key: { kty: 'EC', crv: name, x: b64url(raw.subarray(1, 1 + n)), y: b64url(raw.subarray(1 + n)) },
        format: 'jwk',
      })
    } catch (cause) {
      throw new CryptoError('invalid-public-key', `${name} public key is not a point on the curve`, { cause })
    }
  }
  const p = OKP[name]
  checkLength(raw, p.publicLength, `${name} public key`)
  try {
    return createPublicKey({ key: concat(p.spkiPrefix, raw), format: 'der', type: 'spki' })
  } catch (cause) {
    throw new CryptoError('invalid-public-key', `${name} public key did not import`, { cause })
  }
}

/** Raw public key of a KeyObject (public, or private — its public half). */
export function exportPublicKey(name: CurveName, key: KeyObject): Uint8Array {
  const pub = key.type === 'private' ? createPublicKey(key) : key
  if (isNist(name)) return rawFromEcJwk(name, pub.export({ format: 'jwk' }))
  return rawFromSpki(name, pub.export({ format: 'der', type: 'spki' }))
}

/** SEC1 uncompressed point (0x04 ‖ x ‖ y) of an EC JWK's coordinates (RFC 7518 §6.2.1). */
export function rawFromEcJwk(name: NistName, jwk: JsonWebKey): Uint8Array {
  if (typeof jwk.x !== 'string' || typeof jwk.y !== 'string') {
    throw new CryptoError('internal', 'exported EC JWK lacks coordinates')
  }
  return Uint8Array.from(
    Buffer.concat([Uint8Array.of(0x04), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]),
  )
}

/** Fixed-length private scalar of an EC JWK's `d` (RFC 7518 §6.2.2.1). */
export function rawPrivateFromEcJwk(name: NistName, jwk: JsonWebKey): Uint8Array {
  if (typeof jwk.d !== 'string') throw new CryptoError('internal', 'exported EC JWK lacks d')
  const d = Buffer.from(jwk.d, 'base64url')
  // JWK d is already fixed-length; pad defensively.
  const out = new Uint8Array(NIST[name].length)
  out.set(d, out.length - d.length)
  return out
}

/** Raw public key of an RFC 8410 SubjectPublicKeyInfo (DER): what follows the fixed prefix. */
export function rawFromSpki(name: OkpName, spki: Uint8Array): Uint8Array {
  return Uint8Array.from(spki.subarray(OKP[name].spkiPrefix.length))
}

/** Raw private key of an RFC 8410 PKCS #8 structure (DER): what follows the fixed prefix. */
export function rawFromPkcs8(name: OkpName, pkcs8: Uint8Array): Uint8Array {
  return Uint8Array.from(pkcs8.subarray(OKP[name].pkcs8Prefix.length))
}
