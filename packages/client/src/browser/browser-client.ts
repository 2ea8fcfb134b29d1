/**
 * The SDK in a browser, in one call: a `TacitClient` over the browser's own parts — WebCrypto
 * (`webCryptoBackend`), the encrypted store in IndexedDB (`browser-store.ts`), the platform's
 * fetch and WebSocket (`browserTransport`), files as Blobs (`browser-files.ts`) — held by one tab
 * at a time (`tab-lock.ts`).
 *
 * A registration that fails after the store was created (a used invite, a taken handle) deletes
 * that store again, so the next attempt starts clean; a store that holds no account is never left
 * behind by this module.
 */
import type { Argon2Params } from '@tacit/crypto/argon2'
import type { CryptoBackend } from '@tacit/crypto/backend'
import { webCryptoBackend } from '@tacit/crypto/web/backend'
import { TacitClient } from '../client.ts'
import { ClientError } from '../errors.ts'
import { browserTransport, type Transport } from '../net/transport.ts'
import { DEFAULT_DATABASE_NAME } from '../store/indexeddb-backend.ts'
import type { EncryptedStore } from '../store/sealed-store.ts'
import { type BrowserFiles, browserFiles } from './browser-files.ts'
import { createBrowserStore, unlockBrowserStore } from './browser-store.ts'
import { deleteBrowserStore } from './store-presence.ts'
import { acquireTabLock, type TabLock } from './tab-lock.ts'

export interface BrowserSessionOptions {
  readonly passphrase: string
  /** IndexedDB database name (default `tacit-store`). */
  readonly storeName?: string
  /** Argon2id parameters for a new store (default: DEFAULT_ARGON2_PARAMS, 64 MiB, t = 3). */
  readonly kdfParams?: Argon2Params
  /** Defaults to the browser's WebCrypto. */
  readonly crypto?: CryptoBackend
  /** Defaults to the browser's fetch and WebSocket. */
  readonly transport?: Transport
}

export interface CreateBrowserAccountOptions extends BrowserSessionOptions {
  /** The server's origin; the web client served by the server passes `location.origin`. */
  readonly serverUrl: string
  readonly invite: string
  readonly handle: string
}

export interface BeginBrowserLinkOptions extends BrowserSessionOptions {
  /** The server's origin, as for a new account. */
  readonly serverUrl: string
}

/**
 * This browser as a new device of an account that already exists elsewhere (DESIGN.md §7,
 * device linking): `code` goes to a device that has the account, which approves it and shows an
 * answer; `complete(answer)` then opens the account here. A wrong answer can be retried; `cancel`
 * deletes the store the link was begun in. Until it completes the tab keeps the store open.
 */
export interface PendingBrowserLink {
  readonly code: string
  complete(answer: string): Promise<BrowserSession>
  cancel(): Promise<void>
}

/** An unlocked account in this tab. `lock()` closes the client and zeroes the store's keys. */
export interface BrowserSession {
  readonly client: TacitClient
  readonly store: EncryptedStore
  /** Files to send (`files.add(file)` gives the name `client.sendFile` takes) and downloads. */
  readonly files: BrowserFiles
  lock(): Promise<void>
}

function lockNameOf(storeName: string): string {
  return `tacit:${storeName}`
}

async function holdTab(storeName: string): Promise<TabLock> {
  const lock = await acquireTabLock(lockNameOf(storeName))
  if (lock === null) {
    throw new ClientError('usage', 'this account is open in another tab or window of this browser')
  }
  return lock
}

function sessionOf(
  client: TacitClient,
  store: EncryptedStore,
  files: BrowserFiles,
  tab: TabLock,
): BrowserSession {
  let locking: Promise<void> | null = null
  return {
    client,
    store,
    files,
    lock() {
      locking ??= (async () => {
        try {
          await client.close()
        } finally {
          files.clear()
          await store.lock()
          tab.release()
        }
      })()
      return locking
    },
  }
}

