import { type CryptoBackend, HASH_LENGTH } from './backend.ts'
import { abytes, equalBytes, hexToBytes } from './bytes.ts'
import { CryptoError } from './errors.ts'
import { createHpkeSuite, openBase, receiveExportBase, sealBase, sendExportBase } from './hpke/hpke.ts'
import { findMlsSuite, type MlsSuiteParams } from './suites.ts'

/**
 * The crypto of one MLS cipher suite in the shape of ts-mls 1.6.4's `CiphersuiteImpl`
 * (fields hash, hpke, signature, kdf, rng, name), declared here so that this package does not
 * import ts-mls (DESIGN.md §2); `packages/protocol` adapts it into a ts-mls CryptoProvider.
 *
 * Semantics follow ts-mls's default provider (implementation/default/*.js) where it matters for
 * interop: raw key encodings (RFC 9420 §5.1.1), HPKE private keys as the KEM's
 * SerializePrivateKey, X-Wing as in @hpke/hybridkem-x-wing, NIST private scalars (HPKE and
 * signature) left-padded when a leading zero byte was dropped (mls-implementations issue 176),
 * ECDSA signatures in DER.
 */

/** An HPKE public key handle. Shaped like a CryptoKey (which ts-mls's types name); holds no bytes. */
export interface HpkePublicKey {
  readonly type: 'public'
  readonly algorithm: { readonly name: string }
  readonly extractable: boolean
  readonly usages: KeyUsage[]
}

/** An HPKE private key handle. The key bytes live in a module-private WeakMap, not on the object. */
export interface HpkePrivateKey {
  readonly type: 'private'
  readonly algorithm: { readonly name: string }
  readonly extractable: boolean
  readonly usages: KeyUsage[]
}

export interface MlsHash {
  digest(data: Uint8Array): Promise<Uint8Array>
  mac(key: Uint8Array, data: Uint8Array): Promise<Uint8Array>
  verifyMac(key: Uint8Array, mac: Uint8Array, data: Uint8Array): Promise<boolean>
}

export interface MlsKdf {
  extract(salt: Uint8Array, ikm: Uint8Array): Promise<Uint8Array>
  expand(prk: Uint8Array, info: Uint8Array, len: number): Promise<Uint8Array>
  readonly size: number
}

export interface MlsSignature {
  sign(signKey: Uint8Array, message: Uint8Array): Promise<Uint8Array>
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>
  keygen(): Promise<{ publicKey: Uint8Array; signKey: Uint8Array }>
}

export interface MlsRng {
  randomBytes(n: number): Uint8Array
}

export interface MlsHpke {
  open(
    privateKey: HpkePrivateKey,
    kemOutput: Uint8Array,
    ciphertext: Uint8Array,
    info: Uint8Array,
    aad?: Uint8Array,
  ): Promise<Uint8Array>
  seal(
    publicKey: HpkePublicKey,
    plaintext: Uint8Array,
    info: Uint8Array,
    aad?: Uint8Array,
  ): Promise<{ ct: Uint8Array; enc: Uint8Array }>
  importPrivateKey(k: Uint8Array): Promise<HpkePrivateKey>
  importPublicKey(k: Uint8Array): Promise<HpkePublicKey>
  exportPublicKey(k: HpkePublicKey): Promise<Uint8Array>
  exportPrivateKey(k: HpkePrivateKey): Promise<Uint8Array>
  encryptAead(
    key: Uint8Array,
    nonce: Uint8Array,
    aad: Uint8Array | undefined,
    plaintext: Uint8Array,
  ): Promise<Uint8Array>
  decryptAead(
    key: Uint8Array,
    nonce: Uint8Array,
    aad: Uint8Array | undefined,
    ciphertext: Uint8Array,
  ): Promise<Uint8Array>
  exportSecret(
    publicKey: HpkePublicKey,
    exporterContext: Uint8Array,
    length: number,
    info: Uint8Array,
  ): Promise<{ enc: Uint8Array; secret: Uint8Array }>
  importSecret(
    privateKey: HpkePrivateKey,
    exporterContext: Uint8Array,
    kemOutput: Uint8Array,
    length: number,
    info: Uint8Array,
  ): Promise<Uint8Array>
  deriveKeyPair(ikm: Uint8Array): Promise<{ privateKey: HpkePrivateKey; publicKey: HpkePublicKey }>
  generateKeyPair(): Promise<{ privateKey: HpkePrivateKey; publicKey: HpkePublicKey }>
  readonly keyLength: number
  readonly nonceLength: number
}

export interface MlsSuiteCrypto {
  readonly hash: MlsHash
  readonly hpke: MlsHpke
  readonly signature: MlsSignature
  readonly kdf: MlsKdf
  readonly rng: MlsRng
  /** ts-mls's CiphersuiteName for this suite. */
  readonly name: string
}

