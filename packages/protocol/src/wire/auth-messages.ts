/**
 * The byte strings a device signs (Ed25519, RFC 8032) to prove itself to the delivery service.
 * Each starts with its own context label, so a signature made for one purpose can never be
 * presented for another; each includes a fresh server challenge, so it cannot be replayed.
 * `docs/protocol/server.md` §Signed messages gives the same layouts.
 */
import { concatBytes } from '@tacit/crypto/bytes'
import { WireError } from './errors.ts'
import {
  CHALLENGE_BYTES,
  DEVICE_ID_LENGTH,
  ED25519_PUBLIC_KEY_BYTES,
  MAX_CREDENTIAL_BYTES,
  MAX_HANDLE_LENGTH,
} from './limits.ts'

const encoder = new TextEncoder()
export const DEVICE_AUTH_LABEL = 'tacit device-auth v1'
export const REGISTER_LABEL = 'tacit register v1'
export const ADD_DEVICE_LABEL = 'tacit add-device v1'

function label(text: string): Uint8Array {
  // label ‖ 0x00: the zero byte ends the label, so no label is a prefix of another's message.
  const l = encoder.encode(text)
  const out = new Uint8Array(l.length + 1)
  out.set(l)
  return out
}

function exact(bytes: Uint8Array, length: number, field: string): Uint8Array {
  if (bytes.length !== length) throw new WireError('invalid-field', `${field} must be ${length} bytes`)
  return bytes
}

/** Signed by the device's key at WebSocket connect and for `POST /v1/sessions`. */
export function buildDeviceAuthMessage(challenge: Uint8Array, deviceId: string): Uint8Array {
  const id = encoder.encode(deviceId)
  exact(id, DEVICE_ID_LENGTH, 'deviceId')
  return concatBytes(label(DEVICE_AUTH_LABEL), exact(challenge, CHALLENGE_BYTES, 'challenge'), id)
}

export interface DeviceBinding {
  readonly challenge: Uint8Array
  readonly handle: string
  readonly identityKey: Uint8Array
  readonly signatureKey: Uint8Array
  readonly credential: Uint8Array
}

function buildBinding(labelText: string, b: DeviceBinding): Uint8Array {
  const handle = encoder.encode(b.handle)
  if (handle.length === 0 || handle.length > MAX_HANDLE_LENGTH) {
    throw new WireError('invalid-field', `handle must be 1..${MAX_HANDLE_LENGTH} bytes`)
  }
  if (b.credential.length > MAX_CREDENTIAL_BYTES) {
    throw new WireError('too-large', `credential is above MAX_CREDENTIAL_BYTES (${MAX_CREDENTIAL_BYTES})`)
  }
  const credentialLength = new Uint8Array(4)
  new DataView(credentialLength.buffer).setUint32(0, b.credential.length)
  return concatBytes(
    label(labelText),
    exact(b.challenge, CHALLENGE_BYTES, 'challenge'),
    Uint8Array.of(handle.length),
    handle,
    exact(b.identityKey, ED25519_PUBLIC_KEY_BYTES, 'identityKey'),
    exact(b.signatureKey, ED25519_PUBLIC_KEY_BYTES, 'signatureKey'),
    credentialLength,
    b.credential,
  )
}

/** Signed by both the identity key and the first device's key when an account registers. */
export function buildRegisterMessage(binding: DeviceBinding): Uint8Array {
  return buildBinding(REGISTER_LABEL, binding)
}

/** Signed by both the identity key (authorising) and the new device's key (possession). */
export function buildAddDeviceMessage(binding: DeviceBinding): Uint8Array {
  return buildBinding(ADD_DEVICE_LABEL, binding)
}
