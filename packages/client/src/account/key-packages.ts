/**
 * KeyPackages of this device (RFC 9420 §10, DESIGN.md §5): a bounded number of one-time ones
 * kept uploaded (ONE_TIME_KEY_PACKAGE_TARGET, topped up below the low-water mark) and one
 * last-resort one (RFC 9420 §16.8), replaced when a Welcome used it. Private halves are written
 * to the store before the public halves are uploaded: a crash in between leaves an unused
 * private key (harmless), never an uploaded KeyPackage we cannot open.
 *
 * Records are keyed by the SHA-256 of the encoded KeyPackage, the name the key directory gives
 * it too, and the name Welcome envelopes carry (docs/protocol/client.md).
 */
import { bytesToHex } from '@tacit/crypto/bytes'
import type { CipherSuite } from '@tacit/protocol/cipher-suite'
import { decodeCredential, type TacitCredential } from '@tacit/protocol/credential'
import {
  createKeyPackage,
  decodePrivateKeyPackage,
  encodePrivateKeyPackage,
  type GeneratedKeyPackage,
} from '@tacit/protocol/key-package'
import { base64urlToBytes, bytesToBase64url } from '@tacit/protocol/wire/encoding'
import { MAX_KEY_PACKAGES_PER_UPLOAD } from '@tacit/protocol/wire/limits'
import {
  MAX_RETAINED_LAST_RESORT,
  ONE_TIME_KEY_PACKAGE_LOW_WATER,
  ONE_TIME_KEY_PACKAGE_TARGET,
} from '../limits.ts'
import type { HttpApi } from '../net/http-api.ts'
import {
  type ClientStore,
  decodeJson,
  encodeJson,
  key,
  keyText,
  NS,
  type StoreTransaction,
} from '../state/store-port.ts'
import type { AccountMaterial } from './account.ts'

export interface KeyPackageRecord {
  readonly hash: string
  readonly encoded: Uint8Array
  readonly privateKeyPackage: Uint8Array
  readonly lastResort: boolean
  readonly createdAt: number
  /** For a last-resort KeyPackage that a newer one replaced: when. */
  readonly retiredAt: number | null
}

interface RecordJson {
  encoded: string
  priv: string
  lastResort: boolean
  createdAt: number
  retiredAt: number | null
}

export async function hashKeyPackage(suite: CipherSuite, encoded: Uint8Array): Promise<Uint8Array> {
  return suite.backend.hash.digest('SHA-256', encoded)
}

function toRecord(hash: string, j: RecordJson): KeyPackageRecord {
  return {
    hash,
    encoded: base64urlToBytes(j.encoded, 'encoded'),
    privateKeyPackage: base64urlToBytes(j.priv, 'priv'),
    lastResort: j.lastResort,
    createdAt: j.createdAt,
    retiredAt: j.retiredAt,
  }
}

export async function putKeyPackage(tx: StoreTransaction, r: KeyPackageRecord): Promise<void> {
  const j: RecordJson = {
    encoded: bytesToBase64url(r.encoded),
    priv: bytesToBase64url(r.privateKeyPackage),
    lastResort: r.lastResort,
    createdAt: r.createdAt,
    retiredAt: r.retiredAt,
  }
  await tx.put(NS.keyPackages, key(r.hash), encodeJson(j))
}

export async function findKeyPackage(
  store: Pick<ClientStore, 'get'>,
  hash: Uint8Array,
): Promise<KeyPackageRecord | undefined> {
  const h = bytesToHex(hash)
  const bytes = await store.get(NS.keyPackages, key(h))
  return bytes === undefined ? undefined : toRecord(h, decodeJson<RecordJson>(bytes, 'KeyPackage'))
}

export async function listKeyPackages(store: Pick<ClientStore, 'list'>): Promise<KeyPackageRecord[]> {
  return (await store.list(NS.keyPackages)).map((e) =>
    toRecord(keyText(e.key), decodeJson<RecordJson>(e.value, 'KeyPackage')),
  )
}

export function credentialOf(a: AccountMaterial): TacitCredential {
  return decodeCredential(a.credential)
}

export async function generateKeyPackage(
  suite: CipherSuite,
  a: AccountMaterial,
  lastResort: boolean,
  nowMs: number,
): Promise<{ generated: GeneratedKeyPackage; record: KeyPackageRecord }> {
  const generated = await createKeyPackage({
    suite,
    credential: credentialOf(a),
    signatureKeyPair: { publicKey: a.mlsKey.publicKey, signKey: a.mlsKey.privateKey },
    lastResort,
    now: Math.floor(nowMs / 1000),
  })
  const record: KeyPackageRecord = {
    hash: bytesToHex(await hashKeyPackage(suite, generated.encoded)),
    encoded: generated.encoded,
    privateKeyPackage: encodePrivateKeyPackage(generated.privateKeyPackage),
    lastResort,
    createdAt: nowMs,
    retiredAt: null,
  }
  return { generated, record }
}

export function privateOf(r: KeyPackageRecord) {
  return decodePrivateKeyPackage(r.privateKeyPackage)
}

/**
 * Tops the server's one-time KeyPackages up to the target when below the low-water mark, and
 * uploads a new last-resort one when `newLastResort` (first registration, or the old one used).
 * Returns the server's one-time count.
 */
export async function topUpKeyPackages(params: {
  store: ClientStore
  api: HttpApi
  suite: CipherSuite
  account: AccountMaterial
  now: () => number
  newLastResort?: boolean
}): Promise<number> {
  const { store, api, suite, account, now } = params
  const count = await api.countKeyPackages()
  const missing = count < ONE_TIME_KEY_PACKAGE_LOW_WATER ? ONE_TIME_KEY_PACKAGE_TARGET - count : 0
  if (missing <= 0 && !params.newLastResort) return count
  const fresh: KeyPackageRecord[] = []
  for (let i = 0; i < Math.min(missing, MAX_KEY_PACKAGES_PER_UPLOAD); i++) {
    fresh.push((await generateKeyPackage(suite, account, false, now())).record)
  }
  const lastResort = params.newLastResort
    ? (await generateKeyPackage(suite, account, true, now())).record
    : null
  const existing = lastResort ? await listKeyPackages(store) : []
  await store.transaction(async (tx) => {
    for (const r of fresh) await putKeyPackage(tx, r)
    if (lastResort) {
      await putKeyPackage(tx, lastResort)
      // Keep a few replaced last-resort keys: Welcomes made from them may still be on the way.
      const retired = existing
        .filter((r) => r.lastResort)
        .map((r) => (r.retiredAt === null ? { ...r, retiredAt: now() } : r))
        .sort((a, b) => b.retiredAt! - a.retiredAt!)
      for (const [i, r] of retired.entries()) {
        if (i < MAX_RETAINED_LAST_RESORT) await putKeyPackage(tx, r)
        else await tx.delete(NS.keyPackages, key(r.hash))
      }
    }
  })
  return api.uploadKeyPackages(
    fresh.map((r) => r.encoded),
    lastResort?.encoded ?? null,
  )
}