/** A store just created in this tab, held until it holds an account or is discarded. */
interface NewStore {
  readonly store: EncryptedStore
  readonly crypto: CryptoBackend
  readonly tab: TabLock
  /** Zeroes the store's keys, deletes it and releases the tab. */
  discard(): Promise<void>
}

/**
 * Holds the tab and creates a new store under the passphrase for `use`; if creating it or `use`
 * fails, the store is deleted again, so no store without an account is left behind.
 */
async function withNewStore<T>(o: BrowserSessionOptions, use: (created: NewStore) => Promise<T>): Promise<T> {
  const storeName = o.storeName ?? DEFAULT_DATABASE_NAME
  const crypto = o.crypto ?? webCryptoBackend
  const tab = await holdTab(storeName)
  let store: EncryptedStore | null = null
  const discard = async () => {
    if (store !== null) {
      await store.lock().catch(() => undefined)
      await deleteBrowserStore(storeName).catch(() => undefined)
    }
    tab.release()
  }
  try {
    store = await createBrowserStore(o.passphrase, {
      crypto,
      name: storeName,
      ...(o.kdfParams ? { kdfParams: o.kdfParams } : {}),
    })
    return await use({ store, crypto, tab, discard })
  } catch (error) {
    await discard()
    throw error
  }
}

/** Registers a new account by invite and keeps it in this browser's encrypted store. */
export function createBrowserAccount(o: CreateBrowserAccountOptions): Promise<BrowserSession> {
  return withNewStore(o, async ({ store, crypto, tab }) => {
    const files = browserFiles()
    const client = await TacitClient.createAccount({
      serverUrl: o.serverUrl,
      invite: o.invite,
      handle: o.handle,
      store,
      backend: crypto,
      transport: o.transport ?? browserTransport(),
      files: files.platform,
    })
    return sessionOf(client, store, files, tab)
  })
}

/**
 * Begins linking this browser to an existing account: creates the encrypted store under the
 * passphrase, keeps the link's ephemeral keys in it, and returns the code to show. A store left
 * by a link that never completed holds no account; unlocking it reports `not-registered`.
 */
export function beginBrowserLink(o: BeginBrowserLinkOptions): Promise<PendingBrowserLink> {
  return withNewStore(o, async ({ store, crypto, tab, discard }) => {
    const { code } = await TacitClient.beginDeviceLink({ serverUrl: o.serverUrl, store, backend: crypto })
    let state: 'open' | 'completing' | 'done' = 'open'
    return {
      code,
      async complete(answer) {
        if (state !== 'open') throw new ClientError('usage', 'this device link is finishing or finished')
        state = 'completing'
        const files = browserFiles()
        try {
          const client = await TacitClient.completeDeviceLink({
            store,
            backend: crypto,
            transport: o.transport ?? browserTransport(),
            files: files.platform,
            answer,
          })
          state = 'done'
          return sessionOf(client, store, files, tab)
        } catch (error) {
          // A refused answer (mistyped, for another code, no package yet) leaves the link open.
          state = 'open'
          files.clear()
          throw error
        }
      },
      async cancel() {
        if (state !== 'open') return
        state = 'done'
        await discard()
      },
    }
  })
}

/** Unlocks this browser's account (`wrong-passphrase` from the store when it does not open it). */
export async function openBrowserAccount(o: BrowserSessionOptions): Promise<BrowserSession> {
  const storeName = o.storeName ?? DEFAULT_DATABASE_NAME
  const crypto = o.crypto ?? webCryptoBackend
  const tab = await holdTab(storeName)
  let store: EncryptedStore | null = null
  try {
    store = await unlockBrowserStore(o.passphrase, { crypto, name: storeName })
    const files = browserFiles()
    const client = await TacitClient.open({
      store,
      backend: crypto,
      transport: o.transport ?? browserTransport(),
      files: files.platform,
    })
    return sessionOf(client, store, files, tab)
  } catch (error) {
    await store?.lock().catch(() => undefined)
    tab.release()
    throw error
  }
}
