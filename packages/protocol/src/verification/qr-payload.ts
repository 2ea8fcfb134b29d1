/**
 * The verification QR code (docs/protocol/verification.md §3). Each side shows a code holding
 * its own fingerprint and the fingerprint it holds for the other person; the other side scans it
 * and checks both against its own view. One scan verifies both directions of the pair.
 *
 *   struct {
 *     opaque magic[4] = "TACV";
 *     uint8  version = 1;
 *     opaque presenter_fingerprint[32];    // the fingerprint of the person showing the code
 *     opaque scanner_fingerprint[32];      // what the presenter holds for the person scanning
 *   } VerificationCode;                    // 69 bytes, QR byte mode
 */
import type { CryptoBackend } from '@tacit/crypto/backend'
import { equalBytes } from '@tacit/crypto/bytes'
import { VerificationError } from './errors.ts'
import { computeFingerprint, FINGERPRINT_BYTES, type VerifiableIdentity } from './safety-number.ts'

export const VERIFICATION_CODE_VERSION = 1
/** "TACV": Tacit verification. */
export const VERIFICATION_CODE_MAGIC = Uint8Array.of(0x54, 0x41, 0x43, 0x56)
export const VERIFICATION_CODE_BYTES = 4 + 1 + 2 * FINGERPRINT_BYTES
/** Anything a camera hands us is checked against this before it is looked at. */
export const MAX_SCANNED_CODE_BYTES = 1024

export interface VerificationCode {
  readonly presenterFingerprint: Uint8Array
  readonly scannerFingerprint: Uint8Array
}

/** The pair of people the local user means: `own` is the local user. */
export interface VerificationPair {
  readonly own: VerifiableIdentity
  readonly peer: VerifiableIdentity
}

export function encodeVerificationCode(code: VerificationCode): Uint8Array {
  if (
    code.presenterFingerprint.length !== FINGERPRINT_BYTES ||
    code.scannerFingerprint.length !== FINGERPRINT_BYTES
  ) {
    throw new VerificationError('invalid-identity', `fingerprints must be ${FINGERPRINT_BYTES} bytes`)
  }
  const out = new Uint8Array(VERIFICATION_CODE_BYTES)
  out.set(VERIFICATION_CODE_MAGIC, 0)
  out[4] = VERIFICATION_CODE_VERSION
  out.set(code.presenterFingerprint, 5)
  out.set(code.scannerFingerprint, 5 + FINGERPRINT_BYTES)
  return out
}

export function decodeVerificationCode(bytes: Uint8Array): VerificationCode {
  if (bytes.length > MAX_SCANNED_CODE_BYTES) {
    throw new VerificationError(
      'too-large',
      `scanned code above MAX_SCANNED_CODE_BYTES (${MAX_SCANNED_CODE_BYTES})`,
    )
  }
  if (bytes.length < 5 || !equalBytes(bytes.subarray(0, 4), VERIFICATION_CODE_MAGIC)) {
    throw new VerificationError('malformed-payload', 'not a Tacit verification code')
  }
  if (bytes[4] !== VERIFICATION_CODE_VERSION) {
    throw new VerificationError('unsupported-version', `verification code version ${bytes[4]}`)
  }
  if (bytes.length !== VERIFICATION_CODE_BYTES) {
    throw new VerificationError(
      'malformed-payload',
      `verification code must be ${VERIFICATION_CODE_BYTES} bytes`,
    )
  }
  return {
    presenterFingerprint: bytes.slice(5, 5 + FINGERPRINT_BYTES),
    scannerFingerprint: bytes.slice(5 + FINGERPRINT_BYTES),
  }
}

/** The code the local user shows: their own fingerprint, then the one they hold for the peer. */
export async function createVerificationCode(
  backend: CryptoBackend,
  pair: VerificationPair,
): Promise<Uint8Array> {
  return encodeVerificationCode({
    presenterFingerprint: await computeFingerprint(backend, pair.own),
    scannerFingerprint: await computeFingerprint(backend, pair.peer),
  })
}

/**
 * Checks a code scanned from the peer's screen against the fingerprints we hold: ours and the
 * one we hold for the peer. Returns normally only if the peer shows the key we hold for them and
 * holds our real key; throws `fingerprint-mismatch` otherwise (or `scanned-own-code` for our own
 * code). Both halves are always compared, in constant time, so the time taken does not say
 * which half differed.
 */
export function compareScannedVerificationCode(
  fingerprints: { readonly own: Uint8Array; readonly peer: Uint8Array },
  scanned: Uint8Array,
): void {
  const code = decodeVerificationCode(scanned)
  const presenterMatches = equalBytes(code.presenterFingerprint, fingerprints.peer)
  const scannerMatches = equalBytes(code.scannerFingerprint, fingerprints.own)
  if (presenterMatches && scannerMatches) return
  if (
    equalBytes(code.presenterFingerprint, fingerprints.own) &&
    equalBytes(code.scannerFingerprint, fingerprints.peer)
  ) {
    throw new VerificationError('scanned-own-code', 'this is our own code: scan the other person’s screen')
  }
  throw new VerificationError(
    'fingerprint-mismatch',
    'the scanned code does not match the keys held for this pair',
  )
}

/** `compareScannedVerificationCode` for a pair of identities (computes both fingerprints). */
export async function checkScannedVerificationCode(
  backend: CryptoBackend,
  pair: VerificationPair,
  scanned: Uint8Array,
): Promise<void> {
  // Decode first: a malformed scan costs no hashing.
  decodeVerificationCode(scanned)
  compareScannedVerificationCode(
    { own: await computeFingerprint(backend, pair.own), peer: await computeFingerprint(backend, pair.peer) },
    scanned,
  )
}
