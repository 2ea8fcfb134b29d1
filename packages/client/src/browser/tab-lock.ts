/**
 * One tab at a time per account. Two tabs running the same device would both read the mailbox,
 * both commit for the same epochs and both write the store: the client's rules (one step at a
 * time, state persisted before anything is sent) hold within one `TacitClient`, not across two.
 * The Web Locks API gives an exclusive lock per origin that the browser releases when the tab
 * closes or crashes, so a dead tab never keeps the account locked.
 */

export interface TabLock {
  /** Lets the next tab in. Idempotent. */
  release(): void
}

interface LockManagerLike {
  request(
    name: string,
    options: { mode: 'exclusive'; ifAvailable: true },
    callback: (lock: unknown) => Promise<void>,
  ): Promise<unknown>
}

/**
 * Takes the exclusive lock `name` if no other tab holds it; null if one does. Where the Web Locks
 * API is missing (an old browser), returns a lock that guards nothing.
 */
export async function acquireTabLock(name: string): Promise<TabLock | null> {
  const locks = (globalThis.navigator as { locks?: LockManagerLike } | undefined)?.locks
  if (locks === undefined) return { release() {} }
  let release: () => void = () => {}
  const released = new Promise<void>((resolve) => {
    release = resolve
  })
  const granted = await new Promise<boolean>((resolve, reject) => {
    locks
      .request(name, { mode: 'exclusive', ifAvailable: true }, async (lock) => {
        resolve(lock !== null)
        if (lock !== null) await released
      })
      .catch(reject)
  })
  return granted ? { release } : null
}
