// RFC 9420 §9 (secret tree), §9.1 (hash ratchets) and §6.3.2 (sender data key and nonce).

import type { GenerationSecret } from 'ts-mls/secretTree.js'
import { createSecretTree, deriveKey, deriveNonce, ratchetUntil } from 'ts-mls/secretTree.js'
import { expandSenderDataKey, expandSenderDataNonce } from 'ts-mls/sender.js'
import { leafToNodeIndex, toLeafIndex } from 'ts-mls/treemath.js'
import { assertBytes, fromHex } from '../harness.ts'
import { loadSuite } from '../suite-source.ts'

interface SecretTreeVector {
  cipher_suite: number
  sender_data: { sender_data_secret: string; ciphertext: string; key: string; nonce: string }
  encryption_secret: string
  leaves: {
    generation: number
    handshake_key: string
    handshake_nonce: string
    application_key: string
    application_nonce: string
  }[][]
}

/** Generations in the file are small; allow them all to be reached from generation 0. */
const RATCHET_CONFIG = {
  retainKeysForGenerations: 0,
  retainKeysForEpochs: 0,
  maximumForwardRatchetSteps: 1 << 16,
}

export async function runSecretTree(v: SecretTreeVector): Promise<void> {
  const cs = await loadSuite(v.cipher_suite)
  const sd = v.sender_data
  const sdSecret = fromHex(sd.sender_data_secret)
  const ciphertext = fromHex(sd.ciphertext)
  assertBytes(await expandSenderDataKey(cs, sdSecret, ciphertext), sd.key, 'sender_data.key')
  assertBytes(await expandSenderDataNonce(cs, sdSecret, ciphertext), sd.nonce, 'sender_data.nonce')

  const tree = await createSecretTree(v.leaves.length, fromHex(v.encryption_secret), cs.kdf)
  for (const [leaf, entries] of v.leaves.entries()) {
    const node = tree[leafToNodeIndex(toLeafIndex(leaf))]
    if (node === undefined) throw new Error(`secret tree has no node for leaf ${leaf}`)
    for (const entry of entries) {
      const at = async (ratchet: GenerationSecret): Promise<Uint8Array> =>
        (await ratchetUntil(ratchet, entry.generation, RATCHET_CONFIG, cs.kdf))[0].secret
      const where = `leaves[${leaf}] generation ${entry.generation}`
      const handshake = await at(node.handshake)
      const application = await at(node.application)
      assertBytes(
        await deriveKey(handshake, entry.generation, cs),
        entry.handshake_key,
        `${where} handshake_key`,
      )
      assertBytes(
        await deriveNonce(handshake, entry.generation, cs),
        entry.handshake_nonce,
        `${where} handshake_nonce`,
      )
      assertBytes(
        await deriveKey(application, entry.generation, cs),
        entry.application_key,
        `${where} application_key`,
      )
      assertBytes(
        await deriveNonce(application, entry.generation, cs),
        entry.application_nonce,
        `${where} application_nonce`,
      )
    }
  }
}
