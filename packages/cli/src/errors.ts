/**
 * One error type for the CLI. Every failure a user can meet ends as a `CliError` whose `code`
 * picks the exit code (see `EXIT_CODES` and docs/cli.md) and whose message is one line that never
 * holds keys, passphrases or anybody's plaintext.
 *
 * Errors from the SDK, the protocol and the network are mapped here by their stable `code`
 * (`classifyError`); anything unrecognised is an `internal` error whose original message is not
 * printed, because we cannot vouch for what it contains.
 */
export type CliErrorCode =
  | 'usage' // bad command line: unknown command or flag, missing argument, value over a limit
  | 'auth' // wrong or missing passphrase, no account in the profile, server refused our device
  | 'network' // the server is unreachable, timed out, or answered with an error
  | 'verification' // a signature, safety number, MAC or digest did not verify; a key changed
  | 'not-found' // no such conversation, member, device, file or blob
  | 'not-available' // the SDK does not provide this operation yet
  | 'conflict' // the thing exists already (an account in the profile, an output file)
  | 'io' // a local file could not be read or written
  | 'interrupted' // Ctrl-C
  | 'internal' // a bug: report it

/** Exit codes, documented in docs/cli.md. Stable: scripts depend on them. */
export const EXIT_CODES = {
  ok: 0,
  usage: 1,
  auth: 2,
  network: 3,
  verification: 4,
  'not-found': 5,
  'not-available': 6,
  conflict: 7,
  io: 8,
  internal: 70, // EX_SOFTWARE in sysexits.h
  interrupted: 130, // 128 + SIGINT, as shells report it
} as const satisfies Record<CliErrorCode | 'ok', number>

export class CliError extends Error {
  override readonly name = 'CliError'
  readonly code: CliErrorCode

  constructor(code: CliErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }

  get exitCode(): number {
    return EXIT_CODES[this.code]
  }

  static is(value: unknown, code?: CliErrorCode): value is CliError {
    return value instanceof CliError && (code === undefined || value.code === code)
  }
}

export function usageError(message: string): CliError {
  return new CliError('usage', message)
}

export function notAvailable(operation: string): CliError {
  return new CliError(
    'not-available',
    `${operation} is not available yet: the client SDK does not provide it in this build`,
  )
}

/**
 * Stable codes of the other packages' errors, by the class of failure they are. The SDK's own
 * codes are matched by name too, so a new SDK error lands in the right class without a CLI change
 * as long as its code says what it is.
 */
const CODE_CLASSES: Readonly<Record<string, CliErrorCode>> = {
  // passphrase and account
  'wrong-passphrase': 'auth',
  'bad-passphrase': 'auth',
  'passphrase-required': 'auth',
  'no-account': 'auth',
  'auth-failed': 'auth',
  unauthorized: 'auth',
  'invite-invalid': 'auth',
  'device-revoked': 'auth',
  'store-locked': 'auth',
  'not-registered': 'auth', // ClientError: no account in this profile
  'not-initialized': 'auth', // StoreError: no store in this profile
  locked: 'auth',
  unauthenticated: 'auth',
  forbidden: 'auth',
  // network and server
  network: 'network',
  timeout: 'network',
  'server-error': 'network',
  'rate-limited': 'network',
  unavailable: 'network',
  'connection-closed': 'network',
  closed: 'network',
  'commit-retries-exhausted': 'network',
  'epoch-conflict': 'network',
  'quota-exceeded': 'network',
  'limit-exceeded': 'network',
  'upload-incomplete': 'network',
  server: 'network',
  ECONNREFUSED: 'network',
  ECONNRESET: 'network',
  ENOTFOUND: 'network',
  ETIMEDOUT: 'network',
  EHOSTUNREACH: 'network',
  UND_ERR_CONNECT_TIMEOUT: 'network',
  UND_ERR_SOCKET: 'network',
  // verification and cryptography
  'verification-failed': 'verification',
  'decrypt-failed': 'verification',
  'credential-rejected': 'verification',
  'integrity-failed': 'verification',
  'file-tampered': 'verification',
  'digest-mismatch': 'verification',
  'identity-changed': 'verification',
  'invalid-commit': 'verification',
  'commit-path-required': 'verification',
  replay: 'verification',
  truncated: 'verification',
  'corrupt-header': 'verification',
  'corrupt-record': 'verification',
  malformed: 'verification',
  'link-invalid': 'verification',
  // not found
  'not-found': 'not-found',
  'unknown-conversation': 'not-found',
  'unknown-handle': 'not-found',
  'unknown-device': 'not-found',
  'not-member': 'not-found',
  'no-devices': 'not-found',
  ENOENT: 'not-found',
  // exists already
  conflict: 'conflict',
  exists: 'conflict',
  'handle-taken': 'conflict',
  'account-exists': 'conflict',
  'already-exists': 'conflict',
  'already-registered': 'conflict',
  'already-initialized': 'conflict',
  EEXIST: 'conflict',
  // local files
  EACCES: 'io',
  EISDIR: 'io',
  ENOTDIR: 'io',
  ENOSPC: 'io',
  EROFS: 'io',
  EPERM: 'io',
  io: 'io',
  'not-a-store': 'io',
  // misuse by us or by the user through us
  usage: 'usage',
  'too-large': 'usage',
  'invalid-argument': 'usage',
  'invalid-field': 'usage',
}

