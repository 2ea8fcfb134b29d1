import {
  AEAD_KEY_LENGTH,
  AEAD_NONCE_LENGTH,
  AEAD_TAG_LENGTH,
  type AeadName,
  type CryptoBackend,
  type DhName,
  HASH_LENGTH,
  type HashName,
  type KeyPairBytes,
  MAX_AEAD_INPUT,
  MAX_HASH_INPUT,
  MAX_RANDOM_BYTES,
  type SignatureName,
} from '../backend.ts'
import { abytes, concatBytes, equalBytes } from '../bytes.ts'
import { CryptoError, type CryptoErrorCode } from '../errors.ts'
import { decodeDerSignature, encodeDerSignature } from './ecdsa-der.ts'
import { KeyCache } from './key-cache.ts'
import {
  encodeNistPkcs8,
  encodeOkpPkcs8,
  NIST_CURVE_SIZE,
  type NistCurve,
  readJwkBytes,
} from './key-encoding.ts'

/**
 * The WebCrypto backend: every classical primitive is a call into `crypto.subtle` (browsers, and
 * Node's globalThis.crypto in tests). Algorithms WebCrypto lacks (ChaCha20-Poly1305, X448,
 * Ed448) are unsupported here: `supports()` says false and calls throw `unsupported-algorithm`.
 * There is deliberately no fallback to another implementation behind the caller's back.
 *
 * Imported private and public keys are kept in bounded caches (see `key-cache.ts`); symmetric
 * keys are imported per call, because MLS uses each AEAD and HMAC key once or a few times.
 */

/** Signature private keys: a device holds a handful (MLS leaf keys, identity key). */
export const MAX_CACHED_SIGNING_KEYS = 64
/** DH private keys apart from signing keys, so a burst of HPKE keys cannot evict the signing key. */
export const MAX_CACHED_DH_PRIVATE_KEYS = 64
/** Verification keys of group members. */
export const MAX_CACHED_PUBLIC_KEYS = 1024
/** getRandomValues throws QuotaExceededError above this many bytes (W3C WebCrypto §10.1.1). */
export const MAX_GET_RANDOM_VALUES_BYTES = 65_536

export interface WebCryptoBackend extends CryptoBackend {
  readonly name: 'webcrypto'
  /** Drops every cached CryptoKey (e.g. on logout, so keys do not outlive the session). */
  clearKeyCaches(): void
  /** Current cache sizes, for tests and diagnostics (no key material). */
  keyCacheSizes(): { signing: number; dhPrivate: number; public: number }
}

type RandomFill = (array: Uint8Array<ArrayBuffer>) => Uint8Array

const SUPPORTED: ReadonlySet<string> = new Set([
  'SHA-256',
  'SHA-384',
  'SHA-512',
  'AES-128-GCM',
  'AES-256-GCM',
  'Ed25519',
  'P-256',
  'P-384',
  'P-521',
  'X25519',
])

/** RFC 9420 §5.1.1 pairs each ECDSA curve with its hash (ecdsa_secp256r1_sha256 etc.). */
const ECDSA_HASH: Readonly<Record<NistCurve, HashName>> = {
  'P-256': 'SHA-256',
  'P-384': 'SHA-384',
  'P-521': 'SHA-512',
}

type WebSignatureName = 'Ed25519' | NistCurve
type WebDhName = 'X25519' | NistCurve
type KeyRole = 'sign' | 'dh'

function isNist(alg: string): alg is NistCurve {
  return alg === 'P-256' || alg === 'P-384' || alg === 'P-521'
}

function checkHash(hash: HashName): number {
  const length = HASH_LENGTH[hash]
  if (length === undefined) throw new CryptoError('unsupported-algorithm', `hash ${String(hash)}`)
  return length
}

function checkSignatureName(alg: SignatureName): WebSignatureName {
  if (alg === 'Ed25519' || isNist(alg)) return alg
  throw new CryptoError('unsupported-algorithm', `signature ${String(alg)} is not available in WebCrypto`)
}

