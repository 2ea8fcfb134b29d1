/**
 * Tacit credentials (DESIGN.md §4): a device's MLS credential binds (handle, device id, device
 * signature key) and is signed by the user's Ed25519 identity key. It travels as the `identity`
 * of an MLS BasicCredential (RFC 9420 §5.3), so any MLS implementation can carry it; only Tacit's
 * authentication service (`authentication.ts`) gives it meaning.
 *
 *   struct {
 *     uint8 version = 1;
 *     opaque handle<2..32>;           // ^[a-z0-9][a-z0-9._-]{1,31}$
 *     opaque device_id<1..64>;
 *     opaque identity_key[32];          // Ed25519 (RFC 8032)
 *     opaque signature_key<1..255>;     // the device's MLS signature public key
 *     opaque identity_signature[64];    // Ed25519 over "Tacit Credential v1" ‖ the fields above
 *   } TacitCredential;
 */
import type { CryptoBackend } from '@tacit/crypto/backend'
import { equalBytes, utf8 } from '@tacit/crypto/bytes'
import { Reader, Writer } from './codec.ts'
import { ProtocolError } from './errors.ts'
import { MAX_DEVICE_ID_BYTES } from './limits.ts'
import { HANDLE_PATTERN } from './wire/limits.ts'

export const CREDENTIAL_VERSION = 1
const SIGNING_LABEL = utf8.encode('Tacit Credential v1')
export const IDENTITY_KEY_BYTES = 32
const IDENTITY_SIGNATURE_BYTES = 64

/** The user's long-term Ed25519 identity key pair. Private key: the RFC 8032 32-byte seed. */
export interface IdentityKeyPair {
  readonly publicKey: Uint8Array
  readonly privateKey: Uint8Array
}

export interface TacitCredential {
  readonly handle: string
  readonly deviceId: string
  readonly identityKey: Uint8Array
  readonly signatureKey: Uint8Array
  readonly identitySignature: Uint8Array
}

/** The same rule as the delivery service's (docs/protocol/server.md): one handle, one spelling. */
export function isValidHandle(handle: string): boolean {
  return HANDLE_PATTERN.test(handle)
}

function checkFields(handle: string, deviceId: string, signatureKey: Uint8Array): void {
  if (!isValidHandle(handle)) throw new ProtocolError('malformed', 'handle is not valid')
  const idLength = utf8.encode(deviceId).length
  if (idLength === 0 || idLength > MAX_DEVICE_ID_BYTES)
    throw new ProtocolError('malformed', 'device id is not valid')
  if (signatureKey.length === 0 || signatureKey.length > 255) {
    throw new ProtocolError('malformed', 'signature key has an invalid length')
  }
}

function encodeSignedFields(c: Omit<TacitCredential, 'identitySignature'>): Uint8Array {
  return new Writer()
    .u8(CREDENTIAL_VERSION)
    .vec8(utf8.encode(c.handle))
    .vec8(utf8.encode(c.deviceId))
    .fixed(c.identityKey)
    .vec8(c.signatureKey)
    .finish()
}

export async function generateIdentityKeyPair(backend: CryptoBackend): Promise<IdentityKeyPair> {
  return backend.signature.generate('Ed25519')
}

/** Signs a credential for one of the user's devices with the identity key. */
export async function issueCredential(
  backend: CryptoBackend,
  identity: IdentityKeyPair,
  fields: { handle: string; deviceId: string; signatureKey: Uint8Array },
): Promise<TacitCredential> {
  checkFields(fields.handle, fields.deviceId, fields.signatureKey)
  const unsigned = { ...fields, identityKey: identity.publicKey }
  const message = new Writer().fixed(SIGNING_LABEL).fixed(encodeSignedFields(unsigned)).finish()
  const identitySignature = await backend.signature.sign('Ed25519', identity.privateKey, message)
  return { ...unsigned, identitySignature }
}

export function encodeCredential(c: TacitCredential): Uint8Array {
  return new Writer().fixed(encodeSignedFields(c)).fixed(c.identitySignature).finish()
}

export function decodeCredential(bytes: Uint8Array): TacitCredential {
  const r = new Reader(bytes, 'credential')
  const version = r.u8()
  if (version !== CREDENTIAL_VERSION)
    throw new ProtocolError('malformed', `unknown credential version ${version}`)
  let handle: string
  let deviceId: string
  try {
    handle = utf8.decode(r.vec8())
    deviceId = utf8.decode(r.vec8())
  } catch (cause) {
    if (ProtocolError.is(cause)) throw cause
    throw new ProtocolError('malformed', 'credential text fields are not UTF-8', { cause })
  }
  const identityKey = r.fixed(IDENTITY_KEY_BYTES)
  const signatureKey = r.vec8()
  const identitySignature = r.fixed(IDENTITY_SIGNATURE_BYTES)
  r.end()
  checkFields(handle, deviceId, signatureKey)
  return {
    handle,
    deviceId,
    identityKey: identityKey.slice(),
    signatureKey: signatureKey.slice(),
    identitySignature: identitySignature.slice(),
  }
}

/** True when the identity key's signature over the credential's fields verifies. */
export async function verifyCredentialSignature(
  backend: CryptoBackend,
  c: TacitCredential,
): Promise<boolean> {
  const message = new Writer().fixed(SIGNING_LABEL).fixed(encodeSignedFields(c)).finish()
  return backend.signature.verify('Ed25519', c.identityKey, message, c.identitySignature)
}

export function sameKey(a: Uint8Array, b: Uint8Array): boolean {
  return equalBytes(a, b)
}