interface PrivateKeyMaterial {
  readonly kem: string
  readonly privateKey: Uint8Array
  readonly publicKey: Uint8Array
}

const publicKeyBytes = new WeakMap<HpkePublicKey, { readonly kem: string; readonly publicKey: Uint8Array }>()
const privateKeyMaterial = new WeakMap<HpkePrivateKey, PrivateKeyMaterial>()

/** RFC 8410 §7 PKCS#8 prefix of an Ed25519 key: ts-mls's default provider stores these on WebCrypto. */
const ED25519_PKCS8_PREFIX = hexToBytes('302e020100300506032b657004220420')

function makePublicHandle(kem: string, publicKey: Uint8Array): HpkePublicKey {
  const handle: HpkePublicKey = Object.freeze({
    type: 'public' as const,
    algorithm: Object.freeze({ name: kem }),
    extractable: true,
    usages: [],
  })
  publicKeyBytes.set(handle, { kem, publicKey: publicKey.slice() })
  return handle
}

function makePrivateHandle(kem: string, privateKey: Uint8Array, publicKey: Uint8Array): HpkePrivateKey {
  const handle: HpkePrivateKey = Object.freeze({
    type: 'private' as const,
    algorithm: Object.freeze({ name: kem }),
    extractable: true,
    usages: ['deriveBits'] as KeyUsage[],
  })
  privateKeyMaterial.set(handle, { kem, privateKey: privateKey.slice(), publicKey: publicKey.slice() })
  return handle
}

function publicOf(handle: HpkePublicKey, kem: string): Uint8Array {
  const entry = publicKeyBytes.get(handle)
  if (entry === undefined || entry.kem !== kem) {
    throw new CryptoError('invalid-key', `not a ${kem} public key handle of this provider`)
  }
  return entry.publicKey
}

function privateOf(handle: HpkePrivateKey, kem: string): PrivateKeyMaterial {
  const entry = privateKeyMaterial.get(handle)
  if (entry === undefined || entry.kem !== kem) {
    throw new CryptoError('invalid-key', `not a ${kem} private key handle of this provider`)
  }
  return entry
}

const ECDSA_SCALAR_LENGTH: Readonly<Partial<Record<string, number>>> = {
  'P-256': 32,
  'P-384': 48,
  'P-521': 66,
}

/**
 * How many leading zero bytes a NIST private scalar may be missing. Some MLS implementations
 * serialise the scalar as a minimal big-endian integer (the official vectors hold 65-byte P-521
 * keys, mls-implementations issue 176); a missing zero byte happens with probability 1/2 for
 * P-521 and 1/256 for P-256/384, two in a row far more rarely. The backend range-checks the value.
 */
export const MAX_SCALAR_PADDING = 2

/** Left-pads a big-endian NIST scalar to `length` bytes (see MAX_SCALAR_PADDING). */
function padScalar(bytes: Uint8Array, length: number, field: string): Uint8Array {
  if (bytes.length === length) return bytes
  if (bytes.length > length || bytes.length < length - MAX_SCALAR_PADDING) {
    throw new CryptoError('invalid-length', `${field} must be ${length} bytes, got ${bytes.length}`)
  }
  const padded = new Uint8Array(length)
  padded.set(bytes, length - bytes.length)
  return padded
}

/**
 * The crypto of MLS cipher suite `suite` (its RFC 9420 value, or ts-mls's name) on `backend`.
 * Throws `unsupported-algorithm` when the suite or one of its algorithms is not offered.
 */
