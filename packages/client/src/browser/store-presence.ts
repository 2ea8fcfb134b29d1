/**
 * Whether this browser holds a store, and deleting one, without loading the sealed layer or any
 * cryptography: the web client's first page asks this before the SDK has arrived.
 */
import { StoreError } from '../store/errors.ts'
import {
  DEFAULT_DATABASE_NAME,
  deleteIndexedDbStore,
  openIndexedDbStoreBackend,
} from '../store/indexeddb-backend.ts'

/** Whether this browser holds an initialised store called `name` (reads only; creates nothing). */
export async function browserStoreExists(name: string = DEFAULT_DATABASE_NAME): Promise<boolean> {
  let backend: Awaited<ReturnType<typeof openIndexedDbStoreBackend>>
  try {
    backend = await openIndexedDbStoreBackend(name, { create: false })
  } catch (error) {
    if (StoreError.is(error, 'not-initialized')) return false
    throw error
  }
  try {
    return (await backend.readHeader()) !== undefined
  } finally {
    await backend.close()
  }
}

/** Deletes the store `name` and everything in it (an abandoned registration, "forget this browser"). */
export function deleteBrowserStore(name: string = DEFAULT_DATABASE_NAME): Promise<void> {
  return deleteIndexedDbStore(name)
}
