import { ProtocolError, type ProtocolErrorCode } from '../errors.ts'

/**
 * Why a file operation failed. Each reason maps to one stable `ProtocolErrorCode`, so callers
 * that only know the package's codes still sort failures correctly (network input, failed
 * verification, misuse); callers that show details switch on `reason`.
 */
export type FileErrorReason =
  | 'bad-header' // the 16-byte header does not decode (magic, chunk size, length)
  | 'unsupported-version' // a header or descriptor of a version this code does not know
  | 'chunk-auth-failed' // a chunk did not authenticate: bit flip, reordering, duplicate, wrong key
  | 'truncated' // the ciphertext ended before the chunk flagged last
  | 'trailing-data' // bytes after the chunk flagged last (an appended chunk)
  | 'bad-padding' // padding bytes that are not zero
  | 'digest-mismatch' // the plaintext does not match the descriptor's digest
  | 'bad-descriptor' // a FileDescriptor that does not decode or breaks a rule
  | 'too-large' // above a MAX_* limit
  | 'misuse' // the caller broke the API contract (order of calls, sizes)

const CODE_OF_REASON: Readonly<Record<FileErrorReason, ProtocolErrorCode>> = {
  'bad-header': 'malformed',
  'unsupported-version': 'malformed',
  'chunk-auth-failed': 'decrypt-failed',
  truncated: 'decrypt-failed',
  'trailing-data': 'decrypt-failed',
  'bad-padding': 'malformed',
  'digest-mismatch': 'verification-failed',
  'bad-descriptor': 'malformed',
  'too-large': 'too-large',
  misuse: 'usage',
}

/** A `ProtocolError` from the file format; `ProtocolError.is(e, code)` keeps working. */
export class FileError extends ProtocolError {
  readonly reason: FileErrorReason

  constructor(reason: FileErrorReason, message: string, options?: { cause?: unknown }) {
    super(CODE_OF_REASON[reason], `${reason}: ${message}`, options)
    this.reason = reason
  }

  static isReason(value: unknown, reason?: FileErrorReason): value is FileError {
    return value instanceof FileError && (reason === undefined || value.reason === reason)
  }
}
