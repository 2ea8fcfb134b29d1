/**
 * This device's account material: the user's Ed25519 identity key (DESIGN.md §4, made on the
 * first device and copied to linked ones), the device's Ed25519 key for the server, its MLS
 * signature key, and the Tacit credential binding them. It lives only in the encrypted store,
 * as one record; nothing here is ever logged or sent, except public keys and the credential.
 *
 * Two device ids: the server assigns `deviceId` (the mailbox) at registration, after the
 * credential is signed, so the credential carries `memberId`, 16 random bytes chosen by the
 * device (base64url). The key directory lists each device's credential, which maps one to the
 * other (docs/decisions/0009-client-sdk.md).
 */
import type { CryptoBackend } from '@tacit/crypto/backend'
import { type CipherSuite, getCipherSuite, type TacitSuiteName } from '@tacit/protocol/cipher-suite'
import { encodeCredential, generateIdentityKeyPair, issueCredential } from '@tacit/protocol/credential'
import { generateSignatureKeyPair } from '@tacit/protocol/key-package'
import { base64urlToBytes, bytesToBase64url } from '@tacit/protocol/wire/encoding'
import { ClientError } from '../errors.ts'
import { type ClientStore, encodeJson, getJson, key, NS, type StoreTransaction } from '../state/store-port.ts'

export const ACCOUNT_RECORD_VERSION = 1
const SELF = 'self'

export interface KeyPair {
  readonly publicKey: Uint8Array
  readonly privateKey: Uint8Array
}

export interface AccountMaterial {
  readonly serverUrl: string
  readonly handle: string
  /** The server's id for this device (its mailbox); empty until registered. */
  readonly deviceId: string
  /** The device id inside this device's credential. */
  readonly memberId: string
  readonly suite: TacitSuiteName
  readonly identity: KeyPair
  /** Ed25519, for the server only (challenges, registration). */
  readonly authKey: KeyPair
  /** The MLS signature key (the suite's algorithm); `privateKey` is ts-mls's `signKey`. */
  readonly mlsKey: KeyPair
  /** The encoded Tacit credential (handle, memberId, identity key, MLS key). */
  readonly credential: Uint8Array
}

interface AccountJson {
  v: number
  serverUrl: string
  handle: string
  deviceId: string
  memberId: string
  suite: TacitSuiteName
  identity: [string, string]
  authKey: [string, string]
  mlsKey: [string, string]
  credential: string
}

const pair = (k: KeyPair): [string, string] => [bytesToBase64url(k.publicKey), bytesToBase64url(k.privateKey)]
const unpair = (p: [string, string], f: string): KeyPair => ({
  publicKey: base64urlToBytes(p[0], `${f}.publicKey`),
  privateKey: base64urlToBytes(p[1], `${f}.privateKey`),
})

export function newMemberId(backend: CryptoBackend): string {
  return bytesToBase64url(backend.randomBytes(16))
}

/** Fresh device keys and a credential signed by `identity` (which is new on a first device). */
export async function createDeviceMaterial(params: {
  backend: CryptoBackend
  suite: CipherSuite
  serverUrl: string
  handle: string
  identity?: KeyPair
}): Promise<AccountMaterial> {
  const { backend, suite, handle } = params
  const identity = params.identity ?? (await generateIdentityKeyPair(backend))
  const authKey = await backend.signature.generate('Ed25519')
  const sig = await generateSignatureKeyPair(suite)
  const memberId = newMemberId(backend)
  const credential = await issueCredential(backend, identity, {
    handle,
    deviceId: memberId,
    signatureKey: sig.publicKey,
  })
  return {
    serverUrl: params.serverUrl,
    handle,
    deviceId: '',
    memberId,
    suite: suite.name as TacitSuiteName,
    identity,
    authKey,
    mlsKey: { publicKey: sig.publicKey, privateKey: sig.signKey },
    credential: encodeCredential(credential),
  }
}

export function encodeAccount(a: AccountMaterial): Uint8Array {
  const json: AccountJson = {
    v: ACCOUNT_RECORD_VERSION,
    serverUrl: a.serverUrl,
    handle: a.handle,
    deviceId: a.deviceId,
    memberId: a.memberId,
    suite: a.suite,
    identity: pair(a.identity),
    authKey: pair(a.authKey),
    mlsKey: pair(a.mlsKey),
    credential: bytesToBase64url(a.credential),
  }
  return encodeJson(json)
}

export function decodeAccount(json: AccountJson): AccountMaterial {
  if (json.v !== ACCOUNT_RECORD_VERSION) throw new ClientError('malformed', 'unknown account record version')
  return {
    serverUrl: json.serverUrl,
    handle: json.handle,
    deviceId: json.deviceId,
    memberId: json.memberId,
    suite: json.suite,
    identity: unpair(json.identity, 'identity'),
    authKey: unpair(json.authKey, 'authKey'),
    mlsKey: unpair(json.mlsKey, 'mlsKey'),
    credential: base64urlToBytes(json.credential, 'credential'),
  }
}

export async function loadAccount(store: ClientStore): Promise<AccountMaterial | undefined> {
  const json = await getJson<AccountJson>(store, NS.account, SELF, 'account')
  return json === undefined ? undefined : decodeAccount(json)
}

export async function saveAccount(tx: StoreTransaction, a: AccountMaterial): Promise<void> {
  await tx.put(NS.account, key(SELF), encodeAccount(a))
}

export async function suiteOf(backend: CryptoBackend, a: AccountMaterial): Promise<CipherSuite> {
  return getCipherSuite(backend, a.suite)
}

export function signerFor(backend: CryptoBackend, k: KeyPair): (m: Uint8Array) => Promise<Uint8Array> {
  return (m) => backend.signature.sign('Ed25519', k.privateKey, m)
}
