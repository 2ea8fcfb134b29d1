/**
 * The encrypted store in a browser: the sealed layer (`store/sealed-store.ts`) over IndexedDB
 * (`store/indexeddb-backend.ts`), the browser's counterpart of `store/sqlite-store.ts`. Same
 * format, same keys: Argon2id(passphrase) wraps the store key; every record is AES-256-GCM.
 * Checking for and deleting a store are in `store-presence.ts`, which loads no cryptography.
 */
import type { Argon2Params } from '@tacit/crypto/argon2'
import type { CryptoBackend } from '@tacit/crypto/backend'
import { StoreError } from '../store/errors.ts'
import { DEFAULT_DATABASE_NAME, openIndexedDbStoreBackend } from '../store/indexeddb-backend.ts'
import { createEncryptedStore, type EncryptedStore, unlockEncryptedStore } from '../store/sealed-store.ts'

export interface BrowserStoreOptions {
  readonly crypto: CryptoBackend
  /** IndexedDB database name (default `tacit-store`): one store, one account, per name. */
  readonly name?: string
  /** Argon2id parameters for a header this call writes (default: DEFAULT_ARGON2_PARAMS). */
  readonly kdfParams?: Argon2Params
}

/** Creates the store `name` in this browser; fails with `already-initialized` if it holds one. */
export async function createBrowserStore(
  passphrase: string,
  options: BrowserStoreOptions,
): Promise<EncryptedStore> {
  const backend = await openIndexedDbStoreBackend(options.name ?? DEFAULT_DATABASE_NAME, { create: true })
  try {
    return await createEncryptedStore(backend, passphrase, {
      crypto: options.crypto,
      ...(options.kdfParams ? { kdfParams: options.kdfParams } : {}),
    })
  } catch (error) {
    await backend.close()
    throw error
  }
}

/**
 * Unlocks the store `name`. A wrong passphrase fails with `wrong-passphrase` and changes nothing;
 * no store fails with `not-initialized` (and creates nothing).
 */
export async function unlockBrowserStore(
  passphrase: string,
  options: BrowserStoreOptions,
): Promise<EncryptedStore> {
  const backend = await openIndexedDbStoreBackend(options.name ?? DEFAULT_DATABASE_NAME, { create: false })
  try {
    return await unlockEncryptedStore(backend, passphrase, { crypto: options.crypto })
  } catch (error) {
    await backend.close()
    throw StoreError.is(error)
      ? error
      : new StoreError('internal', 'opening the store failed', { cause: error })
  }
}
