import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  diffieHellman,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
  sign as nodeSign,
  verify as nodeVerify,
  randomFillSync,
  timingSafeEqual,
} from 'node:crypto'
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
import { abytes } from '../bytes.ts'
import { CryptoError } from '../errors.ts'
import { KeyObjectCache } from './key-cache.ts'
import {
  type CurveName,
  exportPublicKey,
  importPrivateKey,
  importPublicKey,
  isNist,
  type OkpName,
  rawFromEcJwk,
  rawFromPkcs8,
  rawFromSpki,
  rawPrivateFromEcJwk,
} from './key-encoding.ts'

/**
 * The Node backend: every primitive is a call into node:crypto (OpenSSL). Imported keys are kept
 * in bounded LRU caches, so the MLS signing key and the HPKE keys used again and again are
 * parsed by OpenSSL once, not on every call (the main cost in ts-mls's default provider).
 */

/** Signature private keys: a device holds a handful (MLS leaf keys, identity key). */
export const MAX_CACHED_SIGNING_KEYS = 64
/**
 * DH private keys are kept apart from signing keys: one commit to a large group makes many
 * ephemeral HPKE keys, and they must not evict the long-lived signing key.
 */
export const MAX_CACHED_DH_PRIVATE_KEYS = 64
/** Public keys of group members (signature verification, HPKE encryption to their leaves). */
export const MAX_CACHED_PUBLIC_KEYS = 1024

const signingKeys = new KeyObjectCache(MAX_CACHED_SIGNING_KEYS)
const dhPrivateKeys = new KeyObjectCache(MAX_CACHED_DH_PRIVATE_KEYS)
const publicKeys = new KeyObjectCache(MAX_CACHED_PUBLIC_KEYS)

/** Drops every cached KeyObject (e.g. on logout, so keys do not outlive the session). */
export function clearNodeKeyCaches(): void {
  signingKeys.clear()
  dhPrivateKeys.clear()
  publicKeys.clear()
}

/** Current cache sizes, for tests and diagnostics (no key material). */
export function nodeKeyCacheSizes(): { signing: number; dhPrivate: number; public: number } {
  return { signing: signingKeys.size, dhPrivate: dhPrivateKeys.size, public: publicKeys.size }
}

const NODE_HASH: Readonly<Record<HashName, string>> = {
  'SHA-256': 'sha256',
  'SHA-384': 'sha384',
  'SHA-512': 'sha512',
}

const NODE_AEAD: Readonly<Record<AeadName, 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305'>> = {
  'AES-128-GCM': 'aes-128-gcm',
  'AES-256-GCM': 'aes-256-gcm',
  'ChaCha20-Poly1305': 'chacha20-poly1305',
}

/** RFC 9420 §5.1.1 pairs each ECDSA curve with its hash (ecdsa_secp256r1_sha256 etc.). */
const ECDSA_HASH: Readonly<Record<'P-256' | 'P-384' | 'P-521', string>> = {
  'P-256': 'sha256',
  'P-384': 'sha384',
  'P-521': 'sha512',
}

const SIGNATURE_NAMES: readonly SignatureName[] = ['Ed25519', 'Ed448', 'P-256', 'P-384', 'P-521']
const DH_NAMES: readonly DhName[] = ['X25519', 'X448', 'P-256', 'P-384', 'P-521']

function hashName(hash: HashName): string {
  const name = NODE_HASH[hash]
  if (name === undefined) throw new CryptoError('unsupported-algorithm', `hash ${String(hash)}`)
  return name
}

function checkSignatureName(alg: SignatureName): void {
  if (!SIGNATURE_NAMES.includes(alg))
    throw new CryptoError('unsupported-algorithm', `signature ${String(alg)}`)
}

function checkDhName(alg: DhName): void {
  if (!DH_NAMES.includes(alg)) throw new CryptoError('unsupported-algorithm', `DH ${String(alg)}`)
}

function checkInput(value: unknown, field: string, max: number): Uint8Array {
  const bytes = abytes(value, field)
  if (bytes.length > max) throw new CryptoError('limit-exceeded', `${field} is longer than ${max} bytes`)
  return bytes
}

function toBytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
}

function hmacSync(hash: HashName, key: Uint8Array, data: Uint8Array): Uint8Array {
  return toBytes(createHmac(hashName(hash), key).update(data).digest())
}

function signingKey(alg: CurveName, raw: Uint8Array): KeyObject {
  return signingKeys.get(alg, raw, () => importPrivateKey(alg, raw))
}

