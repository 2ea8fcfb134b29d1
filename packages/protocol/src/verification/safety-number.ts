/**
 * Safety numbers (docs/protocol/verification.md §2): what two people compare to know that each
 * holds the other's real identity key. The construction is Signal's numeric fingerprint
 * (libsignal `fingerprint.rs`, version 0), with Tacit's handle as the stable identifier and a
 * length-prefixed handle:
 *
 *   h_0 = SHA-512(uint16 version ‖ identity_key[32] ‖ uint8 len(handle) ‖ handle ‖ identity_key)
 *   h_i = SHA-512(h_(i-1) ‖ identity_key)                    for i = 1 .. 5199
 *   fingerprint = h_5199[0 .. 32)
 *   digits      = for g in 0..5: uint40(fingerprint[5g .. 5g+5]) mod 100000, as 5 digits
 *
 * Each user gets 30 digits (6 groups of 5); the safety number of a pair is both users' 30 digits,
 * the smaller string first, so both sides see the same 60 digits. Each half pins one person's key
 * on its own: a man in the middle has to find a key whose 30 digits equal the victim's (about 2^100
 * tries of 5200 hashes each). A single 30-digit hash of the pair would let him search both of his
 * substituted keys at once for a collision, about 2^50 tries (decision record 0008).
 */
import type { CryptoBackend } from '@tacit/crypto/backend'
import { utf8 } from '@tacit/crypto/bytes'
import { IDENTITY_KEY_BYTES, isValidHandle } from '../credential.ts'
import { VerificationError } from './errors.ts'

export const SAFETY_NUMBER_VERSION = 1
/** Signal's count: it makes each guess cost 5200 hashes without slowing an honest display. */
export const FINGERPRINT_ITERATIONS = 5200
export const FINGERPRINT_BYTES = 32
export const FINGERPRINT_DIGITS = 30
export const DIGITS_PER_GROUP = 5

/** Who a safety number is about: a handle and the identity key the client holds for it. */
export interface VerifiableIdentity {
  readonly handle: string
  readonly identityKey: Uint8Array
}

export interface SafetyNumber {
  /** 60 digits, no spaces. */
  readonly digits: string
  /** 12 groups of 5 digits, for display (two rows of six, or three of four). */
  readonly groups: readonly string[]
}

function checkIdentity(identity: VerifiableIdentity): void {
  if (!isValidHandle(identity.handle)) throw new VerificationError('invalid-identity', 'handle is not valid')
  if (!(identity.identityKey instanceof Uint8Array) || identity.identityKey.length !== IDENTITY_KEY_BYTES) {
    throw new VerificationError('invalid-identity', `identity key must be ${IDENTITY_KEY_BYTES} bytes`)
  }
}

/** The 32-byte fingerprint of one identity (shown in the QR code, and turned into digits). */
export async function computeFingerprint(
  backend: CryptoBackend,
  identity: VerifiableIdentity,
): Promise<Uint8Array> {
  checkIdentity(identity)
  const key = identity.identityKey
  const handle = utf8.encode(identity.handle)
  const first = new Uint8Array(2 + key.length + 1 + handle.length + key.length)
  new DataView(first.buffer).setUint16(0, SAFETY_NUMBER_VERSION)
  first.set(key, 2)
  first[2 + key.length] = handle.length
  first.set(handle, 3 + key.length)
  first.set(key, 3 + key.length + handle.length)
  let hash = await backend.hash.digest('SHA-512', first)
  const next = new Uint8Array(hash.length + key.length)
  next.set(key, hash.length)
  for (let i = 1; i < FINGERPRINT_ITERATIONS; i++) {
    next.set(hash, 0)
    hash = await backend.hash.digest('SHA-512', next)
  }
  return hash.slice(0, FINGERPRINT_BYTES)
}

/** The 30 display digits of one fingerprint: six 40-bit big-endian groups, each mod 100000. */
export function fingerprintDigits(fingerprint: Uint8Array): string {
  if (fingerprint.length !== FINGERPRINT_BYTES) {
    throw new VerificationError('invalid-identity', `fingerprint must be ${FINGERPRINT_BYTES} bytes`)
  }
  let digits = ''
  for (let g = 0; g < FINGERPRINT_DIGITS / DIGITS_PER_GROUP; g++) {
    let value = 0
    // 40 bits stay exact in a double (below 2^53).
    for (let i = 0; i < 5; i++) value = value * 256 + fingerprint[g * 5 + i]!
    digits += String(value % 100000).padStart(DIGITS_PER_GROUP, '0')
  }
  return digits
}

/**
 * The safety number of two fingerprints, the smaller 30 digits first. Fingerprints cost 5200
 * hashes each (about 0.1 s through WebCrypto), so clients may keep them per (handle, key).
 */
export function combineFingerprints(a: Uint8Array, b: Uint8Array): SafetyNumber {
  const da = fingerprintDigits(a)
  const db = fingerprintDigits(b)
  const digits = da <= db ? da + db : db + da
  const groups: string[] = []
  for (let i = 0; i < digits.length; i += DIGITS_PER_GROUP) groups.push(digits.slice(i, i + DIGITS_PER_GROUP))
  return { digits, groups }
}

/** The safety number of two identities: the same for both people, whichever order. */
export async function computeSafetyNumber(
  backend: CryptoBackend,
  a: VerifiableIdentity,
  b: VerifiableIdentity,
): Promise<SafetyNumber> {
  return combineFingerprints(await computeFingerprint(backend, a), await computeFingerprint(backend, b))
}