function checkDhName(alg: DhName): WebDhName {
  if (alg === 'X25519' || isNist(alg)) return alg
  throw new CryptoError('unsupported-algorithm', `DH ${String(alg)} is not available in WebCrypto`)
}

function checkAeadKeyLength(aead: AeadName): number {
  if (aead !== 'AES-128-GCM' && aead !== 'AES-256-GCM') {
    throw new CryptoError('unsupported-algorithm', `AEAD ${String(aead)} is not available in WebCrypto`)
  }
  return AEAD_KEY_LENGTH[aead]
}

function checkInput(value: unknown, field: string, max: number): Uint8Array<ArrayBuffer> {
  const bytes = abytes(value, field)
  if (bytes.length > max) throw new CryptoError('limit-exceeded', `${field} is longer than ${max} bytes`)
  return asBufferSource(bytes)
}

function checkLength(bytes: Uint8Array, length: number, field: string): void {
  if (bytes.length !== length) {
    throw new CryptoError('invalid-length', `${field} must be ${length} bytes, got ${bytes.length}`)
  }
}

/**
 * WebCrypto copies its inputs when called (W3C WebCrypto §14.3, "get a copy of the buffer
 * source"), so a view is passed as is; only a view of a SharedArrayBuffer is copied first.
 */
function asBufferSource(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes)
}

function privateKeyLength(alg: WebSignatureName | WebDhName): number {
  return isNist(alg) ? NIST_CURVE_SIZE[alg] : 32
}

function publicKeyLength(alg: WebSignatureName | WebDhName): number {
  return isNist(alg) ? 1 + 2 * NIST_CURVE_SIZE[alg] : 32
}

function importParams(alg: WebSignatureName | WebDhName, role: KeyRole): EcKeyImportParams | Algorithm {
  if (isNist(alg)) return { name: role === 'sign' ? 'ECDSA' : 'ECDH', namedCurve: alg }
  return { name: alg }
}

function errorName(error: unknown): string | undefined {
  const name = (error as { name?: unknown } | null)?.name
  return typeof name === 'string' ? name : undefined
}

/** Maps a WebCrypto rejection to our code; a missing algorithm is never reported as bad input. */
function rethrow(error: unknown, code: CryptoErrorCode, message: string): never {
  if (CryptoError.is(error)) throw error
  if (errorName(error) === 'NotSupportedError') {
    throw new CryptoError('unsupported-algorithm', `${message}: not supported by this WebCrypto`, {
      cause: error,
    })
  }
  throw new CryptoError(code, message, { cause: error })
}

/** Constant-time "is every byte zero" (RFC 7748 §6.1, RFC 9180 §7.1.4 all-zero check). */
function isAllZero(bytes: Uint8Array): boolean {
  let acc = 0
  for (const b of bytes) acc |= b
  return acc === 0
}

/**
 * A CryptoBackend over `subtle`. Without arguments it uses `globalThis.crypto`, looked up on
 * first use, so importing this module never fails where WebCrypto is missing (an insecure page).
 */