/** Hints for codes whose message alone does not say what to do. */
const HINTS: Readonly<Record<string, string>> = {
  'not-registered': ' (no account in this profile: tacit account create, or --profile)',
  'not-initialized': ' (no account in this profile: tacit account create, or --profile)',
  'already-initialized': ' (this profile already has an account: choose another --profile)',
  'already-registered': ' (this profile already has an account: choose another --profile)',
}

function readCode(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const code = (value as { code?: unknown }).code
  return typeof code === 'string' ? code : undefined
}

/**
 * Turns anything thrown into a `CliError`. A typed error of our packages keeps its message (the
 * packages promise their messages hold no secrets); a system error keeps only its code, because
 * its message may name paths of other people's files; anything else becomes `internal`.
 */
export function classifyError(error: unknown): CliError {
  if (error instanceof CliError) return error
  // A server error: its own stable code says more than the SDK's `server`.
  const serverCode = (error as { serverCode?: unknown } | null)?.serverCode
  const code = typeof serverCode === 'string' && CODE_CLASSES[serverCode] ? serverCode : readCode(error)
  // fetch() wraps the socket error in `cause`.
  const causeCode = readCode((error as { cause?: unknown } | null)?.cause)
  const cls = (code && CODE_CLASSES[code]) || (causeCode && CODE_CLASSES[causeCode]) || undefined
  const fromPackage =
    error instanceof Error &&
    /^(Client|Protocol|Crypto|Store|File|Wire|Tacit)[A-Za-z]*Error$/.test(error.name)
  if (cls && fromPackage) {
    return new CliError(cls, firstLine(error.message) + (HINTS[code ?? ''] ?? ''), { cause: error })
  }
  if (cls) {
    const what = causeCode && !code ? causeCode : (code ?? 'error')
    return new CliError(cls, describeSystemError(cls, what), { cause: error })
  }
  if (error instanceof TypeError && error.message === 'fetch failed') {
    return new CliError('network', 'cannot reach the server', { cause: error })
  }
  if (fromPackage && code) {
    const message = firstLine((error as Error).message)
    return new CliError('internal', message.startsWith(`${code}:`) ? message : `${code}: ${message}`, {
      cause: error,
    })
  }
  const name = error instanceof Error ? error.name : typeof error
  return new CliError('internal', `unexpected ${name} (this is a bug, please report it)`, { cause: error })
}

function describeSystemError(cls: CliErrorCode, code: string): string {
  switch (cls) {
    case 'network':
      return `cannot reach the server (${code})`
    case 'not-found':
      return `not found (${code})`
    case 'conflict':
      return `already exists (${code})`
    case 'io':
      return `cannot read or write a local file (${code})`
    default:
      return code
  }
}

function firstLine(message: string): string {
  const line = message.split('\n')[0] ?? ''
  return line.length > 300 ? `${line.slice(0, 300)}…` : line
}