export function createMlsSuiteCrypto(backend: CryptoBackend, suite: number | string): MlsSuiteCrypto {
  const params: MlsSuiteParams = findMlsSuite(suite)
  for (const alg of [params.hash, params.aead, params.signature] as const) {
    if (!backend.supports(alg)) {
      throw new CryptoError('unsupported-algorithm', `${alg} (suite ${params.name}) on ${backend.name}`)
    }
  }
  const hpkeSuite = createHpkeSuite(backend, { kem: params.kem, kdf: params.kdf, aead: params.aead })
  const kem = hpkeSuite.kem
  const kdfHash = hpkeSuite.hash
  const empty = new Uint8Array()

  function importPrivate(bytes: Uint8Array): Uint8Array {
    abytes(bytes, 'HPKE private key')
    // ts-mls 1.6.4 (crypto/hpke.js prepadPrivateKeyP521) pads P-521 keys; we pad every NIST curve.
    if (kem.name.startsWith('DHKEM-P')) return padScalar(bytes, kem.privateKeyLength, 'HPKE private key')
    return abytes(bytes, 'HPKE private key', kem.privateKeyLength)
  }

  const hpke: MlsHpke = {
    async seal(publicKey, plaintext, info, aad) {
      return sealBase(hpkeSuite, publicOf(publicKey, kem.name), info, aad ?? empty, plaintext)
    },
    async open(privateKey, kemOutput, ciphertext, info, aad) {
      const m = privateOf(privateKey, kem.name)
      return openBase(hpkeSuite, kemOutput, m.privateKey, m.publicKey, info, aad ?? empty, ciphertext)
    },
    async exportSecret(publicKey, exporterContext, length, info) {
      return sendExportBase(hpkeSuite, publicOf(publicKey, kem.name), info, exporterContext, length)
    },
    async importSecret(privateKey, exporterContext, kemOutput, length, info) {
      const m = privateOf(privateKey, kem.name)
      return receiveExportBase(hpkeSuite, kemOutput, m.privateKey, m.publicKey, info, exporterContext, length)
    },
    async importPrivateKey(k) {
      const privateKey = importPrivate(k)
      return makePrivateHandle(kem.name, privateKey, await kem.publicKeyOf(privateKey))
    },
    async importPublicKey(k) {
      abytes(k, 'HPKE public key', kem.publicKeyLength)
      // RFC 9180 §7.1.1: NIST points are uncompressed; the curve check happens at first use.
      if (kem.name.startsWith('DHKEM-P') && k[0] !== 0x04) {
        throw new CryptoError('invalid-public-key', `${kem.name} public key is not an uncompressed point`)
      }
      return makePublicHandle(kem.name, k)
    },
    async exportPublicKey(k) {
      return publicOf(k, kem.name).slice()
    },
    async exportPrivateKey(k) {
      return privateOf(k, kem.name).privateKey.slice()
    },
    async encryptAead(key, nonce, aad, plaintext) {
      return backend.aead.seal(params.aead, key, nonce, aad ?? empty, plaintext)
    },
    async decryptAead(key, nonce, aad, ciphertext) {
      return backend.aead.open(params.aead, key, nonce, aad ?? empty, ciphertext)
    },
    async deriveKeyPair(ikm) {
      const kp = await kem.deriveKeyPair(ikm)
      return {
        privateKey: makePrivateHandle(kem.name, kp.privateKey, kp.publicKey),
        publicKey: makePublicHandle(kem.name, kp.publicKey),
      }
    },
    async generateKeyPair() {
      const kp = await kem.generateKeyPair()
      return {
        privateKey: makePrivateHandle(kem.name, kp.privateKey, kp.publicKey),
        publicKey: makePublicHandle(kem.name, kp.publicKey),
      }
    },
    keyLength: hpkeSuite.keyLength,
    nonceLength: hpkeSuite.nonceLength,
  }

  /** Raw signing key; accepts ts-mls's default-provider PKCS#8 Ed25519 keys for interop. */
  function rawSignKey(signKey: Uint8Array): Uint8Array {
    abytes(signKey, 'signKey')
    const scalarLength = ECDSA_SCALAR_LENGTH[params.signature]
    if (scalarLength !== undefined) return padScalar(signKey, scalarLength, 'signKey')
    if (
      params.signature === 'Ed25519' &&
      signKey.length === ED25519_PKCS8_PREFIX.length + 32 &&
      equalBytes(signKey.subarray(0, ED25519_PKCS8_PREFIX.length), ED25519_PKCS8_PREFIX)
    ) {
      return signKey.subarray(ED25519_PKCS8_PREFIX.length)
    }
    return signKey
  }

  const signature: MlsSignature = {
    sign: (signKey, message) => backend.signature.sign(params.signature, rawSignKey(signKey), message),
    verify: (publicKey, message, sig) => backend.signature.verify(params.signature, publicKey, message, sig),
    async keygen() {
      const { publicKey, privateKey } = await backend.signature.generate(params.signature)
      return { publicKey, signKey: privateKey }
    },
  }

  return Object.freeze({
    name: params.name,
    hash: Object.freeze({
      digest: (data: Uint8Array) => backend.hash.digest(params.hash, data),
      mac: (key: Uint8Array, data: Uint8Array) => backend.hash.hmac(params.hash, key, data),
      verifyMac: (key: Uint8Array, mac: Uint8Array, data: Uint8Array) =>
        backend.hash.hmacVerify(params.hash, key, data, mac),
    }),
    kdf: Object.freeze({
      extract: (salt: Uint8Array, ikm: Uint8Array) => backend.hash.hkdfExtract(kdfHash, salt, ikm),
      expand: (prk: Uint8Array, info: Uint8Array, len: number) =>
        backend.hash.hkdfExpand(kdfHash, prk, info, len),
      size: HASH_LENGTH[kdfHash],
    }),
    signature: Object.freeze(signature),
    hpke: Object.freeze(hpke),
    rng: Object.freeze({ randomBytes: (n: number) => backend.randomBytes(n) }),
  })
}
