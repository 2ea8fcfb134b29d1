import type { AeadName, HashName, SignatureName } from './backend.ts'
import { CryptoError } from './errors.ts'
import type { KdfName } from './hpke/hpke.ts'
import type { KemName } from './hpke/kem.ts'

/**
 * The one table of MLS cipher suites this package implements: RFC 9420 §17.1 values 1–7, and
 * ts-mls 1.6.4's value 83 for MLS_256_XWING_AES256GCM_SHA512_Ed25519 (Tacit's default).
 *
 * Post-quantum code points are NOT assigned by IANA yet: 83 is the value ts-mls 1.6.4 uses
 * (draft-ietf-mls-pq-ciphersuites era). If the assignment changes, change it here and nowhere
 * else; stored groups record the value they were created with.
 */

export interface MlsSuiteParams {
  /** The name exactly as ts-mls spells it (its `CiphersuiteName`). */
  readonly name: string
  readonly id: number
  readonly hash: HashName
  readonly kem: KemName
  readonly kdf: KdfName
  readonly aead: AeadName
  readonly signature: SignatureName
}

export const MLS_SUITES = Object.freeze([
  {
    name: 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519',
    id: 0x0001,
    hash: 'SHA-256',
    kem: 'DHKEM-X25519-HKDF-SHA256',
    kdf: 'HKDF-SHA256',
    aead: 'AES-128-GCM',
    signature: 'Ed25519',
  },
  {
    name: 'MLS_128_DHKEMP256_AES128GCM_SHA256_P256',
    id: 0x0002,
    hash: 'SHA-256',
    kem: 'DHKEM-P256-HKDF-SHA256',
    kdf: 'HKDF-SHA256',
    aead: 'AES-128-GCM',
    signature: 'P-256',
  },
  {
    name: 'MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519',
    id: 0x0003,
    hash: 'SHA-256',
    kem: 'DHKEM-X25519-HKDF-SHA256',
    kdf: 'HKDF-SHA256',
    aead: 'ChaCha20-Poly1305',
    signature: 'Ed25519',
  },
  {
    name: 'MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448',
    id: 0x0004,
    hash: 'SHA-512',
    kem: 'DHKEM-X448-HKDF-SHA512',
    kdf: 'HKDF-SHA512',
    aead: 'AES-256-GCM',
    signature: 'Ed448',
  },
  {
    name: 'MLS_256_DHKEMP521_AES256GCM_SHA512_P521',
    id: 0x0005,
    hash: 'SHA-512',
    kem: 'DHKEM-P521-HKDF-SHA512',
    kdf: 'HKDF-SHA512',
    aead: 'AES-256-GCM',
    signature: 'P-521',
  },
  {
    name: 'MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448',
    id: 0x0006,
    hash: 'SHA-512',
    kem: 'DHKEM-X448-HKDF-SHA512',
    kdf: 'HKDF-SHA512',
    aead: 'ChaCha20-Poly1305',
    signature: 'Ed448',
  },
  {
    name: 'MLS_256_DHKEMP384_AES256GCM_SHA384_P384',
    id: 0x0007,
    hash: 'SHA-384',
    kem: 'DHKEM-P384-HKDF-SHA384',
    kdf: 'HKDF-SHA384',
    aead: 'AES-256-GCM',
    signature: 'P-384',
  },
  {
    // Not IANA-assigned (see above). X-Wing KEM, HKDF-SHA512, AES-256-GCM, Ed25519.
    name: 'MLS_256_XWING_AES256GCM_SHA512_Ed25519',
    id: 83,
    hash: 'SHA-512',
    kem: 'X-Wing',
    kdf: 'HKDF-SHA512',
    aead: 'AES-256-GCM',
    signature: 'Ed25519',
  },
] as const satisfies readonly MlsSuiteParams[])

export type MlsSuiteName = (typeof MLS_SUITES)[number]['name']
export type MlsSuiteId = (typeof MLS_SUITES)[number]['id']

/** Tacit's default suite (DESIGN.md §3). */
export const DEFAULT_MLS_SUITE_ID = 83 satisfies MlsSuiteId

/** Looks a suite up by value or name; throws `unsupported-algorithm` for anything else. */
export function findMlsSuite(suite: number | string): MlsSuiteParams {
  const found = MLS_SUITES.find((s) => s.id === suite || s.name === suite)
  if (found === undefined) throw new CryptoError('unsupported-algorithm', `MLS cipher suite ${String(suite)}`)
  return found
}
