/**
 * Who is who: the identity key trusted for each handle, and which server device (mailbox) each
 * group member is.
 *
 * Trust is trust-on-first-use (DESIGN.md §4; key transparency comes later): the first identity
 * key the key directory gives for a handle is recorded in the store; from then on only that key
 * is accepted for the handle (the authentication service rejects credentials signed by any
 * other), and a directory answer with a different key raises an `identity-changed` alert and
 * is not adopted.
 *
 * Verification (docs/protocol/verification.md §4) hooks in here: every directory answer for a
 * contact the user verified goes through the protocol's `detectContactChanges` against the
 * record kept in `contacts.ts`; each change is alerted once, and an identity key change voids
 * the verification.
 *
 * Routes map (handle, memberId — the device id inside a credential) to the server's device id.
 * They come from the key directory's device list (each device's registered credential) and from
 * KeyPackage claims. A wrong route can only misdirect ciphertext, never expose it: MLS decides
 * who can read.
 */
import type { CryptoBackend } from '@tacit/crypto/backend'
import { equalBytes } from '@tacit/crypto/bytes'
import { decodeCredential } from '@tacit/protocol/credential'
import { type ContactAlert, detectContactChanges } from '@tacit/protocol/verification/contact-changes'
import { base64urlToBytes, bytesToBase64url } from '@tacit/protocol/wire/encoding'
import { ClientError } from '../errors.ts'
import { DIRECTORY_LOOKUP_CONCURRENCY } from '../limits.ts'
import type { DirectoryAccount, HttpApi } from '../net/http-api.ts'
import {
  type ClientStore,
  decodeJson,
  encodeJson,
  getJson,
  key,
  NS,
  type StoreTransaction,
} from '../state/store-port.ts'
import {
  certifiedContact,
  getVerifiedRecord,
  lastSeenIdentity,
  putVerifiedRecord,
  withSeenDevices,
} from './contacts.ts'

export interface TrustRecord {
  readonly identityKey: string
  readonly firstSeen: number
  readonly verified: boolean
}

/** What the directory tells the user about: a changed identity key, and device changes of verified contacts. */
export type DirectoryAlert =
  | { readonly kind: 'identity-changed'; readonly handle: string; readonly wasVerified: boolean }
  | {
      readonly kind: 'device-added' | 'device-removed' | 'device-key-changed'
      readonly handle: string
      /** The device id inside the device's credential (what group members see). */
      readonly memberId: string
    }

export type AlertSink = (alert: DirectoryAlert) => void

export class Directory {
  private readonly trusted = new Map<string, Uint8Array>()

  constructor(
    private readonly backend: CryptoBackend,
    private readonly store: ClientStore,
    private readonly api: HttpApi,
    private readonly now: () => number,
    private readonly alert: AlertSink,
  ) {}

  /** Records `identityKey` for `handle` if nothing is recorded yet (our own account, a link). */
  async trustOnFirstUse(handle: string, identityKey: Uint8Array): Promise<boolean> {
    const existing = await this.trustedKey(handle)
    if (existing) return equalBytes(existing, identityKey)
    const record: TrustRecord = {
      identityKey: bytesToBase64url(identityKey),
      firstSeen: this.now(),
      verified: false,
    }
    await this.store.transaction((tx) => tx.put(NS.trust, key(handle), encodeJson(record)))
    this.trusted.set(handle, identityKey)
    return true
  }

  async trustedKey(handle: string): Promise<Uint8Array | null> {
    const cached = this.trusted.get(handle)
    if (cached) return cached
    const r = await getJson<TrustRecord>(this.store, NS.trust, handle, 'trust record')
    if (!r) return null
    const k = base64urlToBytes(r.identityKey, 'identityKey')
    this.trusted.set(handle, k)
    return k
  }

  /** The authentication service's resolver (`IdentityResolver`). */
  readonly identityOf = async (handle: string): Promise<Uint8Array | null> => {
    const known = await this.trustedKey(handle)
    if (known) return known
    const account = await this.refresh(handle)
    return account ? await this.trustedKey(handle) : null
  }

