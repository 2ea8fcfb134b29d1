/**
 * One error type for the calls package. `code` is stable and safe to show or count; messages never
 * hold keys, salts or media bytes.
 */
export type CallsErrorCode =
  | 'invalid-header' // an SFrame header is truncated or its KID/CTR is not minimally encoded
  | 'unsupported-suite' // a cipher suite this package does not implement
  | 'invalid-key' // a base key, key or salt has the wrong type or length
  | 'unknown-kid' // no receive key for the KID in the header (RFC 9605 §4.4.4: discard)
  | 'auth-failed' // the frame did not authenticate (tampered, wrong key, wrong metadata)
  | 'counter-exhausted' // a send key reached MAX_SFRAME_COUNTER; a new key is needed
  | 'key-usage' // a KID used for both sending and receiving (RFC 9605 §4.4.1 forbids it)
  | 'limit-exceeded' // a size or count is above its MAX_* constant
  | 'invalid-kid' // a KID component is out of its range (call-keys layout)
  | 'unsupported-codec' // a media frame of a codec whose clear header bytes are not defined here
  | 'usage' // the API was called wrongly (a bug in the caller)

export class CallsError extends Error {
  override readonly name = 'CallsError'
  readonly code: CallsErrorCode

  constructor(code: CallsErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options)
    this.code = code
  }

  static is(value: unknown, code?: CallsErrorCode): value is CallsError {
    return value instanceof CallsError && (code === undefined || value.code === code)
  }
}
