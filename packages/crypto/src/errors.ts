/**
 * One error type for the crypto package. `code` is stable and safe to show; messages never hold
 * key material, plaintext or secrets.
 */
export type CryptoErrorCode =
  | 'invalid-length' // an input has the wrong length for its algorithm
  | 'invalid-type' // an input is not a Uint8Array
  | 'invalid-key' // a key does not decode or is not on the curve
  | 'invalid-public-key' // a peer's public key is malformed, low order or gives an all-zero secret
  | 'aead-auth-failed' // ciphertext, nonce, key or associated data did not authenticate
  | 'unsupported-algorithm' // this backend does not offer the algorithm (no silent fallback)
  | 'limit-exceeded' // a size or count is above its MAX_* constant
  | 'nonce-reuse' // a sealing context was asked to seal twice with one (key, nonce)
  | 'internal' // a bug: report it

export class CryptoError extends Error {
  override readonly name = 'CryptoError'
  readonly code: CryptoErrorCode

  constructor(code: CryptoErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options)
    this.code = code
  }

  static is(value: unknown, code?: CryptoErrorCode): value is CryptoError {
    return value instanceof CryptoError && (code === undefined || value.code === code)
  }
}