function dhPrivateKey(alg: CurveName, raw: Uint8Array): KeyObject {
  return dhPrivateKeys.get(alg, raw, () => importPrivateKey(alg, raw))
}

function publicKey(alg: CurveName, raw: Uint8Array): KeyObject {
  return publicKeys.get(alg, raw, () => importPublicKey(alg, raw))
}

/**
 * A fresh key pair, encoded by the key generation itself. Never a KeyObject from
 * generateKeyPairSync that is exported afterwards: Node 20's key generation job locks the key's
 * mutex when the garbage collector destroys it, and an export holds that mutex while it allocates
 * (the JWK's strings), so a collection that lands inside the export and finalises the job that
 * made the key deadlocks the thread on itself (seen in bench:protocol: main thread in
 * `~KeyGenJob` → `uv_mutex_lock` under `ExportJWKEcKey`). Encoding inside the job, while the job
 * is still referenced, cannot meet its own destructor.
 */
function generateRaw(alg: CurveName): KeyPairBytes {
  const okp = (name: OkpName, type: string): KeyPairBytes => {
    const pair = generateEncodedKeyPair<Buffer>(type, {
      publicKeyEncoding: { type: 'spki', format: 'der' },
      privateKeyEncoding: { type: 'pkcs8', format: 'der' },
    })
    return { publicKey: rawFromSpki(name, pair.publicKey), privateKey: rawFromPkcs8(name, pair.privateKey) }
  }
  switch (alg) {
    case 'Ed25519':
      return okp(alg, 'ed25519')
    case 'Ed448':
      return okp(alg, 'ed448')
    case 'X25519':
      return okp(alg, 'x25519')
    case 'X448':
      return okp(alg, 'x448')
    case 'P-256':
    case 'P-384':
    case 'P-521': {
      const pair = generateEncodedKeyPair<JsonWebKey>('ec', {
        namedCurve: alg,
        publicKeyEncoding: { format: 'jwk' },
        privateKeyEncoding: { format: 'jwk' },
      })
      return {
        publicKey: rawFromEcJwk(alg, pair.publicKey),
        privateKey: rawPrivateFromEcJwk(alg, pair.privateKey),
      }
    }
  }
}

/** generateKeyPairSync with both halves encoded by the job (@types/node lacks the JWK overloads). */
const generateEncodedKeyPair = generateKeyPairSync as unknown as <T>(
  type: string,
  options: object,
) => { publicKey: T; privateKey: T }

/**
 * Small random requests (the 4-byte reuse guard of every MLS message, nonces) are served from a
 * pool refilled by randomFillSync, as node:crypto does for randomUUID: one call into OpenSSL
 * costs more than the bytes themselves. Bytes handed out are zeroed in the pool.
 */
const RANDOM_POOL_BYTES = 4096
const MAX_POOLED_REQUEST = 64
const randomPool = new Uint8Array(RANDOM_POOL_BYTES)
let randomPoolOffset = RANDOM_POOL_BYTES

function pooledRandomBytes(length: number): Uint8Array {
  if (randomPoolOffset + length > RANDOM_POOL_BYTES) {
    randomFillSync(randomPool)
    randomPoolOffset = 0
  }
  const end = randomPoolOffset + length
  const out = randomPool.slice(randomPoolOffset, end)
  randomPool.fill(0, randomPoolOffset, end)
  randomPoolOffset = end
  return out
}

/** HKDF-Expand's final counter byte for the common one-block output (RFC 5869 §2.3, T(1)). */
const FIRST_BLOCK = Uint8Array.of(1)

/** Constant-time "is every byte zero" (RFC 7748 §6.1, RFC 9180 §7.1.4 all-zero check). */
function isAllZero(bytes: Uint8Array): boolean {
  let acc = 0
  for (const b of bytes) acc |= b
  return acc === 0
}

