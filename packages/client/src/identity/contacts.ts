/**
 * Verified contacts (docs/protocol/verification.md §4): what the user confirmed in person, kept
 * sealed in the store, and the device list last seen for each, so that a change raises an alert
 * once (not on every directory lookup).
 *
 * A contact's devices are taken from the key directory, and only those whose credential is for
 * this handle, carries the identity key and verifies under it (the server cannot slip in a
 * device without the identity key; if it could, that is what the alert is for).
 */
import type { CryptoBackend } from '@tacit/crypto/backend'
import { equalBytes } from '@tacit/crypto/bytes'
import { decodeCredential, verifyCredentialSignature } from '@tacit/protocol/credential'
import type { ContactDevice, ContactIdentity } from '@tacit/protocol/verification/contact-changes'
import { MAX_CONTACT_DEVICES } from '@tacit/protocol/verification/contact-changes'
import { base64urlToBytes, bytesToBase64url } from '@tacit/protocol/wire/encoding'
import type { DirectoryAccount } from '../net/http-api.ts'
import {
  type ClientStore,
  decodeJson,
  encodeJson,
  getJson,
  key,
  NS,
  type StoreTransaction,
} from '../state/store-port.ts'

interface DeviceJson {
  deviceId: string
  signatureKey: string
}

export interface VerifiedRecordJson {
  v: 1
  handle: string
  /** The identity key the user verified (base64url). */
  identityKey: string
  /** False once that key changed in the directory: the user must compare again. */
  verified: boolean
  verifiedAt: number
  /** The devices when the user verified. */
  devices: DeviceJson[]
  /** The devices the user was last told about (alerts are for changes since then). */
  seen: DeviceJson[]
}

const toJson = (devices: readonly ContactDevice[]): DeviceJson[] =>
  devices.map((d) => ({ deviceId: d.deviceId, signatureKey: bytesToBase64url(d.signatureKey) }))

const fromJson = (devices: readonly DeviceJson[]): ContactDevice[] =>
  devices.map((d) => ({
    deviceId: d.deviceId,
    signatureKey: base64urlToBytes(d.signatureKey, 'signatureKey'),
  }))

/** The contact as the directory serves it, keeping only devices certified by its identity key. */
export async function certifiedContact(
  backend: CryptoBackend,
  account: DirectoryAccount,
): Promise<ContactIdentity> {
  const devices: ContactDevice[] = []
  const ids = new Set<string>()
  for (const d of account.devices.slice(0, MAX_CONTACT_DEVICES)) {
    try {
      const c = decodeCredential(d.credential)
      if (c.handle !== account.handle || !equalBytes(c.identityKey, account.identityKey)) continue
      if (ids.has(c.deviceId) || !(await verifyCredentialSignature(backend, c))) continue
      ids.add(c.deviceId)
      devices.push({ deviceId: c.deviceId, signatureKey: c.signatureKey })
    } catch {
      // A credential that does not decode certifies nothing.
    }
  }
  return { handle: account.handle, identityKey: account.identityKey, devices }
}

export function newVerifiedRecord(contact: ContactIdentity, now: number): VerifiedRecordJson {
  const devices = toJson(contact.devices)
  return {
    v: 1,
    handle: contact.handle,
    identityKey: bytesToBase64url(contact.identityKey),
    verified: true,
    verifiedAt: now,
    devices,
    seen: devices,
  }
}

/** The record as the protocol's change detection reads it: the identity verified, the devices last seen. */
export function lastSeenIdentity(record: VerifiedRecordJson): ContactIdentity {
  return {
    handle: record.handle,
    identityKey: base64urlToBytes(record.identityKey, 'identityKey'),
    devices: fromJson(record.seen),
  }
}

export function withSeenDevices(
  record: VerifiedRecordJson,
  devices: readonly ContactDevice[],
): VerifiedRecordJson {
  return { ...record, seen: toJson(devices) }
}

export async function getVerifiedRecord(
  store: ClientStore,
  handle: string,
): Promise<VerifiedRecordJson | undefined> {
  return getJson<VerifiedRecordJson>(store, NS.verified, handle, 'verified contact')
}

export async function listVerifiedRecords(store: ClientStore): Promise<VerifiedRecordJson[]> {
  return (await store.list(NS.verified)).map((e) =>
    decodeJson<VerifiedRecordJson>(e.value, 'verified contact'),
  )
}

export async function putVerifiedRecord(tx: StoreTransaction, record: VerifiedRecordJson): Promise<void> {
  await tx.put(NS.verified, key(record.handle), encodeJson(record))
}
