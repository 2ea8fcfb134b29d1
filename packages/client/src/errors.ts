/**
 * One error type for the client SDK. Codes are stable (the CLI maps them to exit codes and
 * messages); messages never hold keys, tokens or plaintext.
 */
export type ClientErrorCode =
  | 'usage' // the caller broke an API contract (unknown conversation, bad handle…)
  | 'not-registered' // the store holds no account for this device
  | 'already-registered' // the store already holds an account
  | 'server' // the server answered with an error; `serverCode` says which
  | 'network' // the server could not be reached, or the connection dropped mid-request
  | 'timeout' // a bounded wait ran out
  | 'closed' // the client was closed
  | 'not-member' // this device is no longer in the conversation
  | 'unknown-handle' // no such account on the server
  | 'no-devices' // the handle has no device with a KeyPackage to add
  | 'commit-retries-exhausted' // a commit lost the epoch race MAX_COMMIT_ATTEMPTS times
  | 'link-invalid' // a device-link code or answer does not decode, or was not for us
  | 'too-large' // an input above a MAX_* limit
  | 'malformed' // stored or received bytes do not decode
  | 'file-tampered' // a downloaded blob failed authentication or its digest: nothing was saved
  | 'verification-failed' // a scanned code or typed safety number does not match: not verified
  | 'internal' // a bug: report it

export class ClientError extends Error {
  override readonly name = 'ClientError'
  readonly code: ClientErrorCode
  /** With `server`: the server's stable error code (docs/protocol/server.md §1). */
  readonly serverCode: string | undefined
  /** With `server` and `epoch-conflict`: the group's current epoch. */
  readonly currentEpoch: bigint | undefined

  constructor(
    code: ClientErrorCode,
    message: string,
    options?: { cause?: unknown; serverCode?: string; currentEpoch?: bigint },
  ) {
    super(`${code}: ${message}`, options?.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.serverCode = options?.serverCode
    this.currentEpoch = options?.currentEpoch
  }

  static is(value: unknown, code?: ClientErrorCode): value is ClientError {
    return value instanceof ClientError && (code === undefined || value.code === code)
  }

  /** True for a `server` error carrying the given server code. */
  static isServer(value: unknown, serverCode: string): value is ClientError {
    return value instanceof ClientError && value.code === 'server' && value.serverCode === serverCode
  }
}
