import { ProtocolError, type ProtocolErrorCode } from '../errors.ts'

/** Why a verification step failed; each reason maps to one stable `ProtocolErrorCode`. */
export type VerificationErrorReason =
  | 'invalid-identity' // a handle or identity key that is not valid (caller's input)
  | 'malformed-payload' // a scanned QR payload that does not decode
  | 'unsupported-version' // a scanned QR payload of a version this code does not know
  | 'fingerprint-mismatch' // the scanned code does not show the keys we hold: do not mark verified
  | 'scanned-own-code' // the scanned code is our own (the other side's screen was not scanned)
  | 'too-large' // above a MAX_* limit
  | 'invalid-contact' // a device list with duplicates, or records of two different handles

const CODE_OF_REASON: Readonly<Record<VerificationErrorReason, ProtocolErrorCode>> = {
  'invalid-identity': 'usage',
  'malformed-payload': 'malformed',
  'unsupported-version': 'malformed',
  'fingerprint-mismatch': 'verification-failed',
  'scanned-own-code': 'verification-failed',
  'too-large': 'too-large',
  'invalid-contact': 'usage',
}

/** A `ProtocolError` from verification; `ProtocolError.is(e, code)` keeps working. */
export class VerificationError extends ProtocolError {
  readonly reason: VerificationErrorReason

  constructor(reason: VerificationErrorReason, message: string, options?: { cause?: unknown }) {
    super(CODE_OF_REASON[reason], `${reason}: ${message}`, options)
    this.reason = reason
  }

  static isReason(value: unknown, reason?: VerificationErrorReason): value is VerificationError {
    return value instanceof VerificationError && (reason === undefined || value.reason === reason)
  }
}
