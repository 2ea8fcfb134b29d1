// RFC 9420 §12.4.3.1 (joining from a Welcome) and §12.4.2 (processing a Commit), followed over
// every epoch of a scenario; §8.7 epoch_authenticator is compared after the join and after each
// commit. Shared by passive-client-welcome, -handling-commit and -random.
import assert from 'node:assert/strict'
import type { ClientConfig } from 'ts-mls/clientConfig.js'
import { defaultClientConfig } from 'ts-mls/clientConfig.js'
import type { ClientState } from 'ts-mls/clientState.js'
import { joinGroup, makePskIndex } from 'ts-mls/clientState.js'
import type { CiphersuiteImpl } from 'ts-mls/crypto/ciphersuite.js'
import type { KeyPackage } from 'ts-mls/keyPackage.js'
import { decodeMlsMessage } from 'ts-mls/message.js'
import { processPrivateMessage, processPublicMessage } from 'ts-mls/processMessages.js'
import { decodeRatchetTree } from 'ts-mls/ratchetTree.js'
import { assertBytes, fromHex, toHex } from '../harness.ts'
import { loadSuite } from '../suite-source.ts'

interface PassiveClientVector {
  cipher_suite: number
  external_psks: { psk_id: string; psk: string }[]
  key_package: string
  signature_priv: string
  encryption_priv: string
  init_priv: string
  welcome: string
  ratchet_tree: string | null
  initial_epoch_authenticator: string
  epochs: { proposals: string[]; commit: string; epoch_authenticator: string }[]
}

/**
 * The vectors' members hold `basic` credentials that chain to nothing, so no real authentication
 * service can accept them; this one accepts exactly those and nothing else. Tacit's own service
 * (packages/protocol/src/authentication.ts) is tested elsewhere.
 */
const VECTOR_CLIENT_CONFIG: ClientConfig = {
  ...defaultClientConfig,
  authService: {
    validateCredential: async (credential) => credential.credentialType === 'basic',
  },
}

async function assertHpkePair(cs: CiphersuiteImpl, priv: string, pub: Uint8Array, field: string) {
  const probe = new TextEncoder().encode('passive client key match')
  const sealed = await cs.hpke.seal(await cs.hpke.importPublicKey(pub), probe, new Uint8Array())
  const opened = await cs.hpke.open(
    await cs.hpke.importPrivateKey(fromHex(priv)),
    sealed.enc,
    sealed.ct,
    new Uint8Array(),
  )
  assert.equal(toHex(opened), toHex(probe), `${field} matches the KeyPackage`)
}

async function assertKeysMatch(cs: CiphersuiteImpl, v: PassiveClientVector, kp: KeyPackage): Promise<void> {
  await assertHpkePair(cs, v.encryption_priv, kp.leafNode.hpkePublicKey, 'encryption_priv')
  await assertHpkePair(cs, v.init_priv, kp.initKey, 'init_priv')
  const probe = new TextEncoder().encode('passive client signature match')
  const signature = await cs.signature.sign(fromHex(v.signature_priv), probe)
  assert.equal(
    await cs.signature.verify(kp.leafNode.signaturePublicKey, probe, signature),
    true,
    'signature_priv matches the KeyPackage',
  )
}

async function applyMessage(
  state: ClientState,
  hex: string,
  psks: Record<string, Uint8Array>,
  cs: CiphersuiteImpl,
  field: string,
): Promise<ClientState> {
  const bytes = fromHex(hex)
  const decoded = decodeMlsMessage(bytes, 0)
  assert.ok(decoded !== undefined && decoded[1] === bytes.length, `${field} decodes exactly`)
  const m = decoded[0]
  const pskIndex = makePskIndex(state, psks)
  if (m.wireformat === 'mls_private_message') {
    const result = await processPrivateMessage(state, m.privateMessage, pskIndex, cs)
    assert.equal(result.kind, 'newState', `${field} is a handshake message`)
    return result.newState
  }
  assert.equal(m.wireformat, 'mls_public_message', `${field} is a PublicMessage or PrivateMessage`)
  if (m.wireformat !== 'mls_public_message') throw new Error('unreachable')
  return (await processPublicMessage(state, m.publicMessage, pskIndex, cs)).newState
}

export async function runPassiveClient(v: PassiveClientVector): Promise<void> {
  const cs = await loadSuite(v.cipher_suite)
  const kpMessage = decodeMlsMessage(fromHex(v.key_package), 0)?.[0]
  assert.equal(kpMessage?.wireformat, 'mls_key_package', 'key_package is an MLSMessage(KeyPackage)')
  const welcomeMessage = decodeMlsMessage(fromHex(v.welcome), 0)?.[0]
  assert.equal(welcomeMessage?.wireformat, 'mls_welcome', 'welcome is an MLSMessage(Welcome)')
  if (kpMessage?.wireformat !== 'mls_key_package' || welcomeMessage?.wireformat !== 'mls_welcome') return

  await assertKeysMatch(cs, v, kpMessage.keyPackage)

  // makePskIndex looks external PSKs up by the base64 of their id.
  const psks: Record<string, Uint8Array> = {}
  for (const p of v.external_psks) psks[Buffer.from(fromHex(p.psk_id)).toString('base64')] = fromHex(p.psk)

  const tree = v.ratchet_tree === null ? undefined : decodeRatchetTree(fromHex(v.ratchet_tree), 0)?.[0]
  if (v.ratchet_tree !== null) assert.ok(tree !== undefined, 'ratchet_tree decodes')

  let state = await joinGroup(
    welcomeMessage.welcome,
    kpMessage.keyPackage,
    {
      hpkePrivateKey: fromHex(v.encryption_priv),
      initPrivateKey: fromHex(v.init_priv),
      signaturePrivateKey: fromHex(v.signature_priv),
    },
    makePskIndex(undefined, psks),
    cs,
    tree,
    undefined,
    VECTOR_CLIENT_CONFIG,
  )
  assertBytes(
    state.keySchedule.epochAuthenticator,
    v.initial_epoch_authenticator,
    'initial_epoch_authenticator',
  )

  for (const [i, epoch] of v.epochs.entries()) {
    const before = state.groupContext.epoch
    for (const [p, proposal] of epoch.proposals.entries()) {
      state = await applyMessage(state, proposal, psks, cs, `epochs[${i}].proposals[${p}]`)
    }
    state = await applyMessage(state, epoch.commit, psks, cs, `epochs[${i}].commit`)
    assert.equal(state.groupContext.epoch, before + 1n, `epochs[${i}]: the commit advances the epoch`)
    assertBytes(
      state.keySchedule.epochAuthenticator,
      epoch.epoch_authenticator,
      `epochs[${i}].epoch_authenticator`,
    )
  }
}
