/**
 * KeyPackages (RFC 9420 §10): one-time ones, handed out once by the key directory, and a
 * last-resort one (RFC 9420 §17.3 `last_resort` extension, RFC 9420 §16.8) used when a device has
 * none left. A device signs every KeyPackage with its one MLS signature key, the key its Tacit
 * credential binds.
 */

import {
  decodeMlsMessage,
  encodeMlsMessage,
  generateKeyPackageWithKey,
  type KeyPackage,
  type PrivateKeyPackage,
} from 'ts-mls'
import type { Capabilities } from 'ts-mls/capabilities.js'
import type { Extension } from 'ts-mls/extension.js'
import { makeKeyPackageRef, verifyKeyPackage } from 'ts-mls/keyPackage.js'
import type { CipherSuite } from './cipher-suite.ts'
import { Reader, Writer } from './codec.ts'
import { encodeCredential, type TacitCredential } from './credential.ts'
import { ProtocolError } from './errors.ts'
import { MAX_KEY_PACKAGE_BYTES } from './limits.ts'
import { toProtocolError } from './mls-errors.ts'

/** RFC 9420 §17.3: the `last_resort` KeyPackage extension (0x000A). */
export const LAST_RESORT_EXTENSION = 0x000a
/** KeyPackages live at most this long (RFC 9420 §10.1 lifetime; our directory refreshes sooner). */
export const KEY_PACKAGE_LIFETIME_SECONDS = 90 * 24 * 3600

export interface SignatureKeyPair {
  readonly publicKey: Uint8Array
  readonly signKey: Uint8Array
}

export interface GeneratedKeyPackage {
  /** The MLSMessage-encoded KeyPackage, as uploaded to the key directory. */
  readonly encoded: Uint8Array
  /** RFC 9420 §5.2 KeyPackageRef. */
  readonly ref: Uint8Array
  readonly keyPackage: KeyPackage
  /** The private keys: the client keeps them (encrypted at rest) until the KeyPackage is used. */
  readonly privateKeyPackage: PrivateKeyPackage
  readonly lastResort: boolean
}

/** The capabilities every Tacit leaf advertises (RFC 9420 §7.2): exactly what we use. */
export function tacitCapabilities(suite: CipherSuite): Capabilities {
  return {
    versions: ['mls10'],
    ciphersuites: [suite.name],
    extensions: [LAST_RESORT_EXTENSION],
    proposals: [],
    credentials: ['basic'],
  }
}

export function mlsCredentialOf(credential: TacitCredential) {
  return { credentialType: 'basic' as const, identity: encodeCredential(credential) }
}

export async function generateSignatureKeyPair(suite: CipherSuite): Promise<SignatureKeyPair> {
  return suite.impl.signature.keygen()
}

export async function createKeyPackage(params: {
  suite: CipherSuite
  credential: TacitCredential
  signatureKeyPair: SignatureKeyPair
  lastResort: boolean
  /** Seconds since the epoch. */
  now: number
}): Promise<GeneratedKeyPackage> {
  const { suite, credential, signatureKeyPair, lastResort, now } = params
  const extensions: Extension[] = lastResort
    ? [{ extensionType: LAST_RESORT_EXTENSION, extensionData: new Uint8Array(0) }]
    : []
  const lifetime = { notBefore: BigInt(now - 3600), notAfter: BigInt(now + KEY_PACKAGE_LIFETIME_SECONDS) }
  try {
    const { publicPackage, privatePackage } = await generateKeyPackageWithKey(
      mlsCredentialOf(credential),
      tacitCapabilities(suite),
      lifetime,
      extensions,
      signatureKeyPair,
      suite.impl,
    )
    const encoded = encodeMlsMessage({
      version: 'mls10',
      wireformat: 'mls_key_package',
      keyPackage: publicPackage,
    })
    const ref = await makeKeyPackageRef(publicPackage, suite.impl.hash)
    return { encoded, ref, keyPackage: publicPackage, privateKeyPackage: privatePackage, lastResort }
  } catch (error) {
    throw toProtocolError(error, 'could not create a KeyPackage')
  }
}

/**
 * Decodes and checks a KeyPackage from the key directory: size, encoding, suite, and its own
 * signature (RFC 9420 §10.1). Whether its credential is trusted is the authentication service's
 * call, made when the KeyPackage is added.
 */
export async function decodeKeyPackage(suite: CipherSuite, bytes: Uint8Array): Promise<KeyPackage> {
  if (bytes.length > MAX_KEY_PACKAGE_BYTES)
    throw new ProtocolError('too-large', 'KeyPackage above its size limit')
  let decoded: ReturnType<typeof decodeMlsMessage>
  try {
    decoded = decodeMlsMessage(bytes, 0)
  } catch (cause) {
    throw new ProtocolError('malformed', 'KeyPackage does not decode', { cause })
  }
  if (!decoded || decoded[1] !== bytes.length || decoded[0].wireformat !== 'mls_key_package') {
    throw new ProtocolError('malformed', 'not an MLS KeyPackage message')
  }
  const keyPackage = decoded[0].keyPackage
  if (keyPackage.cipherSuite !== suite.name) {
    throw new ProtocolError('unsupported-suite', 'KeyPackage is for another cipher suite')
  }
  if (!(await verifyKeyPackage(keyPackage, suite.impl.signature))) {
    throw new ProtocolError('verification-failed', 'KeyPackage signature does not verify')
  }
  return keyPackage
}

export function isLastResort(keyPackage: KeyPackage): boolean {
  return keyPackage.extensions.some((e) => e.extensionType === LAST_RESORT_EXTENSION)
}

/** Private KeyPackage keys, for the client's encrypted store. */
export function encodePrivateKeyPackage(p: PrivateKeyPackage): Uint8Array {
  return new Writer()
    .u8(1)
    .vec16(p.initPrivateKey)
    .vec16(p.hpkePrivateKey)
    .vec16(p.signaturePrivateKey)
    .finish()
}

export function decodePrivateKeyPackage(bytes: Uint8Array): PrivateKeyPackage {
  const r = new Reader(bytes, 'private KeyPackage')
  if (r.u8() !== 1) throw new ProtocolError('unsupported-snapshot', 'unknown private KeyPackage version')
  const initPrivateKey = r.vec16().slice()
  const hpkePrivateKey = r.vec16().slice()
  const signaturePrivateKey = r.vec16().slice()
  r.end()
  return { initPrivateKey, hpkePrivateKey, signaturePrivateKey }
}
