/**
 * Turns whatever a handler threw into the one wire error the client sees. Storage errors map
 * by code (below); anything unknown is `internal` with a fixed message, so no exception text —
 * which might quote input — reaches the client or the logs.
 */
import { WireError, type WireErrorCode } from '@tacit/protocol/wire/errors'
import { StorageError, type StorageErrorCode } from './storage/storage.ts'

const FROM_STORAGE: Record<StorageErrorCode, WireErrorCode> = {
  'not-found': 'not-found',
  'already-exists': 'already-exists',
  'invite-invalid': 'invite-invalid',
  'device-revoked': 'device-revoked',
  'limit-exceeded': 'limit-exceeded',
  'offset-mismatch': 'offset-mismatch',
  unavailable: 'unavailable',
  'invalid-argument': 'invalid-field',
}

const STORAGE_MESSAGES: Record<StorageErrorCode, string> = {
  'not-found': 'not found',
  'already-exists': 'already exists',
  'invite-invalid': 'the invite is unknown, used, revoked or expired',
  'device-revoked': 'a device is revoked',
  'limit-exceeded': 'a stored count or size is at its limit',
  'offset-mismatch': 'the chunk does not start where the upload stands',
  unavailable: 'storage is unavailable; retry later',
  'invalid-argument': 'a field is invalid',
}

export function toWireError(error: unknown): WireError {
  if (WireError.is(error)) return error
  if (StorageError.is(error)) {
    return new WireError(FROM_STORAGE[error.code], STORAGE_MESSAGES[error.code], {}, { cause: error })
  }
  return new WireError('internal', 'internal error; nothing was written', {}, { cause: error })
}
