/**
 * The key encodings WebCrypto needs around Tacit's raw key bytes. WebCrypto imports raw bytes for
 * public keys only; a raw private key goes in as PKCS#8 (RFC 5208), and a public key comes out of
 * a private one through JWK export (RFC 7517/8037). Fixed DER prefixes, no parsing: the platform
 * checks the key itself on import.
 */

import { concatBytes } from '../bytes.ts'

export type OkpCurve = 'Ed25519' | 'X25519'
export type NistCurve = 'P-256' | 'P-384' | 'P-521'

/** Byte length of a scalar and of a field element (SEC 1 §2.3.5, RFC 9180 §7.1.2). */
export const NIST_CURVE_SIZE: Readonly<Record<NistCurve, number>> = { 'P-256': 32, 'P-384': 48, 'P-521': 66 }

// RFC 8410 §7: PrivateKeyInfo { version 0, AlgorithmIdentifier { id-Ed25519 / id-X25519 },
// OCTET STRING { OCTET STRING (32) } }. The two prefixes differ only in the OID's last byte.
const OKP_PKCS8_PREFIX: Readonly<Record<OkpCurve, Uint8Array>> = {
  Ed25519: Uint8Array.of(
    0x30,
    0x2e,
    0x02,
    0x01,
    0x00,
    0x30,
    0x05,
    0x06,
    0x03,
    0x2b,
    0x65,
    0x70,
    0x04,
    0x22,
    0x04,
    0x20,
  ),
  X25519: Uint8Array.of(
    0x30,
    0x2e,
    0x02,
    0x01,
    0x00,
    0x30,
    0x05,
    0x06,
    0x03,
    0x2b,
    0x65,
    0x6e,
    0x04,
    0x22,
    0x04,
    0x20,
  ),
}

/** RFC 8410 PKCS#8 for a 32-byte Ed25519 seed or X25519 scalar. */
export function encodeOkpPkcs8(curve: OkpCurve, privateKey: Uint8Array): Uint8Array {
  return concatBytes(OKP_PKCS8_PREFIX[curve], privateKey)
}

// RFC 5480 §2.1.1: id-ecPublicKey 1.2.840.10045.2.1, then the named curve's OID (§2.1.1.1).
const EC_PUBLIC_KEY_OID = Uint8Array.of(0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01)
const NIST_CURVE_OID: Readonly<Record<NistCurve, Uint8Array>> = {
  'P-256': Uint8Array.of(0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07),
  'P-384': Uint8Array.of(0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22),
  'P-521': Uint8Array.of(0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23),
}

/** A DER TLV with a short-form length; every structure here is below 128 bytes. */
function tlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  const body = concatBytes(...content)
  if (body.length >= 0x80) throw new RangeError('tlv: body needs a long-form length')
  return concatBytes(Uint8Array.of(tag, body.length), body)
}

/**
 * PKCS#8 wrapping RFC 5915's ECPrivateKey { version 1, privateKey } with the optional public key
 * left out; Chromium (BoringSSL) and Node (OpenSSL) derive it on import.
 */
export function encodeNistPkcs8(curve: NistCurve, scalar: Uint8Array): Uint8Array {
  const ecPrivateKey = tlv(0x30, Uint8Array.of(0x02, 0x01, 0x01), tlv(0x04, scalar))
  const algorithm = tlv(0x30, EC_PUBLIC_KEY_OID, NIST_CURVE_OID[curve])
  return tlv(0x30, Uint8Array.of(0x02, 0x01, 0x00), algorithm, tlv(0x04, ecPrivateKey))
}

/** RFC 7515 §2 base64url without padding, as JWK members carry bytes. */
export function decodeBase64Url(value: string): Uint8Array {
  const base64 = value.replace(/-/g, '+').replace(/_/g, '/')
  const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4))
  const out = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i)
  return out
}

/** Reads one base64url member of an exported JWK, checking its decoded length. */
export function readJwkBytes(jwk: JsonWebKey, member: 'x' | 'y' | 'd', length: number): Uint8Array {
  const value = jwk[member]
  if (typeof value !== 'string') throw new TypeError(`exported JWK has no '${member}'`)
  const bytes = decodeBase64Url(value)
  if (bytes.length !== length) throw new TypeError(`exported JWK '${member}' has ${bytes.length} bytes`)
  return bytes
}
