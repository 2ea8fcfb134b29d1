import { shake256 } from '@noble/hashes/sha3.js'
import type { CryptoBackend, DhName, HashName, KeyPairBytes } from '../backend.ts'
import { abytes, bytesToHex, concatBytes, i2osp, utf8 } from '../bytes.ts'
import { CryptoError } from '../errors.ts'
import {
  createXWing,
  XWING_CIPHERTEXT_LENGTH,
  XWING_PUBLIC_KEY_LENGTH,
  XWING_SEED_LENGTH,
  XWING_SHARED_SECRET_LENGTH,
} from '../xwing.ts'

/**
 * RFC 9180 §4.1 DHKEM over backend DH, and X-Wing as an HPKE KEM the way
 * @hpke/hybridkem-x-wing 0.7.0 (ts-mls 1.6.4's default) does it, so keys and ciphertexts
 * interoperate with that provider.
 */

export type KemName =
  | 'DHKEM-P256-HKDF-SHA256'
  | 'DHKEM-P384-HKDF-SHA384'
  | 'DHKEM-P521-HKDF-SHA512'
  | 'DHKEM-X25519-HKDF-SHA256'
  | 'DHKEM-X448-HKDF-SHA512'
  | 'X-Wing'

export interface HpkeKem {
  readonly name: KemName
  /** RFC 9180 §7.1 kem_id (X-Wing: 0x647a, draft-connolly-cfrg-xwing-kem §6, not IANA final). */
  readonly id: number
  readonly secretLength: number
  readonly encLength: number
  readonly publicKeyLength: number
  readonly privateKeyLength: number
  generateKeyPair(): Promise<KeyPairBytes>
  /** RFC 9180 §7.1.3 (DHKEM) / SHAKE256(ikm, 32) then GenerateKeyPairDerand (X-Wing). */
  deriveKeyPair(ikm: Uint8Array): Promise<KeyPairBytes>
  publicKeyOf(privateKey: Uint8Array): Promise<Uint8Array>
  /**
   * `ephemeral` fixes the encapsulation for test vectors: for DHKEM it is ikmE, fed to
   * DeriveKeyPair; for X-Wing it is the 64 bytes of encapsulation randomness.
   */
  encap(publicKey: Uint8Array, ephemeral?: Uint8Array): Promise<{ sharedSecret: Uint8Array; enc: Uint8Array }>
  decap(enc: Uint8Array, privateKey: Uint8Array, publicKey: Uint8Array): Promise<Uint8Array>
}

/** RFC 9180 §7.1.3 lets DeriveKeyPair's input be at least Nsk bytes; we cap it. */
export const MAX_HPKE_IKM = 1024

interface DhKemParams {
  readonly dh: DhName
  readonly id: number
  readonly hash: HashName
  readonly secretLength: number
  readonly publicKeyLength: number
  readonly privateKeyLength: number
  /** RFC 9180 §7.1.3: first-byte mask for the NIST rejection loop (undefined for X25519/X448). */
  readonly bitmask?: number
  readonly order?: bigint
}

const DHKEM: Readonly<Record<Exclude<KemName, 'X-Wing'>, DhKemParams>> = {
  'DHKEM-P256-HKDF-SHA256': {
    dh: 'P-256',
    id: 0x0010,
    hash: 'SHA-256',
    secretLength: 32,
    publicKeyLength: 65,
    privateKeyLength: 32,
    bitmask: 0xff,
    order: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  },
  'DHKEM-P384-HKDF-SHA384': {
    dh: 'P-384',
    id: 0x0011,
    hash: 'SHA-384',
    secretLength: 48,
    publicKeyLength: 97,
    privateKeyLength: 48,
    bitmask: 0xff,
    order:
      0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  },
  'DHKEM-P521-HKDF-SHA512': {
    dh: 'P-521',
    id: 0x0012,
    hash: 'SHA-512',
    secretLength: 64,
    publicKeyLength: 133,
    privateKeyLength: 66,
    bitmask: 0x01,
    order:
      0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
  },
  'DHKEM-X25519-HKDF-SHA256': {
    dh: 'X25519',
    id: 0x0020,
    hash: 'SHA-256',
    secretLength: 32,
    publicKeyLength: 32,
    privateKeyLength: 32,
  },
  'DHKEM-X448-HKDF-SHA512': {
    dh: 'X448',
    id: 0x0021,
    hash: 'SHA-512',
    secretLength: 64,
    publicKeyLength: 56,
    privateKeyLength: 56,
  },
}

