import {
  argon2d,
  argon2dAsync,
  argon2i,
  argon2iAsync,
  argon2id,
  argon2idAsync,
} from '@noble/hashes/argon2.js'
import { abytes, utf8 } from './bytes.ts'
import { CryptoError } from './errors.ts'

/**
 * Argon2id (RFC 9106) for turning a passphrase into a key, from `@noble/hashes` (pure
 * TypeScript, so the same code runs on Node and in browsers; neither node:crypto 20 nor WebCrypto
 * offers Argon2). Tacit uses it for one thing: the key that wraps the local store's key
 * (DESIGN.md §1.6, §7). The other variants and the PHC string format are here only so the
 * reference vectors can be checked through the same bounds (`_computeArgon2`,
 * `encodeArgon2PhcString`, `decodeArgon2PhcString`).
 *
 * Not guaranteed: constant time (JavaScript gives no such promise; Argon2id's data-dependent
 * second half is by design), and erasure of the 1 KiB blocks of working memory beyond what
 * noble itself zeroes.
 */

export interface Argon2Params {
  /** m: memory in KiB (RFC 9106 §3.1: 8·p ≤ m). */
  readonly memoryKiB: number
  /** t: number of passes (RFC 9106 §3.1: t ≥ 1). */
  readonly iterations: number
  /** p: lanes (RFC 9106 §3.1: 1 ≤ p ≤ 2^24 − 1). */
  readonly parallelism: number
}

/**
 * DESIGN.md §3: m = 64 MiB, t = 3, p = 1. This is RFC 9106 §4's second recommended option
 * (64 MiB, t = 3) with one lane: JavaScript runs the lanes one after the other, so p > 1 would
 * cost time without adding parallel hardness for us.
 */
export const DEFAULT_ARGON2_PARAMS: Argon2Params = Object.freeze({
  memoryKiB: 64 * 1024,
  iterations: 3,
  parallelism: 1,
})

/** The key length Tacit derives (an AES-256 key). */
export const ARGON2_KEY_LENGTH = 32

/** 1 GiB: the largest case in the reference vectors; a store header cannot ask for more. */
export const MAX_ARGON2_MEMORY_KIB = 1024 * 1024
export const MAX_ARGON2_ITERATIONS = 64
export const MAX_ARGON2_PARALLELISM = 16
/** A passphrase is typed by a person; 1 KiB of UTF-8 is far above any of them. */
export const MAX_ARGON2_PASSWORD_BYTES = 1024
/** RFC 9106 §3.1: the salt is at least 8 bytes (16 recommended, what Tacit uses). */
export const MIN_ARGON2_SALT_BYTES = 8
export const MAX_ARGON2_SALT_BYTES = 64
/** RFC 9106 §3.1: secret value K, up to 32 bytes in the reference implementation's API. */
export const MAX_ARGON2_SECRET_BYTES = 64
/** RFC 9106 §3.1: associated data X. */
export const MAX_ARGON2_AD_BYTES = 1024
/** RFC 9106 §3.1: tag length T is at least 4 bytes. */
export const MIN_ARGON2_OUTPUT_BYTES = 4
export const MAX_ARGON2_OUTPUT_BYTES = 1024
/** The longest PHC string we parse (the longest reference case is under 150 characters). */
export const MAX_ARGON2_PHC_STRING_LENGTH = 512

/** RFC 9106 §3.1: version number v, 0x13 for the RFC; 0x10 only for legacy reference vectors. */
export const ARGON2_VERSION = 0x13
export type Argon2Version = 0x10 | 0x13
export type Argon2Variant = 'argon2d' | 'argon2i' | 'argon2id'

function checkInteger(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new CryptoError('invalid-type', `${field} must be an integer`)
  }
  if (value < min || value > max) {
    throw new CryptoError('limit-exceeded', `${field} must be in ${min}..${max}, got ${value}`)
  }
  return value
}

/** Checks Argon2 parameters against RFC 9106 §3.1 and our MAX_* bounds; returns a frozen copy. */
export function checkArgon2Params(params: Argon2Params): Argon2Params {
  if (typeof params !== 'object' || params === null) {
    throw new CryptoError('invalid-type', 'argon2 params must be an object')
  }
  const parallelism = checkInteger(params.parallelism, 'parallelism', 1, MAX_ARGON2_PARALLELISM)
  const iterations = checkInteger(params.iterations, 'iterations', 1, MAX_ARGON2_ITERATIONS)
  // RFC 9106 §3.1: m is at least 8·p KiB.
  const memoryKiB = checkInteger(params.memoryKiB, 'memoryKiB', 8 * parallelism, MAX_ARGON2_MEMORY_KIB)
  return Object.freeze({ memoryKiB, iterations, parallelism })
}

