/**
 * One error type for the protocol package. Codes are stable (clients map them to user-facing
 * messages and the server maps them to wire errors); messages never hold keys or plaintext.
 *
 * The codes separate misuse (`usage`), bad input from the network (`malformed`, `too-large`,
 * `wrong-epoch`, …), failed verification (`verification-failed`, `credential-rejected`, …) and
 * our own bugs (`internal`: report it).
 */
export type ProtocolErrorCode =
  // input from the network
  | 'malformed' // bytes do not decode as the expected structure
  | 'too-large' // input above a MAX_* limit
  | 'wrong-group' // a message for another group
  | 'wrong-epoch' // a message for an epoch we are not in and keep no keys for
  | 'unexpected-message' // a well-formed message of a kind this call does not take
  | 'replay' // a message whose key was already used (RFC 9420 §9.2 deletion schedule)
  | 'decrypt-failed' // AEAD or sender-data decryption failed (bit flips, truncation, wrong keys)
  | 'verification-failed' // a signature, membership tag or confirmation tag did not verify
  | 'invalid-commit' // a commit the RFC forbids (validation of proposals, tree, path)
  | 'commit-path-required' // a commit without an UpdatePath where RFC 9420 §12.4 requires one
  // authentication and policy
  | 'credential-rejected' // the authentication service refused a credential
  | 'policy-rejected' // the policy callback refused a proposal or commit
  // local state and usage
  | 'not-member' // we were removed, or never joined
  | 'unsupported-suite'
  | 'unsupported-snapshot' // a snapshot of an unknown version
  | 'usage' // the caller broke an API contract
  | 'internal' // a bug: report it

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError'
  readonly code: ProtocolErrorCode

  constructor(code: ProtocolErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options)
    this.code = code
  }

  static is(value: unknown, code?: ProtocolErrorCode): value is ProtocolError {
    return value instanceof ProtocolError && (code === undefined || value.code === code)
  }
}
