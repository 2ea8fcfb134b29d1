// RFC 9420 §12.4.3.1: joining from a Welcome — GroupSecrets, GroupInfo, signature, confirmation tag.
import assert from 'node:assert/strict'
import { createConfirmationTag } from 'ts-mls/framedContent.js'
import { verifyGroupInfoConfirmationTag, verifyGroupInfoSignature } from 'ts-mls/groupInfo.js'
import { makeKeyPackageRef } from 'ts-mls/keyPackage.js'
import { deriveKeySchedule } from 'ts-mls/keySchedule.js'
import { decodeMlsMessage } from 'ts-mls/message.js'
import { decryptGroupInfo, decryptGroupSecrets } from 'ts-mls/welcome.js'
import { assertBytes, fromHex, toHex } from '../harness.ts'
import { loadSuite } from '../suite-source.ts'

interface WelcomeVector {
  cipher_suite: number
  init_priv: string
  signer_pub: string
  key_package: string
  welcome: string
}

export async function runWelcome(v: WelcomeVector): Promise<void> {
  const cs = await loadSuite(v.cipher_suite)
  const kpMessage = decodeMlsMessage(fromHex(v.key_package), 0)?.[0]
  assert.equal(kpMessage?.wireformat, 'mls_key_package', 'key_package is an MLSMessage(KeyPackage)')
  const welcomeMessage = decodeMlsMessage(fromHex(v.welcome), 0)?.[0]
  assert.equal(welcomeMessage?.wireformat, 'mls_welcome', 'welcome is an MLSMessage(Welcome)')
  if (kpMessage?.wireformat !== 'mls_key_package' || welcomeMessage?.wireformat !== 'mls_welcome') return
  const keyPackage = kpMessage.keyPackage
  const welcome = welcomeMessage.welcome

  const ref = await makeKeyPackageRef(keyPackage, cs.hash)
  assert.ok(
    welcome.secrets.some((s) => toHex(s.newMember) === toHex(ref)),
    'welcome.secrets has an entry for key_package',
  )
  const initKey = await cs.hpke.importPrivateKey(fromHex(v.init_priv))
  const secrets = await decryptGroupSecrets(initKey, ref, welcome, cs.hpke)
  assert.ok(secrets !== undefined, 'the group secrets decrypt with init_priv')
  assert.equal(secrets.psks.length, 0, 'the Welcome uses no PSKs')

  // §8: with no PSKs, psk_secret is the all-zero string of KDF.Nh bytes.
  const pskSecret = new Uint8Array(cs.kdf.size)
  const groupInfo = await decryptGroupInfo(welcome, secrets.joinerSecret, pskSecret, cs)
  assert.ok(groupInfo !== undefined, 'the group info decrypts')
  assert.equal(groupInfo.groupContext.cipherSuite, keyPackage.cipherSuite, 'group info cipher suite')

  assert.equal(
    await verifyGroupInfoSignature(groupInfo, fromHex(v.signer_pub), cs.signature),
    true,
    'the group info signature verifies with signer_pub',
  )

  const [keySchedule] = await deriveKeySchedule(
    secrets.joinerSecret,
    pskSecret,
    groupInfo.groupContext,
    cs.kdf,
  )
  assertBytes(
    await createConfirmationTag(
      keySchedule.confirmationKey,
      groupInfo.groupContext.confirmedTranscriptHash,
      cs.hash,
    ),
    toHex(groupInfo.confirmationTag),
    'group info confirmation_tag recomputed from the joiner secret',
  )
  assert.equal(
    await verifyGroupInfoConfirmationTag(groupInfo, secrets.joinerSecret, pskSecret, cs),
    true,
    'the library accepts the confirmation tag',
  )
}