export const nodeBackend: CryptoBackend = {
  name: 'node',

  randomBytes(length: number): Uint8Array {
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new CryptoError('invalid-length', 'randomBytes length must be a non-negative integer')
    }
    if (length > MAX_RANDOM_BYTES) {
      throw new CryptoError('limit-exceeded', `randomBytes length above ${MAX_RANDOM_BYTES}`)
    }
    if (length <= MAX_POOLED_REQUEST) return pooledRandomBytes(length)
    return randomFillSync(new Uint8Array(length))
  },

  hash: {
    async digest(hash, data) {
      checkInput(data, 'data', MAX_HASH_INPUT)
      return toBytes(createHash(hashName(hash)).update(data).digest())
    },

    async hmac(hash, key, data) {
      checkInput(key, 'key', MAX_HASH_INPUT)
      checkInput(data, 'data', MAX_HASH_INPUT)
      return hmacSync(hash, key, data)
    },

    async hmacVerify(hash, key, data, tag) {
      checkInput(key, 'key', MAX_HASH_INPUT)
      checkInput(data, 'data', MAX_HASH_INPUT)
      abytes(tag, 'tag')
      const expected = hmacSync(hash, key, data)
      // Tag lengths are public (fixed by the hash); only the contents are compared in constant time.
      if (tag.length !== expected.length) return false
      return timingSafeEqual(expected, tag)
    },

    async hkdfExtract(hash, salt, ikm) {
      checkInput(salt, 'salt', MAX_HASH_INPUT)
      checkInput(ikm, 'ikm', MAX_HASH_INPUT)
      // RFC 5869 §2.2: an absent salt is HashLen zero bytes.
      const key = salt.length === 0 ? new Uint8Array(HASH_LENGTH[hash]) : salt
      return hmacSync(hash, key, ikm)
    },

    async hkdfExpand(hash, prk, info, length) {
      checkInput(prk, 'prk', MAX_HASH_INPUT)
      checkInput(info, 'info', MAX_HASH_INPUT)
      const hashLength = HASH_LENGTH[hash]
      if (hashLength === undefined) throw new CryptoError('unsupported-algorithm', `hash ${String(hash)}`)
      if (!Number.isSafeInteger(length) || length < 0) {
        throw new CryptoError('invalid-length', 'HKDF output length must be a non-negative integer')
      }
      // RFC 5869 §2.3: L <= 255 * HashLen.
      if (length > 255 * hashLength)
        throw new CryptoError('limit-exceeded', 'HKDF output length above 255 * HashLen')
      // node:crypto's hkdf() always extracts first, so expand is composed from HMAC as in
      // RFC 5869 §2.3: T(i) = HMAC(PRK, T(i-1) | info | i).
      if (length <= hashLength) {
        // One block (every MLS ExpandWithLabel of a key, nonce or secret): T(1) = HMAC(PRK, info | 1).
        const block = createHmac(hashName(hash), prk).update(info).update(FIRST_BLOCK).digest()
        if (length === hashLength) return toBytes(block)
        // A short output (an AEAD key or nonce) is copied byte by byte: cheaper than a Buffer view.
        const out = new Uint8Array(length)
        for (let i = 0; i < length; i++) out[i] = block[i]!
        block.fill(0)
        return out
      }
      const out = new Uint8Array(Math.ceil(length / hashLength) * hashLength)
      let previous: Uint8Array = new Uint8Array(0)
      for (let i = 1, offset = 0; offset < length; i++, offset += hashLength) {
        const mac = createHmac(hashName(hash), prk)
        mac.update(previous)
        mac.update(info)
        mac.update(Uint8Array.of(i))
        previous = toBytes(mac.digest())
        out.set(previous, offset)
      }
      return out.slice(0, length)
    },
  },

  aead: {
    async seal(aead, key, nonce, aad, plaintext) {
      const cipherName = NODE_AEAD[aead]
      if (cipherName === undefined) throw new CryptoError('unsupported-algorithm', `AEAD ${String(aead)}`)
      abytes(key, 'key', AEAD_KEY_LENGTH[aead])
      abytes(nonce, 'nonce', AEAD_NONCE_LENGTH)
      checkInput(aad, 'aad', MAX_AEAD_INPUT)
      checkInput(plaintext, 'plaintext', MAX_AEAD_INPUT)
      const cipher =
        cipherName === 'chacha20-poly1305'
          ? createCipheriv(cipherName, key, nonce, { authTagLength: AEAD_TAG_LENGTH })
          : createCipheriv(cipherName, key, nonce, { authTagLength: AEAD_TAG_LENGTH })
      cipher.setAAD(aad, { plaintextLength: plaintext.length })
      const body = cipher.update(plaintext)
      const tail = cipher.final()
      return toBytes(Buffer.concat([body, tail, cipher.getAuthTag()]))
    },

    async open(aead, key, nonce, aad, ciphertext) {
      const cipherName = NODE_AEAD[aead]
      if (cipherName === undefined) throw new CryptoError('unsupported-algorithm', `AEAD ${String(aead)}`)
      abytes(key, 'key', AEAD_KEY_LENGTH[aead])
      abytes(nonce, 'nonce', AEAD_NONCE_LENGTH)
      checkInput(aad, 'aad', MAX_AEAD_INPUT)
      checkInput(ciphertext, 'ciphertext', MAX_AEAD_INPUT + AEAD_TAG_LENGTH)
      if (ciphertext.length < AEAD_TAG_LENGTH) {
        throw new CryptoError('invalid-length', `ciphertext shorter than the ${AEAD_TAG_LENGTH}-byte tag`)
      }
      const split = ciphertext.length - AEAD_TAG_LENGTH
      const decipher =
        cipherName === 'chacha20-poly1305'
          ? createDecipheriv(cipherName, key, nonce, { authTagLength: AEAD_TAG_LENGTH })
          : createDecipheriv(cipherName, key, nonce, { authTagLength: AEAD_TAG_LENGTH })
      decipher.setAuthTag(ciphertext.subarray(split))
      decipher.setAAD(aad, { plaintextLength: split })
      const body = decipher.update(ciphertext.subarray(0, split))
      try {
        const tail = decipher.final()
        // GCM and ChaCha20-Poly1305 are stream modes: final() returns nothing after the tag check.
        return toBytes(tail.length === 0 ? body : Buffer.concat([body, tail]))
      } catch (cause) {
        // Release nothing: the unauthenticated plaintext in `body` is dropped with this frame.
        body.fill(0)
        throw new CryptoError('aead-auth-failed', 'AEAD authentication failed', { cause })
      }
    },
  },

  signature: {
    async generate(alg) {
      checkSignatureName(alg)
      return generateRaw(alg)
    },

    async publicKeyOf(alg, privateKey) {
      checkSignatureName(alg)
      return exportPublicKey(alg, signingKey(alg, abytes(privateKey, 'privateKey')))
    },

    async sign(alg, privateKey, message) {
      checkSignatureName(alg)
      checkInput(message, 'message', MAX_HASH_INPUT)
      const key = signingKey(alg, abytes(privateKey, 'privateKey'))
      if (isNist(alg)) return toBytes(nodeSign(ECDSA_HASH[alg], message, { key, dsaEncoding: 'der' }))
      return toBytes(nodeSign(null, message, key))
    },

    async verify(alg, rawPublicKey, message, signature) {
      checkSignatureName(alg)
      checkInput(message, 'message', MAX_HASH_INPUT)
      abytes(signature, 'signature')
      abytes(rawPublicKey, 'publicKey')
      let key: KeyObject
      try {
        key = publicKey(alg, rawPublicKey)
      } catch {
        return false
      }
      try {
        if (isNist(alg)) return nodeVerify(ECDSA_HASH[alg], message, { key, dsaEncoding: 'der' }, signature)
        return nodeVerify(null, message, key, signature)
      } catch {
        // Malformed DER or a wrong-length EdDSA signature: a failed verification, not an error.
        return false
      }
    },
  },

  dh: {
    async generate(alg) {
      checkDhName(alg)
      return generateRaw(alg)
    },

    async publicKeyOf(alg, privateKey) {
      checkDhName(alg)
      return exportPublicKey(alg, dhPrivateKey(alg, abytes(privateKey, 'privateKey')))
    },

    async sharedSecret(alg, privateKey, peerPublicKey) {
      checkDhName(alg)
      const own = dhPrivateKey(alg, abytes(privateKey, 'privateKey'))
      let peer: KeyObject
      try {
        peer = publicKey(alg, abytes(peerPublicKey, 'peerPublicKey'))
      } catch (error) {
        if (CryptoError.is(error, 'invalid-length')) throw error
        throw new CryptoError('invalid-public-key', `${alg} peer public key is invalid`, { cause: error })
      }
      let secret: Uint8Array
      try {
        secret = toBytes(diffieHellman({ privateKey: own, publicKey: peer }))
      } catch (cause) {
        // OpenSSL refuses X25519/X448 results that are all zero (low-order peer points).
        throw new CryptoError('invalid-public-key', `${alg} key agreement failed`, { cause })
      }
      // RFC 7748 §6.1 / RFC 9180 §7.1.4: an all-zero X25519/X448 output means a low-order peer
      // point. (For NIST curves x = 0 is a valid point; OpenSSL already refuses infinity.)
      if (!isNist(alg) && isAllZero(secret)) {
        throw new CryptoError('invalid-public-key', `${alg} shared secret is all zero`)
      }
      return secret
    },
  },

  supports(alg) {
    return (
      alg in NODE_HASH ||
      alg in NODE_AEAD ||
      SIGNATURE_NAMES.includes(alg as SignatureName) ||
      DH_NAMES.includes(alg as DhName)
    )
  },
}
