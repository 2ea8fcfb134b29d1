/**
 * The delivery service's error codes and THE table that maps each to an HTTP status. The same
 * codes travel in WebSocket error frames (`frames.ts`), so a client handles one set of errors
 * whichever channel it used. Codes are stable: never rename one, only add. Messages are for
 * people and never hold keys, tokens, content or addresses.
 */

export const WIRE_ERRORS = {
  /** The request or frame could not be parsed at all (bad JSON, truncated frame, unknown type). */
  malformed: { status: 400 },
  /** A field has the wrong type, format or length. */
  'invalid-field': { status: 400 },
  /** A size or count is above its MAX_* limit (`limits.ts`). */
  'too-large': { status: 413 },
  /** No session, or the session token is unknown or expired; on WebSocket: not authenticated yet. */
  unauthenticated: { status: 401 },
  /** A signature did not verify, or the challenge is unknown, used or expired. */
  'auth-failed': { status: 401 },
  /** Authenticated, but this account may not do that (another account's device or blob). */
  forbidden: { status: 403 },
  /** The device is revoked: it can no longer connect, send or receive. */
  'device-revoked': { status: 403 },
  /** The invite code is unknown, used, revoked or expired. */
  'invite-invalid': { status: 403 },
  'not-found': { status: 404 },
  'method-not-allowed': { status: 405 },
  /** The handle, device key or delivery token is already registered. */
  'already-exists': { status: 409 },
  /** RFC 9420 §14: another commit already took this epoch; `details.currentEpoch` says where the group is. */
  'epoch-conflict': { status: 409 },
  /** A blob chunk does not start where the upload stands; `details.offset` says where it does. */
  'offset-mismatch': { status: 409 },
  /** The blob upload is not complete yet, so it cannot be downloaded. */
  'upload-incomplete': { status: 409 },
  /** A stored count is at its limit (key packages per device, devices per account). */
  'limit-exceeded': { status: 409 },
  /** The account's blob quota would be exceeded. */
  'quota-exceeded': { status: 413 },
  'unsupported-media-type': { status: 415 },
  /** The Range header does not fit the blob. */
  'range-not-satisfiable': { status: 416 },
  /** Too many requests; `details.retryAfterSeconds` says when to retry. */
  'rate-limited': { status: 429 },
  /** A bug: report it. Nothing was written. */
  internal: { status: 500 },
  /** The database could not be reached, or the server is shutting down: retry later. */
  unavailable: { status: 503 },
} as const satisfies Record<string, { status: number }>

export type WireErrorCode = keyof typeof WIRE_ERRORS

export interface WireErrorDetails {
  /** With `epoch-conflict`: the group's current epoch. */
  readonly currentEpoch?: bigint
  /** With `offset-mismatch`: where the upload stands. */
  readonly offset?: number
  /** With `rate-limited`. */
  readonly retryAfterSeconds?: number
}

export class WireError extends Error {
  override readonly name = 'WireError'
  readonly code: WireErrorCode
  readonly details: WireErrorDetails

  constructor(
    code: WireErrorCode,
    message: string,
    details: WireErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.code = code
    this.details = details
  }

  get status(): number {
    return WIRE_ERRORS[this.code].status
  }

  static is(value: unknown, code?: WireErrorCode): value is WireError {
    return value instanceof WireError && (code === undefined || value.code === code)
  }
}

export function isWireErrorCode(value: unknown): value is WireErrorCode {
  return typeof value === 'string' && Object.hasOwn(WIRE_ERRORS, value)
}

export function statusOf(code: WireErrorCode): number {
  return WIRE_ERRORS[code].status
}