export const KEM_NAMES: readonly KemName[] = [...(Object.keys(DHKEM) as KemName[]), 'X-Wing']

const HPKE_V1 = utf8.encode('HPKE-v1')

/** RFC 9180 §4 LabeledExtract. */
export function labeledExtract(
  backend: CryptoBackend,
  hash: HashName,
  suiteId: Uint8Array,
  salt: Uint8Array,
  label: string,
  ikm: Uint8Array,
): Promise<Uint8Array> {
  return backend.hash.hkdfExtract(hash, salt, concatBytes(HPKE_V1, suiteId, utf8.encode(label), ikm))
}

/** RFC 9180 §4 LabeledExpand. */
export function labeledExpand(
  backend: CryptoBackend,
  hash: HashName,
  suiteId: Uint8Array,
  prk: Uint8Array,
  label: string,
  info: Uint8Array,
  length: number,
): Promise<Uint8Array> {
  const labeledInfo = concatBytes(i2osp(length, 2), HPKE_V1, suiteId, utf8.encode(label), info)
  return backend.hash.hkdfExpand(hash, prk, labeledInfo, length)
}

/**
 * The shortest ikm we accept. RFC 9180 §4 says ikm SHOULD carry at least Nsk bytes of entropy,
 * but MLS (RFC 9420 §4) derives HPKE keys from Nh-byte secrets, and for suite 5 Nh = 64 < Nsk = 66;
 * so the floor is 32 bytes (every MLS Nh) rather than Nsk.
 */
export const MIN_HPKE_IKM = 32

function checkIkm(ikm: Uint8Array): void {
  abytes(ikm, 'ikm')
  if (ikm.length < MIN_HPKE_IKM)
    throw new CryptoError('invalid-length', `ikm must be at least ${MIN_HPKE_IKM} bytes`)
  if (ikm.length > MAX_HPKE_IKM)
    throw new CryptoError('limit-exceeded', `ikm longer than ${MAX_HPKE_IKM} bytes`)
}

function makeDhKem(backend: CryptoBackend, name: Exclude<KemName, 'X-Wing'>): HpkeKem {
  const p = DHKEM[name]
  if (!backend.supports(p.dh) || !backend.supports(p.hash)) {
    throw new CryptoError('unsupported-algorithm', `${name} on the ${backend.name} backend`)
  }
  // RFC 9180 §4.1: suite_id = concat("KEM", I2OSP(kem_id, 2)).
  const suiteId = concatBytes(utf8.encode('KEM'), i2osp(p.id, 2))

  async function extractAndExpand(dh: Uint8Array, kemContext: Uint8Array): Promise<Uint8Array> {
    const prk = await labeledExtract(backend, p.hash, suiteId, new Uint8Array(), 'eae_prk', dh)
    return labeledExpand(backend, p.hash, suiteId, prk, 'shared_secret', kemContext, p.secretLength)
  }

  async function deriveKeyPair(ikm: Uint8Array): Promise<KeyPairBytes> {
    checkIkm(ikm)
    const dkpPrk = await labeledExtract(backend, p.hash, suiteId, new Uint8Array(), 'dkp_prk', ikm)
    if (p.bitmask === undefined || p.order === undefined) {
      // RFC 9180 §7.1.3, X25519/X448: sk = LabeledExpand(dkp_prk, "sk", "", Nsk).
      const privateKey = await labeledExpand(
        backend,
        p.hash,
        suiteId,
        dkpPrk,
        'sk',
        new Uint8Array(),
        p.privateKeyLength,
      )
      return { privateKey, publicKey: await backend.dh.publicKeyOf(p.dh, privateKey) }
    }
    // RFC 9180 §7.1.3, NIST curves: rejection sampling until 0 < sk < order.
    for (let counter = 0; counter < 256; counter++) {
      const bytes = await labeledExpand(
        backend,
        p.hash,
        suiteId,
        dkpPrk,
        'candidate',
        i2osp(counter, 1),
        p.privateKeyLength,
      )
      bytes[0] = bytes[0]! & p.bitmask
      const sk = BigInt(`0x${bytesToHex(bytes)}`)
      if (sk !== 0n && sk < p.order)
        return { privateKey: bytes, publicKey: await backend.dh.publicKeyOf(p.dh, bytes) }
    }
    throw new CryptoError('internal', 'DeriveKeyPair found no valid scalar in 256 candidates')
  }

  return Object.freeze({
    name,
    id: p.id,
    secretLength: p.secretLength,
    encLength: p.publicKeyLength,
    publicKeyLength: p.publicKeyLength,
    privateKeyLength: p.privateKeyLength,
    generateKeyPair: () => backend.dh.generate(p.dh),
    deriveKeyPair,
    publicKeyOf: (privateKey: Uint8Array) =>
      backend.dh.publicKeyOf(p.dh, abytes(privateKey, 'privateKey', p.privateKeyLength)),

    // RFC 9180 §4.1 Encap.
    async encap(publicKey: Uint8Array, ephemeral?: Uint8Array) {
      abytes(publicKey, 'publicKey', p.publicKeyLength)
      const e = ephemeral === undefined ? await backend.dh.generate(p.dh) : await deriveKeyPair(ephemeral)
      const dh = await backend.dh.sharedSecret(p.dh, e.privateKey, publicKey)
      const enc = e.publicKey
      return { sharedSecret: await extractAndExpand(dh, concatBytes(enc, publicKey)), enc }
    },

    // RFC 9180 §4.1 Decap.
    async decap(enc: Uint8Array, privateKey: Uint8Array, publicKey: Uint8Array) {
      abytes(enc, 'enc', p.publicKeyLength)
      abytes(privateKey, 'privateKey', p.privateKeyLength)
      const dh = await backend.dh.sharedSecret(p.dh, privateKey, enc)
      return extractAndExpand(dh, concatBytes(enc, publicKey))
    },
  })
}

