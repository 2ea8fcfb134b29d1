/**
 * One error type for the encrypted local store. Codes are stable (the CLI maps them to exit codes
 * and messages); messages never hold keys, passphrases, record keys or values.
 *
 * Misuse (`invalid-argument`, `locked`, `transaction-closed`), what the user did
 * (`wrong-passphrase`), what is on disk (`not-initialized`, `already-initialized`, `not-a-store`,
 * `unsupported-version`, `corrupt-header`, `corrupt-record`), limits (`limit-exceeded`), the
 * medium (`io`, `conflict`) and our own bugs (`internal`: report it).
 */
export type StoreErrorCode =
  | 'wrong-passphrase' // the passphrase does not unwrap the store key (or the header was altered)
  | 'not-initialized' // no store here yet: create one first
  | 'already-initialized' // a store already exists where one was to be created
  | 'not-a-store' // the file is not a Tacit store (another SQLite database, another program's file)
  | 'unsupported-version' // a store format this code does not know (written by a newer version?)
  | 'corrupt-header' // the header does not decode
  | 'corrupt-record' // a record failed authentication: tampered, swapped between rows, or damaged
  | 'limit-exceeded' // a size or count is above its MAX_* constant
  | 'invalid-argument' // the caller passed a value of the wrong type or shape
  | 'locked' // the store was locked or closed; unlock it again
  | 'transaction-closed' // a transaction object was used after its function returned
  | 'conflict' // the header changed under us (another writer): nothing was written
  | 'io' // the storage medium failed (disk full, permissions, database error)
  | 'internal' // a bug: report it

export class StoreError extends Error {
  override readonly name = 'StoreError'
  readonly code: StoreErrorCode

  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options)
    this.code = code
  }

  static is(value: unknown, code?: StoreErrorCode): value is StoreError {
    return value instanceof StoreError && (code === undefined || value.code === code)
  }
}