  /**
   * `identityOf` for many handles at once (a group's members): the handles with no trusted key
   * yet are looked up concurrently and recorded in one store transaction. Each answer goes
   * through the same checks as a single lookup. Unknown handles map to null.
   */
  async identitiesOf(handles: readonly string[]): Promise<Map<string, Uint8Array | null>> {
    const out = new Map<string, Uint8Array | null>()
    const unknown: string[] = []
    for (const h of new Set(handles)) {
      const known = await this.trustedKey(h)
      if (known) out.set(h, known)
      else unknown.push(h)
    }
    if (unknown.length > 0) {
      const accounts = await this.refreshMany(unknown)
      for (const h of unknown) out.set(h, accounts.get(h) ? await this.trustedKey(h) : null)
    }
    return out
  }

  /**
   * Fetches the handle's directory entry, applies trust on first use, alerts on a changed
   * identity key, and records routes for devices whose credential the trusted key signed.
   */
  async refresh(handle: string): Promise<DirectoryAccount | null> {
    return (await this.refreshWithAlerts(handle)).account
  }

  /** `refresh`, also returning the alerts it raised (they go to the alert sink as well). */
  async refreshWithAlerts(
    handle: string,
  ): Promise<{ account: DirectoryAccount | null; alerts: DirectoryAlert[] }> {
    const alerts: DirectoryAlert[] = []
    const accounts = await this.refreshMany([handle], (a) => {
      alerts.push(a)
      this.alert(a)
    })
    return { account: accounts.get(handle) ?? null, alerts }
  }

  /** Directory entries of distinct handles, in order: one request for one, batches for more. */
  private async lookUp(handles: readonly string[]): Promise<(DirectoryAccount | null)[]> {
    if (handles.length === 1) return [await this.api.getAccount(handles[0]!)]
    try {
      return await this.api.getAccounts(handles)
    } catch (error) {
      // A server from before the batch lookup knows the path only for GET.
      if (!ClientError.isServer(error, 'method-not-allowed')) throw error
      return mapConcurrent(handles, DIRECTORY_LOOKUP_CONCURRENCY, (h) => this.api.getAccount(h))
    }
  }

  /**
   * `refresh` for many handles: one batch lookup per MAX_LOOKUP_HANDLES handles, then every
   * first-use trust record and route of all of them is written in one transaction (one fsync
   * instead of two per handle). The checks are per handle, as for a single one.
   */
  async refreshMany(
    handles: readonly string[],
    alert: AlertSink = this.alert,
  ): Promise<Map<string, DirectoryAccount | null>> {
    const unique = [...new Set(handles)]
    const fetched = await this.lookUp(unique)
    const accounts = new Map<string, DirectoryAccount | null>()
    const firstUse = new Map<string, TrustRecord>()
    const mismatched: string[] = []
    const accepted: DirectoryAccount[] = []
    const routes = new Map<string, string>()
    const refreshedHandles = new Set<string>()
    for (const [i, handle] of unique.entries()) {
      const account = fetched[i] ?? null
      accounts.set(handle, account)
      if (!account) continue
      const existing = await this.trustedKey(handle)
      if (existing && !equalBytes(existing, account.identityKey)) {
        mismatched.push(handle)
        continue
      }
      if (!existing) {
        firstUse.set(handle, {
          identityKey: bytesToBase64url(account.identityKey),
          firstSeen: this.now(),
          verified: false,
        })
      }
      accepted.push(account)
      refreshedHandles.add(handle)
      for (const [k, v] of routesOf(handle, account)) routes.set(k, v)
    }
    if (firstUse.size > 0 || refreshedHandles.size > 0) {
      await this.store.transaction(async (tx) => {
        for (const [h, r] of firstUse) await tx.put(NS.trust, key(h), encodeJson(r))
        for (const [k, v] of routes) await tx.put(NS.routes, key(k), encodeJson({ deviceId: v }))
        // Devices gone from the directory (revoked) lose their route: nothing is sent to them.
        for (const e of await tx.list(NS.routes)) {
          const k = new TextDecoder().decode(e.key)
          const h = k.slice(0, k.indexOf('/'))
          if (refreshedHandles.has(h) && !routes.has(k)) await tx.delete(NS.routes, e.key)
        }
      })
      for (const [h, r] of firstUse) this.trusted.set(h, base64urlToBytes(r.identityKey, 'identityKey'))
    }
    for (const h of mismatched) await this.reportIdentityMismatch(h, alert)
    for (const account of accepted) await this.checkVerified(account, alert)
    return accounts
  }