function makeXWingKem(backend: CryptoBackend): HpkeKem {
  // X25519 through the backend (OpenSSL / WebCrypto), ML-KEM-768 through noble: see xwing.ts.
  const xWing = createXWing(backend)
  return Object.freeze({
    name: 'X-Wing' as const,
    id: 0x647a,
    secretLength: XWING_SHARED_SECRET_LENGTH,
    encLength: XWING_CIPHERTEXT_LENGTH,
    publicKeyLength: XWING_PUBLIC_KEY_LENGTH,
    privateKeyLength: XWING_SEED_LENGTH,
    async generateKeyPair() {
      const { publicKey, secretKey } = await xWing.generate()
      return { publicKey, privateKey: secretKey }
    },
    // @hpke/hybridkem-x-wing 0.7.0 XWing.deriveKeyPair: sk = SHAKE256(ikm, 32), then
    // GenerateKeyPairDerand(sk) — the same rule as draft-connolly-cfrg-xwing-kem's DeriveKeyPair.
    async deriveKeyPair(ikm: Uint8Array) {
      checkIkm(ikm)
      const seed = shake256(ikm, { dkLen: XWING_SEED_LENGTH })
      const { publicKey, secretKey } = await xWing.generate(seed)
      return { publicKey, privateKey: secretKey }
    },
    async publicKeyOf(privateKey: Uint8Array) {
      return xWing.publicKeyOf(privateKey)
    },
    // The X-Wing ciphertext is enc and the X-Wing shared secret is the KEM shared secret; there
    // is no ExtractAndExpand step (draft-connolly-cfrg-xwing-kem §6, @hpke/hybridkem-x-wing).
    async encap(publicKey: Uint8Array, ephemeral?: Uint8Array) {
      const { cipherText, sharedSecret } = await xWing.encapsulate(publicKey, ephemeral)
      return { sharedSecret, enc: cipherText }
    },
    async decap(enc: Uint8Array, privateKey: Uint8Array) {
      return xWing.decapsulate(enc, privateKey)
    },
  })
}

/** The HPKE KEM `name` on `backend`; throws `unsupported-algorithm` when the backend lacks it. */
export function createHpkeKem(backend: CryptoBackend, name: KemName): HpkeKem {
  if (name === 'X-Wing') return makeXWingKem(backend)
  if (!(name in DHKEM)) throw new CryptoError('unsupported-algorithm', `KEM ${String(name)}`)
  return makeDhKem(backend, name)
}

/** The KEM whose RFC 9180 kem_id is `id`, or undefined. */
export function kemNameOf(id: number): KemName | undefined {
  if (id === 0x647a) return 'X-Wing'
  for (const [name, p] of Object.entries(DHKEM)) if (p.id === id) return name as KemName
  return undefined
}
