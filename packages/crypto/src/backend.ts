/**
 * The one interface behind which Tacit's primitives live. Two implementations pass the same
 * tests: `node/backend.ts` (node:crypto, cached KeyObjects) and `web/backend.ts` (WebCrypto).
 * ML-KEM-768 and X-Wing come from @noble/post-quantum in both (absent from node:crypto 20 and
 * from WebCrypto). Nothing here is written by hand: every primitive is a call into one of those.
 *
 * Keys cross this interface as raw bytes in the encodings the MLS and HPKE RFCs use:
 * - Ed25519/Ed448: RFC 8032 public key and 32/57-byte seed as private key.
 * - ECDSA/ECDH on P-256/384/521: SEC1 uncompressed public point; private key as the big-endian
 *   scalar of the curve's byte length (RFC 9180 §7.1.2, RFC 9420 §5.1.1).
 * - X25519/X448: RFC 7748 u-coordinate and scalar.
 * - ECDSA signatures: DER (RFC 9420 §5.1.1 uses the X9.62 DER form for ECDSA in MLS).
 * Backends cache imported keys internally, so repeated use of one key does not re-import it.
 */

export type HashName = 'SHA-256' | 'SHA-384' | 'SHA-512'
export type AeadName = 'AES-128-GCM' | 'AES-256-GCM' | 'ChaCha20-Poly1305'
export type SignatureName = 'Ed25519' | 'Ed448' | 'P-256' | 'P-384' | 'P-521'
export type DhName = 'X25519' | 'X448' | 'P-256' | 'P-384' | 'P-521'

export interface KeyPairBytes {
  readonly publicKey: Uint8Array
  readonly privateKey: Uint8Array
}

export interface HashOps {
  digest(hash: HashName, data: Uint8Array): Promise<Uint8Array>
  hmac(hash: HashName, key: Uint8Array, data: Uint8Array): Promise<Uint8Array>
  /** Constant-time comparison of the expected tag (full length) with `tag`. */
  hmacVerify(hash: HashName, key: Uint8Array, data: Uint8Array, tag: Uint8Array): Promise<boolean>
  /** RFC 5869 §2.2. An empty salt means HashLen zero bytes. */
  hkdfExtract(hash: HashName, salt: Uint8Array, ikm: Uint8Array): Promise<Uint8Array>
  /** RFC 5869 §2.3. Throws `limit-exceeded` when length > 255 * HashLen. */
  hkdfExpand(hash: HashName, prk: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array>
}

export interface AeadOps {
  /** Returns ciphertext ‖ 16-byte tag. Nonce is 12 bytes. */
  seal(
    aead: AeadName,
    key: Uint8Array,
    nonce: Uint8Array,
    aad: Uint8Array,
    plaintext: Uint8Array,
  ): Promise<Uint8Array>
  /** Throws CryptoError('aead-auth-failed') on any authentication failure. */
  open(
    aead: AeadName,
    key: Uint8Array,
    nonce: Uint8Array,
    aad: Uint8Array,
    ciphertext: Uint8Array,
  ): Promise<Uint8Array>
}

export interface SignatureOps {
  generate(alg: SignatureName): Promise<KeyPairBytes>
  publicKeyOf(alg: SignatureName, privateKey: Uint8Array): Promise<Uint8Array>
  sign(alg: SignatureName, privateKey: Uint8Array, message: Uint8Array): Promise<Uint8Array>
  /** Returns false (never throws) for a malformed key or signature. */
  verify(
    alg: SignatureName,
    publicKey: Uint8Array,
    message: Uint8Array,
    signature: Uint8Array,
  ): Promise<boolean>
}

export interface DhOps {
  generate(alg: DhName): Promise<KeyPairBytes>
  publicKeyOf(alg: DhName, privateKey: Uint8Array): Promise<Uint8Array>
  /**
   * The raw shared secret (X coordinate for NIST curves). Throws `invalid-public-key` for a
   * malformed or off-curve point and, for X25519/X448, for an all-zero result (RFC 9180 §7.1.4,
   * RFC 7748 §6.1). A NIST-curve secret of all zeros is a valid x = 0 point and is returned
   * (Wycheproof ecdh_*_ecpoint tcId 3).
   */
  sharedSecret(alg: DhName, privateKey: Uint8Array, peerPublicKey: Uint8Array): Promise<Uint8Array>
}

export interface CryptoBackend {
  readonly name: 'node' | 'webcrypto'
  /** CSPRNG output (node:crypto randomFillSync / crypto.getRandomValues). */
  randomBytes(length: number): Uint8Array
  readonly hash: HashOps
  readonly aead: AeadOps
  readonly signature: SignatureOps
  readonly dh: DhOps
  supports(alg: HashName | AeadName | SignatureName | DhName): boolean
}

export const HASH_LENGTH: Readonly<Record<HashName, number>> = { 'SHA-256': 32, 'SHA-384': 48, 'SHA-512': 64 }
export const AEAD_KEY_LENGTH: Readonly<Record<AeadName, number>> = {
  'AES-128-GCM': 16,
  'AES-256-GCM': 32,
  'ChaCha20-Poly1305': 32,
}
export const AEAD_NONCE_LENGTH = 12
export const AEAD_TAG_LENGTH = 16
/** The largest single AEAD call we accept (files are chunked far below this). */
export const MAX_AEAD_INPUT = 64 * 1024 * 1024
/** The largest input to a hash, HMAC, HKDF or signature call (messages are chunked well below). */
export const MAX_HASH_INPUT = 64 * 1024 * 1024
/** The largest randomBytes request (getRandomValues refuses more than 65,536 per call). */
export const MAX_RANDOM_BYTES = 1024 * 1024
