/**
 * Device linking (DESIGN.md §7): the crypto and encodings of the three steps.
 *
 * 1. The new device makes two ephemeral key pairs: an HPKE X-Wing key E (RFC 9180 with the
 *    post-quantum hybrid KEM, so recorded linking traffic stays safe) and an X25519 key X. Its
 *    link code (shown as a QR code or text) is `tacit-link1.` ‖ base64url(0x01 ‖ X.pub ‖ E.pub).
 * 2. An existing device of the user reads the code, makes an X25519 key A and derives the new
 *    device's Ed25519 server key from X25519(A, X) (HKDF-SHA-256, below), registers the new
 *    device (it holds the identity key that authorises it and the derived device key that
 *    proves possession), and seals the link package — identity key, device keys, credential,
 *    first KeyPackages, trust records — to E with HPKE into the new device's own mailbox. Its
 *    answer is `tacit-answer1.` ‖ deviceId ‖ `.` ‖ base64url(A.pub): nothing secret.
 * 3. The new device, given the answer, derives the same server key from X25519(X, A), logs in
 *    to its mailbox, opens the package with E, and checks that it describes the same device.
 *
 * Why an answer at all: the delivery server has no mailbox a device can read before it is
 * registered, and it picks device ids itself, so the new device must be told which mailbox is
 * its own (docs/decisions/0009-client-sdk.md). Someone who sees the code and the answer learns
 * public keys only; someone who also saw X's private key could read the new device's mailbox of
 * ciphertexts, but the package opens only with E.
 */
import type { CryptoBackend } from '@tacit/crypto/backend'
import { concatBytes, utf8 } from '@tacit/crypto/bytes'
import { createHpkeSuite, openBase, sealBase } from '@tacit/crypto/hpke/hpke'
import { base64urlToBytes, bytesToBase64url, isId22 } from '@tacit/protocol/wire/encoding'
import { ClientError } from '../errors.ts'
import { MAX_LINK_CODE_CHARS, MAX_LINK_PACKAGE_BYTES } from '../limits.ts'

const CODE_PREFIX = 'tacit-link1.'
const ANSWER_PREFIX = 'tacit-answer1.'
const CODE_VERSION = 1
const X25519_BYTES = 32
const HPKE_INFO = utf8.encode('tacit device link v1')
const AUTH_SALT = utf8.encode('tacit device link v1')
const AUTH_INFO = utf8.encode('tacit device link v1 server key')

function hpkeSuite(backend: CryptoBackend) {
  return createHpkeSuite(backend, { kem: 'X-Wing', kdf: 'HKDF-SHA256', aead: 'AES-256-GCM' })
}

export interface LinkSecrets {
  readonly x: { publicKey: Uint8Array; privateKey: Uint8Array }
  readonly e: { publicKey: Uint8Array; privateKey: Uint8Array }
}

export async function createLinkSecrets(backend: CryptoBackend): Promise<LinkSecrets> {
  const x = await backend.dh.generate('X25519')
  const e = await hpkeSuite(backend).kem.generateKeyPair()
  return { x, e }
}

export function encodeLinkCode(s: LinkSecrets): string {
  return (
    CODE_PREFIX + bytesToBase64url(concatBytes(Uint8Array.of(CODE_VERSION), s.x.publicKey, s.e.publicKey))
  )
}

export function decodeLinkCode(backend: CryptoBackend, code: string): { x: Uint8Array; e: Uint8Array } {
  const text = code.trim()
  if (text.length > MAX_LINK_CODE_CHARS || !text.startsWith(CODE_PREFIX)) {
    throw new ClientError('link-invalid', 'not a Tacit link code')
  }
  let bytes: Uint8Array
  try {
    bytes = base64urlToBytes(text.slice(CODE_PREFIX.length), 'link code')
  } catch (cause) {
    throw new ClientError('link-invalid', 'the link code does not decode', { cause })
  }
  const eLength = hpkeSuite(backend).kem.publicKeyLength
  if (bytes[0] !== CODE_VERSION || bytes.length !== 1 + X25519_BYTES + eLength) {
    throw new ClientError('link-invalid', 'the link code has the wrong version or length')
  }
  return { x: bytes.slice(1, 1 + X25519_BYTES), e: bytes.slice(1 + X25519_BYTES) }
}

