/**
 * Who is who: the identity key trusted for each handle, and which server device (mailbox) each
 * group member is.
 *
 * Trust is trust-on-first-use (DESIGN.md §4; key transparency comes later): the first identity
 * key the key directory gives for a handle is recorded in the store; from then on only that key
 * is accepted for the handle (the authentication service rejects credentials signed by any
 * other), and a directory answer with a different key raises an `identity-changed` alert and
 * is not adopted. Verification (issue #4 item 5) builds on the same records.
 *
 * Routes map (handle, memberId — the device id inside a credential) to the server's device id.
 * They come from the key directory's device list (each device's registered credential) and from
 * KeyPackage claims. A wrong route can only misdirect ciphertext, never expose it: MLS decides
 * who can read.
 */
import { equalBytes } from '@tacit/crypto/bytes'
import { decodeCredential } from '@tacit/protocol/credential'
import { base64urlToBytes, bytesToBase64url } from '@tacit/protocol/wire/encoding'
import type { DirectoryAccount, HttpApi } from '../net/http-api.ts'
import { type ClientStore, decodeJson, encodeJson, getJson, key, NS } from '../state/store-port.ts'

export interface TrustRecord {
  readonly identityKey: string
  readonly firstSeen: number
  readonly verified: boolean
}

export type AlertSink = (alert: { kind: 'identity-changed'; handle: string }) => void

export class Directory {
  private readonly trusted = new Map<string, Uint8Array>()

  constructor(
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
   * Fetches the handle's directory entry, applies trust on first use, alerts on a changed
   * identity key, and records routes for devices whose credential the trusted key signed.
   */
  async refresh(handle: string): Promise<DirectoryAccount | null> {
    const account = await this.api.getAccount(handle)
    if (!account) return null
    const ok = await this.trustOnFirstUse(handle, account.identityKey)
    if (!ok) {
      this.alert({ kind: 'identity-changed', handle })
      return account
    }
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
    const live = new Set(routes.map(([k]) => k))
    await this.store.transaction(async (tx) => {
      for (const [k, v] of routes) await tx.put(NS.routes, key(k), encodeJson({ deviceId: v }))
      // Devices gone from the directory (revoked) lose their route: nothing is sent to them.
      for (const e of await tx.list(NS.routes)) {
        const k = new TextDecoder().decode(e.key)
        if (k.startsWith(`${handle}/`) && !live.has(k)) await tx.delete(NS.routes, e.key)
      }
    })
    return account
  }

  async recordRoute(handle: string, memberId: string, deviceId: string): Promise<void> {
    await this.store.transaction((tx) =>
      tx.put(NS.routes, key(`${handle}/${memberId}`), encodeJson({ deviceId })),
    )
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
    for (const handle of missing) await this.refresh(handle)
    for (const m of members) {
      if (!missing.has(m.handle)) continue
      const r = await this.routeOf(m.handle, m.memberId)
      if (r) out.set(`${m.handle}/${m.memberId}`, r)
    }
    return out
  }
}
