/**
 * "A verified contact changed" (docs/protocol/verification.md §4), as a pure decision: given what
 * the user verified and what the directory serves now, return the alerts. The caller shows them
 * and stores the outcome; nothing here writes anywhere.
 *
 * An identity key change voids the verification (the safety number is different now). A device
 * added, removed or re-keyed keeps it — devices are certified by the identity key the user
 * verified — but is still an alert: an identity key that leaked would show up exactly so.
 */
import { equalBytes, utf8 } from '@tacit/crypto/bytes'
import { IDENTITY_KEY_BYTES, isValidHandle } from '../credential.ts'
import { MAX_DEVICE_ID_BYTES } from '../limits.ts'
import { VerificationError } from './errors.ts'

/** Devices of one contact we compare (the server allows 16 live ones; old records may hold more). */
export const MAX_CONTACT_DEVICES = 256
/** Largest device signature key we keep in a record (ML-DSA would still fit; Ed25519 is 32). */
export const MAX_DEVICE_KEY_BYTES = 4096

export interface ContactDevice {
  readonly deviceId: string
  /** The device's MLS signature public key from its credential. */
  readonly signatureKey: Uint8Array
}

/** A contact as the client sees it: handle, identity key, devices. */
export interface ContactIdentity {
  readonly handle: string
  readonly identityKey: Uint8Array
  readonly devices: readonly ContactDevice[]
}

export type ContactAlert =
  | { readonly kind: 'identity-key-changed'; readonly handle: string }
  | { readonly kind: 'device-added'; readonly handle: string; readonly deviceId: string }
  | { readonly kind: 'device-removed'; readonly handle: string; readonly deviceId: string }
  | { readonly kind: 'device-key-changed'; readonly handle: string; readonly deviceId: string }

export interface ContactCheck {
  /** False once the identity key differs from the verified one: show the contact as unverified. */
  readonly stillVerified: boolean
  /** In a fixed order: the identity alert first, then devices by kind, then by device id. */
  readonly alerts: readonly ContactAlert[]
}

function indexDevices(contact: ContactIdentity, what: string): Map<string, Uint8Array> {
  if (contact.devices.length > MAX_CONTACT_DEVICES) {
    throw new VerificationError('too-large', `${what} has more than MAX_CONTACT_DEVICES devices`)
  }
  const byId = new Map<string, Uint8Array>()
  for (const d of contact.devices) {
    const idBytes = utf8.encode(d.deviceId).length
    if (idBytes === 0 || idBytes > MAX_DEVICE_ID_BYTES) {
      throw new VerificationError('invalid-contact', `${what} has a device id of invalid length`)
    }
    if (!(d.signatureKey instanceof Uint8Array) || d.signatureKey.length > MAX_DEVICE_KEY_BYTES) {
      throw new VerificationError('invalid-contact', `${what} has an invalid device key`)
    }
    if (byId.has(d.deviceId)) throw new VerificationError('invalid-contact', `${what} lists a device twice`)
    byId.set(d.deviceId, d.signatureKey)
  }
  return byId
}

function checkContact(contact: ContactIdentity, what: string): void {
  if (!isValidHandle(contact.handle))
    throw new VerificationError('invalid-contact', `${what} handle is not valid`)
  if (!(contact.identityKey instanceof Uint8Array) || contact.identityKey.length !== IDENTITY_KEY_BYTES) {
    throw new VerificationError('invalid-contact', `${what} identity key must be ${IDENTITY_KEY_BYTES} bytes`)
  }
}

/** The record to keep when the user marks `current` verified (a copy: later edits do not leak in). */
export function markContactVerified(current: ContactIdentity): ContactIdentity {
  checkContact(current, 'contact')
  indexDevices(current, 'contact')
  return {
    handle: current.handle,
    identityKey: current.identityKey.slice(),
    devices: current.devices.map((d) => ({ deviceId: d.deviceId, signatureKey: d.signatureKey.slice() })),
  }
}

/** Compares the verified record with the contact as served now. */
export function detectContactChanges(verified: ContactIdentity, current: ContactIdentity): ContactCheck {
  checkContact(verified, 'verified record')
  checkContact(current, 'current contact')
  if (verified.handle !== current.handle) {
    throw new VerificationError('invalid-contact', 'the two records are of different handles')
  }
  const before = indexDevices(verified, 'verified record')
  const now = indexDevices(current, 'current contact')
  const handle = current.handle
  const alerts: ContactAlert[] = []
  const stillVerified = equalBytes(verified.identityKey, current.identityKey)
  if (!stillVerified) alerts.push({ kind: 'identity-key-changed', handle })
  const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
  for (const id of [...now.keys()].filter((id) => !before.has(id)).sort(byId)) {
    alerts.push({ kind: 'device-added', handle, deviceId: id })
  }
  for (const id of [...before.keys()].filter((id) => !now.has(id)).sort(byId)) {
    alerts.push({ kind: 'device-removed', handle, deviceId: id })
  }
  for (const id of [...now.keys()].sort(byId)) {
    const old = before.get(id)
    if (old !== undefined && !equalBytes(old, now.get(id)!)) {
      alerts.push({ kind: 'device-key-changed', handle, deviceId: id })
    }
  }
  return { stillVerified, alerts }
}