export function createWebCryptoBackend(
  subtle?: SubtleCrypto,
  getRandomValues?: RandomFill,
): WebCryptoBackend {
  const signingKeys = new KeyCache(MAX_CACHED_SIGNING_KEYS)
  const dhPrivateKeys = new KeyCache(MAX_CACHED_DH_PRIVATE_KEYS)
  const publicKeys = new KeyCache(MAX_CACHED_PUBLIC_KEYS)

  function getSubtle(): SubtleCrypto {
    const found = subtle ?? globalThis.crypto?.subtle
    if (found === undefined) {
      throw new CryptoError(
        'unsupported-algorithm',
        'WebCrypto is unavailable (crypto.subtle needs a secure context)',
      )
    }
    return found
  }

  function fillRandom(array: Uint8Array<ArrayBuffer>): void {
    if (getRandomValues !== undefined) {
      getRandomValues(array)
      return
    }
    if (globalThis.crypto?.getRandomValues === undefined) {
      throw new CryptoError('unsupported-algorithm', 'crypto.getRandomValues is unavailable')
    }
    globalThis.crypto.getRandomValues(array)
  }

  async function importPrivate(
    alg: WebSignatureName | WebDhName,
    role: KeyRole,
    raw: Uint8Array,
    extractable: boolean,
  ): Promise<CryptoKey> {
    const pkcs8 = isNist(alg) ? encodeNistPkcs8(alg, raw) : encodeOkpPkcs8(alg, raw)
    const usages: KeyUsage[] = role === 'sign' ? ['sign'] : ['deriveBits']
    try {
      return await getSubtle().importKey(
        'pkcs8',
        asBufferSource(pkcs8),
        importParams(alg, role),
        extractable,
        usages,
      )
    } catch (error) {
      // Out-of-range scalars (0, or ≥ n on NIST curves) are refused here by the platform.
      return rethrow(error, 'invalid-key', `${alg} private key did not import`)
    } finally {
      pkcs8.fill(0)
    }
  }

  /** The cached non-extractable private key; throws `invalid-length` before touching the cache. */
  function privateKey(alg: WebSignatureName | WebDhName, role: KeyRole, raw: unknown): Promise<CryptoKey> {
    const bytes = abytes(raw, 'privateKey')
    checkLength(bytes, privateKeyLength(alg), `${alg} private key`)
    const cache = role === 'sign' ? signingKeys : dhPrivateKeys
    return cache.resolve(`${role}:${alg}`, bytes, () => importPrivate(alg, role, bytes, false))
  }

  /**
   * Imports a raw public key. NIST points must be SEC1 uncompressed (RFC 9180 §7.1.1, RFC 9420
   * §5.1.1); the platform checks they lie on the curve. Throws `invalid-length` or
   * `invalid-public-key`.
   */
  async function importPublic(
    alg: WebSignatureName | WebDhName,
    role: KeyRole,
    raw: Uint8Array,
  ): Promise<CryptoKey> {
    checkLength(raw, publicKeyLength(alg), `${alg} public key`)
    if (isNist(alg) && raw[0] !== 0x04) {
      throw new CryptoError('invalid-public-key', `${alg} public key is not uncompressed`)
    }
    const usages: KeyUsage[] = role === 'sign' ? ['verify'] : []
    try {
      return await getSubtle().importKey('raw', asBufferSource(raw), importParams(alg, role), true, usages)
    } catch (error) {
      return rethrow(error, 'invalid-public-key', `${alg} public key did not import`)
    }
  }

  async function exportPublicOf(
    alg: WebSignatureName | WebDhName,
    role: KeyRole,
    raw: unknown,
  ): Promise<Uint8Array> {
    const bytes = abytes(raw, 'privateKey')
    checkLength(bytes, privateKeyLength(alg), `${alg} private key`)
    // A separate extractable import: the cached signing/DH key stays non-extractable.
    const key = await importPrivate(alg, role, bytes, true)
    try {
      const jwk = await getSubtle().exportKey('jwk', key)
      if (!isNist(alg)) return readJwkBytes(jwk, 'x', 32)
      const size = NIST_CURVE_SIZE[alg]
      return concatBytes(Uint8Array.of(0x04), readJwkBytes(jwk, 'x', size), readJwkBytes(jwk, 'y', size))
    } catch (error) {
      return rethrow(error, 'internal', `${alg} public key export failed`)
    }
  }

  async function generatePair(alg: WebSignatureName | WebDhName, role: KeyRole): Promise<KeyPairBytes> {
    const usages: KeyUsage[] = role === 'sign' ? ['sign', 'verify'] : ['deriveBits']
    const s = getSubtle()
    try {
      const pair = (await s.generateKey(importParams(alg, role), true, usages)) as CryptoKeyPair
      const publicKey = new Uint8Array(await s.exportKey('raw', pair.publicKey))
      const jwk = await s.exportKey('jwk', pair.privateKey)
      // RFC 7518 §6.2.2.1 / RFC 8037 §2: `d` is the fixed-length scalar or seed.
      return { publicKey, privateKey: readJwkBytes(jwk, 'd', privateKeyLength(alg)) }
    } catch (error) {
      return rethrow(error, 'internal', `${alg} key generation failed`)
    }
  }

  async function hmacKey(hash: HashName, key: Uint8Array<ArrayBuffer>, usage: KeyUsage): Promise<CryptoKey> {
    // WebCrypto refuses an empty HMAC key. RFC 2104 §2 pads the key with zeros to the block
    // size, so an empty key and HashLen zero bytes are the same key.
    const material = key.length === 0 ? new Uint8Array(checkHash(hash)) : key
    try {
      return await getSubtle().importKey('raw', material, { name: 'HMAC', hash }, false, [usage])
    } catch (error) {
      return rethrow(error, 'internal', `HMAC-${hash} key import failed`)
    }
  }

  async function hmacSign(
    hash: HashName,
    key: CryptoKey,
    data: Uint8Array<ArrayBuffer>,
  ): Promise<Uint8Array> {
    try {
      return new Uint8Array(await getSubtle().sign('HMAC', key, data))
    } catch (error) {
      return rethrow(error, 'internal', `HMAC-${hash} failed`)
    }
  }

  async function hmac(
    hash: HashName,
    key: Uint8Array<ArrayBuffer>,
    data: Uint8Array<ArrayBuffer>,
  ): Promise<Uint8Array> {
    return hmacSign(hash, await hmacKey(hash, key, 'sign'), data)
  }

  async function aesKey(aead: AeadName, key: unknown, usage: KeyUsage): Promise<CryptoKey> {
    const bytes = abytes(key, 'key', checkAeadKeyLength(aead))
    try {
      return await getSubtle().importKey('raw', asBufferSource(bytes), 'AES-GCM', false, [usage])
    } catch (error) {
      return rethrow(error, 'internal', `${aead} key import failed`)
    }
  }

  return {
    name: 'webcrypto',

    randomBytes(length: number): Uint8Array {
      if (!Number.isSafeInteger(length) || length < 0) {
        throw new CryptoError('invalid-length', 'randomBytes length must be a non-negative integer')
      }
      if (length > MAX_RANDOM_BYTES) {
        throw new CryptoError('limit-exceeded', `randomBytes length above ${MAX_RANDOM_BYTES}`)
      }
      const out = new Uint8Array(length)
      for (let offset = 0; offset < length; offset += MAX_GET_RANDOM_VALUES_BYTES) {
        fillRandom(out.subarray(offset, Math.min(length, offset + MAX_GET_RANDOM_VALUES_BYTES)))
      }
      return out
    },

    hash: {
      async digest(hash, data) {
        checkHash(hash)
        const input = checkInput(data, 'data', MAX_HASH_INPUT)
        try {
          return new Uint8Array(await getSubtle().digest(hash, input))
        } catch (error) {
          return rethrow(error, 'internal', `${hash} failed`)
        }
      },

      async hmac(hash, key, data) {
        checkHash(hash)
        return hmac(hash, checkInput(key, 'key', MAX_HASH_INPUT), checkInput(data, 'data', MAX_HASH_INPUT))
      },

      async hmacVerify(hash, key, data, tag) {
        checkHash(hash)
        const expected = await hmac(
          hash,
          checkInput(key, 'key', MAX_HASH_INPUT),
          checkInput(data, 'data', MAX_HASH_INPUT),
        )
        // Tag lengths are public (fixed by the hash); equalBytes compares contents in constant time.
        return equalBytes(expected, abytes(tag, 'tag'))
      },

      async hkdfExtract(hash, salt, ikm) {
        const hashLength = checkHash(hash)
        const saltBytes = checkInput(salt, 'salt', MAX_HASH_INPUT)
        const ikmBytes = checkInput(ikm, 'ikm', MAX_HASH_INPUT)
        // RFC 5869 §2.2: PRK = HMAC-Hash(salt, IKM); an absent salt is HashLen zero bytes.
        return hmac(hash, saltBytes.length === 0 ? new Uint8Array(hashLength) : saltBytes, ikmBytes)
      },

      async hkdfExpand(hash, prk, info, length) {
        const hashLength = checkHash(hash)
        const prkBytes = checkInput(prk, 'prk', MAX_HASH_INPUT)
        const infoBytes = checkInput(info, 'info', MAX_HASH_INPUT)
        if (!Number.isSafeInteger(length) || length < 0) {
          throw new CryptoError('invalid-length', 'HKDF output length must be a non-negative integer')
        }
        // RFC 5869 §2.3: L <= 255 * HashLen.
        if (length > 255 * hashLength)
          throw new CryptoError('limit-exceeded', 'HKDF output length above 255 * HashLen')
        // WebCrypto's HKDF always extracts first (deriveBits takes IKM and salt, not a PRK), so
        // expand is composed from WebCrypto HMAC as RFC 5869 §2.3 defines it:
        // T(0) = empty, T(i) = HMAC-Hash(PRK, T(i-1) | info | i), OKM = first L octets of T(1) | T(2) | ...
        const key = await hmacKey(hash, prkBytes, 'sign')
        const out = new Uint8Array(Math.ceil(length / hashLength) * hashLength)
        let previous: Uint8Array = new Uint8Array(0)
        for (let i = 1, offset = 0; offset < length; i++, offset += hashLength) {
          previous = await hmacSign(
            hash,
            key,
            asBufferSource(concatBytes(previous, infoBytes, Uint8Array.of(i))),
          )
          out.set(previous, offset)
        }
        return out.slice(0, length)
      },
    },

    aead: {
      async seal(aead, key, nonce, aad, plaintext) {
        checkAeadKeyLength(aead)
        const nonceBytes = asBufferSource(abytes(nonce, 'nonce', AEAD_NONCE_LENGTH))
        const aadBytes = checkInput(aad, 'aad', MAX_AEAD_INPUT)
        const input = checkInput(plaintext, 'plaintext', MAX_AEAD_INPUT)
        const cryptoKey = await aesKey(aead, key, 'encrypt')
        try {
          // W3C WebCrypto §27.3: the result is ciphertext ‖ tag, as the interface returns it.
          const params: AesGcmParams = {
            name: 'AES-GCM',
            iv: nonceBytes,
            additionalData: aadBytes,
            tagLength: 128,
          }
          return new Uint8Array(await getSubtle().encrypt(params, cryptoKey, input))
        } catch (error) {
          return rethrow(error, 'internal', `${aead} seal failed`)
        }
      },

      async open(aead, key, nonce, aad, ciphertext) {
        checkAeadKeyLength(aead)
        const nonceBytes = asBufferSource(abytes(nonce, 'nonce', AEAD_NONCE_LENGTH))
        const aadBytes = checkInput(aad, 'aad', MAX_AEAD_INPUT)
        const input = checkInput(ciphertext, 'ciphertext', MAX_AEAD_INPUT + AEAD_TAG_LENGTH)
        if (input.length < AEAD_TAG_LENGTH) {
          throw new CryptoError('invalid-length', `ciphertext shorter than the ${AEAD_TAG_LENGTH}-byte tag`)
        }
        const cryptoKey = await aesKey(aead, key, 'decrypt')
        try {
          const params: AesGcmParams = {
            name: 'AES-GCM',
            iv: nonceBytes,
            additionalData: aadBytes,
            tagLength: 128,
          }
          return new Uint8Array(await getSubtle().decrypt(params, cryptoKey, input))
        } catch (error) {
          // WebCrypto reports a failed tag check as OperationError and releases no plaintext.
          if (errorName(error) === 'OperationError') {
            throw new CryptoError('aead-auth-failed', 'AEAD authentication failed', { cause: error })
          }
          return rethrow(error, 'internal', `${aead} open failed`)
        }
      },
    },

    signature: {
      async generate(alg) {
        return generatePair(checkSignatureName(alg), 'sign')
      },

      async publicKeyOf(alg, privateKey) {
        return exportPublicOf(checkSignatureName(alg), 'sign', privateKey)
      },

      async sign(alg, rawPrivateKey, message) {
        const name = checkSignatureName(alg)
        const input = checkInput(message, 'message', MAX_HASH_INPUT)
        const key = await privateKey(name, 'sign', rawPrivateKey)
        try {
          if (!isNist(name)) return new Uint8Array(await getSubtle().sign('Ed25519', key, input))
          const p1363 = new Uint8Array(
            await getSubtle().sign({ name: 'ECDSA', hash: ECDSA_HASH[name] }, key, input),
          )
          return encodeDerSignature(p1363, NIST_CURVE_SIZE[name])
        } catch (error) {
          return rethrow(error, 'internal', `${name} signing failed`)
        }
      },

      async verify(alg, rawPublicKey, message, signature) {
        const name = checkSignatureName(alg)
        const input = checkInput(message, 'message', MAX_HASH_INPUT)
        const signatureBytes = abytes(signature, 'signature')
        const publicBytes = abytes(rawPublicKey, 'publicKey')
        let key: CryptoKey
        try {
          key = await publicKeys.resolve(`verify:${name}`, publicBytes, () =>
            importPublic(name, 'sign', publicBytes),
          )
        } catch (error) {
          if (CryptoError.is(error, 'unsupported-algorithm')) throw error
          return false
        }
        try {
          if (!isNist(name))
            return await getSubtle().verify('Ed25519', key, asBufferSource(signatureBytes), input)
          const decoded = decodeDerSignature(signatureBytes, NIST_CURVE_SIZE[name])
          if (decoded.kind === 'malformed') return false
          const params: EcdsaParams = { name: 'ECDSA', hash: ECDSA_HASH[name] }
          return await getSubtle().verify(params, key, asBufferSource(decoded.signature), input)
        } catch {
          // A signature the platform cannot parse is a failed verification, not an error.
          return false
        }
      },
    },

    dh: {
      async generate(alg) {
        return generatePair(checkDhName(alg), 'dh')
      },

      async publicKeyOf(alg, privateKey) {
        return exportPublicOf(checkDhName(alg), 'dh', privateKey)
      },

      async sharedSecret(alg, rawPrivateKey, peerPublicKey) {
        const name = checkDhName(alg)
        const own = await privateKey(name, 'dh', rawPrivateKey)
        // Peer keys in HPKE are mostly one-time encapsulations: imported per call, not cached.
        const peer = await importPublic(name, 'dh', abytes(peerPublicKey, 'peerPublicKey'))
        const bits = 8 * (isNist(name) ? NIST_CURVE_SIZE[name] : 32)
        let secret: Uint8Array
        try {
          const params: EcdhKeyDeriveParams = { name: isNist(name) ? 'ECDH' : 'X25519', public: peer }
          secret = new Uint8Array(await getSubtle().deriveBits(params, own, bits))
        } catch (error) {
          // BoringSSL and OpenSSL refuse all-zero X25519 results (low-order peer points).
          return rethrow(error, 'invalid-public-key', `${name} key agreement failed`)
        }
        // RFC 7748 §6.1 / RFC 9180 §7.1.4: an all-zero X25519 output means a low-order peer point.
        // For NIST curves x = 0 is a valid point (Wycheproof ecdh_*_ecpoint tcId 3), as in the Node
        // backend; the platform already refuses the point at infinity.
        if (!isNist(name) && isAllZero(secret)) {
          throw new CryptoError('invalid-public-key', `${name} shared secret is all zero`)
        }
        return secret
      },
    },

    supports(alg) {
      return SUPPORTED.has(alg)
    },

    clearKeyCaches() {
      signingKeys.clear()
      dhPrivateKeys.clear()
      publicKeys.clear()
    },

    keyCacheSizes() {
      return { signing: signingKeys.size, dhPrivate: dhPrivateKeys.size, public: publicKeys.size }
    },
  }
}

/** The backend over the platform's own WebCrypto (browsers; Node's globalThis.crypto in tests). */
export const webCryptoBackend: WebCryptoBackend = createWebCryptoBackend()