/**
 * A passphrase as bytes: strings are NFC-normalised before UTF-8 encoding (RFC 8265 §4.2's
 * OpaqueString profile uses NFC), so the same passphrase typed through different input methods
 * gives the same key. Bytes are taken as they are.
 */
export function encodePassphrase(passphrase: string | Uint8Array): Uint8Array {
  const bytes = typeof passphrase === 'string' ? utf8.encode(passphrase.normalize('NFC')) : passphrase
  if (!(bytes instanceof Uint8Array))
    throw new CryptoError('invalid-type', 'passphrase must be a string or bytes')
  if (bytes.length > MAX_ARGON2_PASSWORD_BYTES) {
    throw new CryptoError('limit-exceeded', `passphrase must be at most ${MAX_ARGON2_PASSWORD_BYTES} bytes`)
  }
  return bytes
}

function checkSalt(salt: Uint8Array): Uint8Array {
  abytes(salt, 'salt')
  if (salt.length < MIN_ARGON2_SALT_BYTES || salt.length > MAX_ARGON2_SALT_BYTES) {
    throw new CryptoError(
      'invalid-length',
      `salt must be ${MIN_ARGON2_SALT_BYTES}..${MAX_ARGON2_SALT_BYTES} bytes, got ${salt.length}`,
    )
  }
  return salt
}

function checkOutputLength(length: number): number {
  if (typeof length !== 'number' || !Number.isSafeInteger(length)) {
    throw new CryptoError('invalid-type', 'output length must be an integer')
  }
  if (length < MIN_ARGON2_OUTPUT_BYTES || length > MAX_ARGON2_OUTPUT_BYTES) {
    throw new CryptoError(
      'invalid-length',
      `output length must be ${MIN_ARGON2_OUTPUT_BYTES}..${MAX_ARGON2_OUTPUT_BYTES}, got ${length}`,
    )
  }
  return length
}

/**
 * Argon2id(passphrase, salt) → a 32-byte key (RFC 9106 §3, type y = 2, version 0x13, no secret,
 * no associated data). Yields to the event loop while it runs (noble's async form), so a UI or
 * a server connection stays alive during the second or more it takes at the defaults.
 */
export async function deriveKeyFromPassphrase(
  passphrase: string | Uint8Array,
  salt: Uint8Array,
  params: Argon2Params = DEFAULT_ARGON2_PARAMS,
): Promise<Uint8Array> {
  return _computeArgon2('argon2id', { password: encodePassphrase(passphrase), salt, params }, { async: true })
}

export interface Argon2Input {
  readonly password: Uint8Array
  readonly salt: Uint8Array
  readonly params: Argon2Params
  /** RFC 9106 §3.1 secret value K. */
  readonly secret?: Uint8Array
  /** RFC 9106 §3.1 associated data X. */
  readonly associatedData?: Uint8Array
  readonly outputLength?: number
  readonly version?: Argon2Version
}

const SYNC = { argon2d, argon2i, argon2id } as const
const ASYNC = { argon2d: argon2dAsync, argon2i: argon2iAsync, argon2id: argon2idAsync } as const

/**
 * Every Argon2 variant with every RFC 9106 input, checked against the same bounds. Internal:
 * for the reference vectors (RFC 9106 §5 uses argon2d, argon2i, a secret and associated data).
 * Tacit's own code calls `deriveKeyFromPassphrase`.
 */
