/** The SFU's one error type; `code` is stable and is what a client sees (docs/protocol/sfu.md §Errors). */
export type SfuErrorCode =
  | 'bad-message'
  | 'unauthenticated'
  | 'auth-timeout'
  | 'rate-limited'
  | 'room-full'
  | 'too-many-rooms'
  | 'too-many-sessions'
  | 'already-joined'
  | 'not-joined'
  | 'negotiation-failed'
  | 'answer-timeout'
  | 'connect-timeout'
  | 'connection-lost'
  | 'media-idle'
  | 'shutting-down'

export class SfuError extends Error {
  override readonly name = 'SfuError'
  constructor(
    readonly code: SfuErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }

  static is(error: unknown, code?: SfuErrorCode): error is SfuError {
    return error instanceof SfuError && (code === undefined || error.code === code)
  }
}
