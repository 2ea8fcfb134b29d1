import { StoreError } from './errors.ts'
import {
  createEncryptedStore,
  type EncryptedStore,
  type SealedStoreOptions,
  unlockEncryptedStore,
} from './sealed-store.ts'
import { openSqliteStoreBackend } from './sqlite-backend.ts'

/**
 * Node entry points: an encrypted store in one SQLite file. Browsers use the same sealed layer
 * over an IndexedDB backend instead (`createEncryptedStore(backend, …)`).
 */

/** Creates a store file at `path` (which must not hold a store yet). */
export async function createSqliteStore(
  path: string,
  passphrase: string | Uint8Array,
  options: SealedStoreOptions,
): Promise<EncryptedStore> {
  const backend = openSqliteStoreBackend(path, { create: true })
  try {
    return await createEncryptedStore(backend, passphrase, options)
  } catch (error) {
    await backend.close()
    throw error
  }
}

/**
 * Opens and unlocks the store file at `path`. A wrong passphrase fails with `wrong-passphrase`
 * and leaves the file byte for byte as it was.
 */
export async function openSqliteStore(
  path: string,
  passphrase: string | Uint8Array,
  options: SealedStoreOptions,
): Promise<EncryptedStore> {
  const backend = openSqliteStoreBackend(path, { create: false })
  try {
    return await unlockEncryptedStore(backend, passphrase, options)
  } catch (error) {
    await backend.close()
    throw StoreError.is(error)
      ? error
      : new StoreError('internal', 'opening the store failed', { cause: error })
  }
}
