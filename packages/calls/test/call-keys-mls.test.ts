import assert from 'node:assert/strict'
import { test } from 'node:test'
import { nodeBackend } from '@tacit/crypto/node/backend'
import { DEFAULT_SUITE } from '../../protocol/src/cipher-suite.ts'
import { epochOf, exportSecret, ownLeafIndex } from '../../protocol/src/group.ts'
import { Conversation } from '../../protocol/test/cases/conversation.ts'
import { createWorld } from '../../protocol/test/cases/world.ts'
import { CallKeyring, exportCallEpochKeys, type MlsExporter } from '../src/call-keys.ts'
import { CallsError } from '../src/errors.ts'

/**
 * Call keys from a real MLS group (the protocol package's exporter, Tacit's default suite): two
 * members derive matching keys and exchange frames; after a commit the new epoch's keys differ,
 * and a member removed from the group cannot decrypt the next epoch's frames.
 */

type Member = ReturnType<Conversation['member']>
const CALL_ID = new TextEncoder().encode('call-7f3a')

const exporterOf =
  (member: Member): MlsExporter =>
  (label, context, length) =>
    exportSecret(member.group, member.device.config, label, context, length)

async function keysOf(member: Member, others: readonly Member[]) {
  return exportCallEpochKeys({
    exporter: exporterOf(member),
    callId: CALL_ID,
    epoch: epochOf(member.group),
    ownLeafIndex: ownLeafIndex(member.group),
    memberLeafIndices: others.map((other) => ownLeafIndex(other.group)),
  })
}

test(
  'call keys from the MLS exporter of a real group: agree, rotate with the epoch, exclude the removed',
  { timeout: 120_000 },
  async () => {
    const world = await createWorld(nodeBackend, DEFAULT_SUITE)
    const convo = await Conversation.start(await world.device('alice'))
    await convo.add(convo.member('alice'), [await world.device('bob'), await world.device('carol')])
    const alice = convo.member('alice')
    const bob = convo.member('bob')
    const carol = convo.member('carol')

    const aliceRing = new CallKeyring()
    const bobRing = new CallKeyring()
    const carolRing = new CallKeyring()
    const aliceKeys = await keysOf(alice, [bob, carol])
    const bobKeys = await keysOf(bob, [alice, carol])
    assert.deepEqual(aliceKeys.baseKey, bobKeys.baseKey, 'members export the same base key')
    await aliceRing.setKeys(aliceKeys)
    await bobRing.setKeys(bobKeys)
    await carolRing.setKeys(await keysOf(carol, [alice, bob]))

    const frame = new Uint8Array([1, 2, 3, 4, 5])
    const fromAlice = await aliceRing.encrypt(frame)
    const atBob = await bobRing.decrypt(fromAlice)
    assert.equal(atBob.kind, 'plaintext')
    assert.equal(atBob.sender.leafIndex, ownLeafIndex(alice.group))
    assert.equal((await carolRing.decrypt(fromAlice)).kind, 'plaintext', 'every member decrypts')

    // Carol is removed: the next epoch's frames are beyond her keys.
    const firstEpoch = epochOf(alice.group)
    await convo.remove(alice, [carol])
    const alice2 = convo.member('alice')
    const bob2 = convo.member('bob')
    assert.ok(epochOf(alice2.group) > firstEpoch, 'the removal moved the epoch')
    const aliceKeys2 = await keysOf(alice2, [bob2])
    assert.notDeepEqual(aliceKeys2.baseKey, aliceKeys.baseKey, 'new epoch, new base key')
    await aliceRing.setKeys(aliceKeys2)
    await bobRing.setKeys(await keysOf(bob2, [alice2]))
    const next = await aliceRing.encrypt(frame)
    assert.equal((await bobRing.decrypt(next)).kind, 'plaintext', 'Bob follows the rotation')
    await assert.rejects(
      () => carolRing.decrypt(next),
      (error) => CallsError.is(error, 'unknown-kid'),
      'Carol holds no key for the new epoch',
    )
  },
)
