// RFC 9420 §8 (key schedule), §8.5 (exporter) and §12.4.3.2 (external_pub).

import type { CiphersuiteId } from 'ts-mls/crypto/ciphersuite.js'
import { getCiphersuiteNameFromId } from 'ts-mls/crypto/ciphersuite.js'
import type { GroupContext } from 'ts-mls/groupContext.js'
import { encodeGroupContext } from 'ts-mls/groupContext.js'
import { initializeEpoch, mlsExporter } from 'ts-mls/keySchedule.js'
import { assertBytes, fromHex } from '../harness.ts'
import { loadSuite } from '../suite-source.ts'

interface KeyScheduleEpoch {
  tree_hash: string
  commit_secret: string
  psk_secret: string
  confirmed_transcript_hash: string
  group_context: string
  joiner_secret: string
  welcome_secret: string
  init_secret: string
  sender_data_secret: string
  encryption_secret: string
  exporter_secret: string
  epoch_authenticator: string
  external_secret: string
  confirmation_key: string
  membership_key: string
  resumption_psk: string
  external_pub: string
  exporter: { label: string; context: string; length: number; secret: string }
}

interface KeyScheduleVector {
  cipher_suite: number
  group_id: string
  initial_init_secret: string
  epochs: KeyScheduleEpoch[]
}

export async function runKeySchedule(v: KeyScheduleVector): Promise<void> {
  const cs = await loadSuite(v.cipher_suite)
  let initSecret = fromHex(v.initial_init_secret)
  for (const [i, e] of v.epochs.entries()) {
    const where = `epochs[${i}]`
    const context: GroupContext = {
      version: 'mls10',
      cipherSuite: getCiphersuiteNameFromId(v.cipher_suite as CiphersuiteId),
      groupId: fromHex(v.group_id),
      epoch: BigInt(i),
      treeHash: fromHex(e.tree_hash),
      confirmedTranscriptHash: fromHex(e.confirmed_transcript_hash),
      extensions: [],
    }
    assertBytes(encodeGroupContext(context), e.group_context, `${where}.group_context`)
    const secrets = await initializeEpoch(
      initSecret,
      fromHex(e.commit_secret),
      context,
      fromHex(e.psk_secret),
      cs.kdf,
    )
    const ks = secrets.keySchedule
    assertBytes(secrets.joinerSecret, e.joiner_secret, `${where}.joiner_secret`)
    assertBytes(secrets.welcomeSecret, e.welcome_secret, `${where}.welcome_secret`)
    assertBytes(ks.initSecret, e.init_secret, `${where}.init_secret`)
    assertBytes(ks.senderDataSecret, e.sender_data_secret, `${where}.sender_data_secret`)
    assertBytes(secrets.encryptionSecret, e.encryption_secret, `${where}.encryption_secret`)
    assertBytes(ks.exporterSecret, e.exporter_secret, `${where}.exporter_secret`)
    assertBytes(ks.epochAuthenticator, e.epoch_authenticator, `${where}.epoch_authenticator`)
    assertBytes(ks.externalSecret, e.external_secret, `${where}.external_secret`)
    assertBytes(ks.confirmationKey, e.confirmation_key, `${where}.confirmation_key`)
    assertBytes(ks.membershipKey, e.membership_key, `${where}.membership_key`)
    assertBytes(ks.resumptionPsk, e.resumption_psk, `${where}.resumption_psk`)
    const external = await cs.hpke.deriveKeyPair(ks.externalSecret)
    assertBytes(await cs.hpke.exportPublicKey(external.publicKey), e.external_pub, `${where}.external_pub`)
    const x = e.exporter
    assertBytes(
      await mlsExporter(ks.exporterSecret, x.label, fromHex(x.context), x.length, cs),
      x.secret,
      `${where}.exporter.secret`,
    )
    initSecret = ks.initSecret
  }
}
