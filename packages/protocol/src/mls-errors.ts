/**
 * Maps errors thrown inside ts-mls (and our crypto provider) to ProtocolError codes, so callers
 * get one typed error per failure class whatever the library's message says. The library's
 * message is not copied into ours (it can quote values); it stays reachable as `cause` for
 * debugging.
 */
import { CryptoError } from '@tacit/crypto/errors'
import {
  CodecError,
  CryptoVerificationError,
  CryptoError as MlsCryptoError,
  MlsError,
  UsageError,
  ValidationError,
} from 'ts-mls/mlsError.js'
import { ProtocolError, type ProtocolErrorCode } from './errors.ts'

/** ts-mls 1.6.4 messages that mean "this message's key was already used or deleted" (§9.2). */
const REPLAY_PATTERNS = [
  /desired gen in the past/i,
  /already (been )?(consumed|used)/i,
  /generation .*(deleted|consumed)/i,
]
const CREDENTIAL_PATTERNS = [/credential/i]

export function toProtocolError(error: unknown, context: string): ProtocolError {
  if (error instanceof ProtocolError) return error
  const code = classify(error)
  return new ProtocolError(code, context, { cause: error })
}

function classify(error: unknown): ProtocolErrorCode {
  if (error instanceof CryptoError) {
    if (error.code === 'aead-auth-failed') return 'decrypt-failed'
    if (
      error.code === 'invalid-public-key' ||
      error.code === 'invalid-key' ||
      error.code === 'invalid-length'
    ) {
      return 'malformed'
    }
    if (error.code === 'unsupported-algorithm') return 'unsupported-suite'
    return 'internal'
  }
  if (error instanceof MlsError) {
    const message = error.message
    if (REPLAY_PATTERNS.some((p) => p.test(message))) return 'replay'
    if (error instanceof CryptoVerificationError) return 'verification-failed'
    // ts-mls wraps a failed AEAD open in its own CryptoError; sender data that does not decrypt
    // surfaces as "Could not decode senderdata" (RFC 9420 §6.3.2).
    if (error instanceof MlsCryptoError) return 'decrypt-failed'
    if (error instanceof CodecError) return /senderdata/i.test(message) ? 'decrypt-failed' : 'malformed'
    if (error instanceof UsageError) return 'usage'
    if (error instanceof ValidationError) {
      if (CREDENTIAL_PATTERNS.some((p) => p.test(message))) return 'credential-rejected'
      if (/epoch/i.test(message)) return 'wrong-epoch'
      return 'invalid-commit'
    }
    return 'invalid-commit'
  }
  // WebCrypto and node:crypto report a failed AES-GCM tag as a generic OperationError/Error.
  if (
    error instanceof Error &&
    /operation-?specific reason|unsupported state|authenticate/i.test(error.message)
  ) {
    return 'decrypt-failed'
  }
  return 'internal'
}