export async function _computeArgon2(
  variant: Argon2Variant,
  input: Argon2Input,
  options: { readonly async?: boolean } = {},
): Promise<Uint8Array> {
  if (!(variant in SYNC)) throw new CryptoError('unsupported-algorithm', `argon2 variant ${String(variant)}`)
  const params = checkArgon2Params(input.params)
  const password = abytes(input.password, 'password')
  if (password.length > MAX_ARGON2_PASSWORD_BYTES) {
    throw new CryptoError('limit-exceeded', `password must be at most ${MAX_ARGON2_PASSWORD_BYTES} bytes`)
  }
  const salt = checkSalt(input.salt)
  const secret = input.secret === undefined ? undefined : abytes(input.secret, 'secret')
  if (secret !== undefined && secret.length > MAX_ARGON2_SECRET_BYTES) {
    throw new CryptoError('limit-exceeded', `secret must be at most ${MAX_ARGON2_SECRET_BYTES} bytes`)
  }
  const ad = input.associatedData === undefined ? undefined : abytes(input.associatedData, 'associatedData')
  if (ad !== undefined && ad.length > MAX_ARGON2_AD_BYTES) {
    throw new CryptoError('limit-exceeded', `associated data must be at most ${MAX_ARGON2_AD_BYTES} bytes`)
  }
  const dkLen = checkOutputLength(input.outputLength ?? ARGON2_KEY_LENGTH)
  const version = input.version ?? ARGON2_VERSION
  if (version !== 0x10 && version !== 0x13) {
    throw new CryptoError('unsupported-algorithm', `argon2 version ${String(version)}`)
  }
  const opts = {
    m: params.memoryKiB,
    t: params.iterations,
    p: params.parallelism,
    dkLen,
    version,
    key: secret,
    personalization: ad,
  }
  try {
    return options.async === true
      ? await ASYNC[variant](password, salt, opts)
      : SYNC[variant](password, salt, opts)
  } catch (cause) {
    // Every input was checked above; noble refusing one now is a bug on our side.
    throw new CryptoError('internal', 'argon2 rejected checked inputs', { cause })
  }
}

// --- PHC string format (https://github.com/P-H-C/phc-string-format), as the reference
// implementation writes it: $argon2id$v=19$m=65536,t=2,p=1$<salt>$<hash>, with unpadded
// standard base64. Strings of version 0x10 omit "v=" (reference src/encoding.c).

export interface Argon2PhcString {
  readonly variant: Argon2Variant
  readonly version: Argon2Version
  readonly params: Argon2Params
  readonly salt: Uint8Array
  readonly hash: Uint8Array
}

const B64_ALPHABET = /^[A-Za-z0-9+/]*$/

function encodeBase64Unpadded(bytes: Uint8Array): string {
  let binary = ''
  for (const b of bytes) binary += String.fromCharCode(b)
  return btoa(binary).replace(/=+$/, '')
}

function decodeBase64Unpadded(text: string, field: string): Uint8Array {
  if (!B64_ALPHABET.test(text) || text.length % 4 === 1) {
    throw new CryptoError('invalid-type', `${field} is not unpadded base64`)
  }
  const binary = atob(text + '='.repeat((4 - (text.length % 4)) % 4))
  const out = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i)
  // Refuse non-canonical encodings (stray low bits in the last character).
  if (encodeBase64Unpadded(out) !== text)
    throw new CryptoError('invalid-type', `${field} is not canonical base64`)
  return out
}

/** Writes the PHC string of an Argon2 result (always with "v=", as the reference encoder does). */
export function encodeArgon2PhcString(value: Argon2PhcString): string {
  const params = checkArgon2Params(value.params)
  checkSalt(value.salt)
  checkOutputLength(abytes(value.hash, 'hash').length)
  return (
    `$${value.variant}$v=${value.version}$m=${params.memoryKiB},t=${params.iterations},p=${params.parallelism}` +
    `$${encodeBase64Unpadded(value.salt)}$${encodeBase64Unpadded(value.hash)}`
  )
}

const PHC_PATTERN =
  /^\$(argon2d|argon2i|argon2id)(?:\$v=(16|19))?\$m=([1-9][0-9]{0,9}),t=([1-9][0-9]{0,9}),p=([1-9][0-9]{0,9})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/

/** Parses a PHC string; parameters, salt and hash length are held to the same bounds. */
export function decodeArgon2PhcString(text: string): Argon2PhcString {
  if (typeof text !== 'string') throw new CryptoError('invalid-type', 'PHC string must be a string')
  if (text.length > MAX_ARGON2_PHC_STRING_LENGTH) {
    throw new CryptoError(
      'limit-exceeded',
      `PHC string longer than ${MAX_ARGON2_PHC_STRING_LENGTH} characters`,
    )
  }
  const match = PHC_PATTERN.exec(text)
  if (match === null) throw new CryptoError('invalid-type', 'not an Argon2 PHC string')
  const [, variant, v, m, t, p, salt64, hash64] = match
  const params = checkArgon2Params({ memoryKiB: Number(m), iterations: Number(t), parallelism: Number(p) })
  const salt = checkSalt(decodeBase64Unpadded(salt64!, 'salt'))
  const hash = decodeBase64Unpadded(hash64!, 'hash')
  checkOutputLength(hash.length)
  return {
    variant: variant as Argon2Variant,
    // The reference decoder reads a missing "v=" as version 0x10.
    version: v === undefined ? 0x10 : (Number(v) as Argon2Version),
    params,
    salt,
    hash,
  }
}