  /**
   * Someone showed an identity key for `handle` other than the trusted one (the directory, or a
   * credential in a group): alert, and void a verification of that handle.
   */
  async reportIdentityMismatch(handle: string, alert: AlertSink = this.alert): Promise<void> {
    const record = await getVerifiedRecord(this.store, handle)
    const wasVerified = record?.verified === true
    if (record && wasVerified) {
      await this.store.transaction((tx) => putVerifiedRecord(tx, { ...record, verified: false }))
    }
    alert({ kind: 'identity-changed', handle, wasVerified })
  }

  /** Alerts on what changed for a verified contact since the user was last told; returns the alerts. */
  private async checkVerified(account: DirectoryAccount, alert: AlertSink): Promise<readonly ContactAlert[]> {
    const record = await getVerifiedRecord(this.store, account.handle)
    if (!record?.verified) return []
    const current = await certifiedContact(this.backend, account)
    const { stillVerified, alerts } = detectContactChanges(lastSeenIdentity(record), current)
    if (alerts.length === 0) return []
    const next = stillVerified ? withSeenDevices(record, current.devices) : { ...record, verified: false }
    await this.store.transaction((tx) => putVerifiedRecord(tx, next))
    for (const a of alerts) {
      if (a.kind === 'identity-key-changed')
        alert({ kind: 'identity-changed', handle: a.handle, wasVerified: true })
      else alert({ kind: a.kind, handle: a.handle, memberId: a.deviceId })
    }
    return alerts
  }

  async recordRoute(handle: string, memberId: string, deviceId: string): Promise<void> {
    await this.store.transaction((tx) => putRoute(tx, handle, memberId, deviceId))
  }

  async routeOf(handle: string, memberId: string): Promise<string | null> {
    const bytes = await this.store.get(NS.routes, key(`${handle}/${memberId}`))
    return bytes === undefined ? null : decodeJson<{ deviceId: string }>(bytes, 'route').deviceId
  }

  /** Routes for the given members; refreshes each handle with a missing route once. */
  async resolve(members: readonly { handle: string; memberId: string }[]): Promise<Map<string, string>> {
    const out = new Map<string, string>()
    const missing = new Set<string>()
    for (const m of members) {
      const r = await this.routeOf(m.handle, m.memberId)
      if (r) out.set(`${m.handle}/${m.memberId}`, r)
      else missing.add(m.handle)
    }
    if (missing.size > 0) await this.refreshMany([...missing])
    for (const m of members) {
      if (!missing.has(m.handle)) continue
      const r = await this.routeOf(m.handle, m.memberId)
      if (r) out.set(`${m.handle}/${m.memberId}`, r)
    }
    return out
  }
}

/** Records a route inside the caller's transaction (a commit's claims, with the commit itself). */
export async function putRoute(
  tx: StoreTransaction,
  handle: string,
  memberId: string,
  deviceId: string,
): Promise<void> {
  await tx.put(NS.routes, key(`${handle}/${memberId}`), encodeJson({ deviceId }))
}

/** Routes for the account's devices whose credential its identity key signed. */
function routesOf(handle: string, account: DirectoryAccount): [string, string][] {
  const routes: [string, string][] = []
  for (const d of account.devices) {
    try {
      const c = decodeCredential(d.credential)
      if (c.handle === handle && equalBytes(c.identityKey, account.identityKey)) {
        routes.push([`${handle}/${c.deviceId}`, d.deviceId])
      }
    } catch {
      // A device whose credential does not decode cannot be a group member: no route.
    }
  }
  return routes
}

/** `fn` over `items`, at most `limit` at a time; results in the items' order. */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}