export function encodeLinkAnswer(deviceId: string, a: Uint8Array): string {
  return `${ANSWER_PREFIX}${deviceId}.${bytesToBase64url(a)}`
}

export function decodeLinkAnswer(answer: string): { deviceId: string; a: Uint8Array } {
  const text = answer.trim()
  if (text.length > MAX_LINK_CODE_CHARS || !text.startsWith(ANSWER_PREFIX)) {
    throw new ClientError('link-invalid', 'not a Tacit link answer')
  }
  const [deviceId, a] = text.slice(ANSWER_PREFIX.length).split('.')
  if (deviceId === undefined || a === undefined || !isId22(deviceId)) {
    throw new ClientError('link-invalid', 'the link answer does not decode')
  }
  let bytes: Uint8Array
  try {
    bytes = base64urlToBytes(a, 'link answer')
  } catch (cause) {
    throw new ClientError('link-invalid', 'the link answer does not decode', { cause })
  }
  if (bytes.length !== X25519_BYTES)
    throw new ClientError('link-invalid', 'the link answer has the wrong length')
  return { deviceId, a: bytes }
}

/**
 * The new device's Ed25519 server key (RFC 8032 seed) from the X25519 agreement (RFC 7748),
 * through HKDF-SHA-256 (RFC 5869) bound to both public keys.
 */
export async function deriveLinkedAuthKey(
  backend: CryptoBackend,
  ownPrivate: Uint8Array,
  peerPublic: Uint8Array,
  xPublic: Uint8Array,
  aPublic: Uint8Array,
): Promise<{ publicKey: Uint8Array; privateKey: Uint8Array }> {
  const shared = await backend.dh.sharedSecret('X25519', ownPrivate, peerPublic)
  const prk = await backend.hash.hkdfExtract('SHA-256', AUTH_SALT, shared)
  const seed = await backend.hash.hkdfExpand('SHA-256', prk, concatBytes(AUTH_INFO, xPublic, aPublic), 32)
  shared.fill(0)
  return { privateKey: seed, publicKey: await backend.signature.publicKeyOf('Ed25519', seed) }
}

/** HPKE base mode seal to the new device's E (RFC 9180 §6.1); aad binds the code's X key. */
export async function sealLinkPackage(
  backend: CryptoBackend,
  e: Uint8Array,
  x: Uint8Array,
  plaintext: Uint8Array,
): Promise<Uint8Array> {
  if (plaintext.length > MAX_LINK_PACKAGE_BYTES)
    throw new ClientError('too-large', 'link package above its limit')
  const { enc, ct } = await sealBase(hpkeSuite(backend), e, HPKE_INFO, x, plaintext)
  return concatBytes(enc, ct)
}

export async function openLinkPackage(
  backend: CryptoBackend,
  s: LinkSecrets,
  sealed: Uint8Array,
): Promise<Uint8Array> {
  const suite = hpkeSuite(backend)
  if (
    sealed.length <= suite.kem.encLength ||
    sealed.length > MAX_LINK_PACKAGE_BYTES + suite.kem.encLength + 64
  ) {
    throw new ClientError('link-invalid', 'the link package has the wrong size')
  }
  try {
    return await openBase(
      suite,
      sealed.subarray(0, suite.kem.encLength),
      s.e.privateKey,
      s.e.publicKey,
      HPKE_INFO,
      s.x.publicKey,
      sealed.subarray(suite.kem.encLength),
    )
  } catch (cause) {
    throw new ClientError('link-invalid', 'the link package does not open with this device’s key', { cause })
  }
}
