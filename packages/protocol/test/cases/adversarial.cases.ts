/**
 * Adversarial inputs (DESIGN.md §10): replayed, reordered, truncated, bit-flipped, wrong-epoch,
 * forged-sender and path-less commits are each rejected with a typed error, and the receiver's
 * state is unchanged — checked by comparing its snapshot before and after, byte for byte.
 */
import type { CryptoBackend } from '@tacit/crypto/backend'
import {
  createApplicationMessage,
  emptyPskIndex,
  encodeMlsMessage,
  createCommit as mlsCreateCommit,
} from 'ts-mls'
import { type CaseGroup, checkBytes, checkEqual, checkRejects } from '../../../../tests/harness/cases.ts'
import type { TacitSuiteName } from '../../src/cipher-suite.ts'
import { ProtocolError, type ProtocolErrorCode } from '../../src/errors.ts'
import { encryptMessage, type Group, processMessage } from '../../src/group.ts'
import { snapshotGroup } from '../../src/snapshot.ts'
import { Conversation, type Member } from './conversation.ts'
import { createWorld } from './world.ts'

const text = (s: string) => new TextEncoder().encode(s)

async function twoParty(backend: CryptoBackend, suite: TacitSuiteName) {
  const world = await createWorld(backend, suite)
  const convo = await Conversation.start(await world.device('alice'))
  await convo.add(convo.member('alice'), [await world.device('bob'), await world.device('mallory')])
  return {
    world,
    convo,
    alice: convo.member('alice'),
    bob: convo.member('bob'),
    mallory: convo.member('mallory'),
  }
}

/** Processing `bytes` at `receiver` fails with `code` and leaves its state byte-identical. */
async function rejectsUnchanged(receiver: Member, bytes: Uint8Array, code: ProtocolErrorCode, what: string) {
  const before: Group = receiver.group
  const snapshot = snapshotGroup(before, receiver.device.config)
  await checkRejects(
    () => processMessage(before, receiver.device.config, bytes),
    (e) => ProtocolError.is(e, code),
    `${what} is rejected with ${code}`,
  )
  checkBytes(snapshotGroup(before, receiver.device.config), snapshot, `${what} leaves the state unchanged`)
}

export function adversarialCases(backend: CryptoBackend, suite: TacitSuiteName): CaseGroup {
  return {
    name: `protocol adversarial [${backend.name}, ${suite}]`,
    cases: [
      {
        name: 'a replayed application message is rejected as a replay',
        async run() {
          const { alice, bob } = await twoParty(backend, suite)
          const sent = await encryptMessage(alice.group, alice.device.config, text('once'))
          const first = await processMessage(bob.group, bob.device.config, sent.message)
          bob.group = first.group
          await rejectsUnchanged(bob, sent.message, 'replay', 'replayed message')
        },
      },
      {
        name: 'truncated messages are malformed',
        async run() {
          const { alice, bob } = await twoParty(backend, suite)
          const sent = await encryptMessage(alice.group, alice.device.config, text('cut me'))
          for (const cut of [1, 16, sent.message.length - 1]) {
            await rejectsUnchanged(
              bob,
              sent.message.subarray(0, sent.message.length - cut),
              'malformed',
              `cut ${cut}`,
            )
          }
          await rejectsUnchanged(bob, new Uint8Array(0), 'malformed', 'empty input')
        },
      },
      {
        name: 'a bit flipped in the ciphertext fails to decrypt',
        async run() {
          const { alice, bob } = await twoParty(backend, suite)
          const sent = await encryptMessage(alice.group, alice.device.config, text('flip me'))
          for (const fromEnd of [1, 20, 40]) {
            const flipped = sent.message.slice()
            const i = flipped.length - fromEnd
            flipped[i] = flipped[i]! ^ 0x01
            await rejectsUnchanged(bob, flipped, 'decrypt-failed', `bit flip ${fromEnd} bytes from the end`)
          }
          const ok = await processMessage(bob.group, bob.device.config, sent.message)
          if (ok.kind !== 'application') throw new Error('expected application')
          checkBytes(ok.plaintext, text('flip me'), 'the original still decrypts')
        },
      },
      {
        name: 'a commit for a future epoch (reordered delivery) is refused as wrong-epoch',
        async run() {
          const { convo, alice, bob, mallory } = await twoParty(backend, suite)
          const first = await (await import('../../src/group.ts')).createCommit(
            alice.group,
            alice.device.config,
            {},
          )
          const aliceNext = first.group
          const second = await (await import('../../src/group.ts')).createCommit(
            aliceNext,
            alice.device.config,
            {},
          )
          // bob sees the second commit before the first.
          await rejectsUnchanged(bob, second.commit, 'wrong-epoch', 'commit for epoch n+1 before n')
          await convo.deliverCommit(alice, aliceNext, first.commit)
          checkEqual(bob.group.state.groupContext.epoch, 2n, 'bob advanced with the first commit')
          void mallory
        },
      },
      {
        name: 'an application message from an epoch without kept keys is wrong-epoch',
        async run() {
          const { convo, alice, bob } = await twoParty(backend, suite)
          const old = bob.group
          await convo.update(alice)
          const sent = await encryptMessage(alice.group, alice.device.config, text('new epoch'))
          await rejectsUnchanged(
            { device: bob.device, group: old },
            sent.message,
            'wrong-epoch',
            'message from the future',
          )
        },
      },
      {
        name: 'a message for another group is refused',
        async run() {
          const a = await twoParty(backend, suite)
          const b = await twoParty(backend, suite)
          const sent = await encryptMessage(a.alice.group, a.alice.device.config, text('elsewhere'))
          await rejectsUnchanged(b.bob, sent.message, 'wrong-group', 'foreign group message')
        },
      },
      {
        name: "a member forging another member's sender index fails signature verification",
        async run() {
          const { alice, bob, mallory } = await twoParty(backend, suite)
          // mallory knows the epoch's secret tree; she ratchets alice's chain and claims alice's
          // leaf, but can only sign with her own key.
          const state = mallory.group.state
          const forgedState = { ...state, privatePath: { ...state.privatePath, leafIndex: 0 } }
          const forged = await createApplicationMessage(
            forgedState as typeof state,
            text('I am alice'),
            mallory.device.config.suite.impl,
          )
          const bytes = encodeMlsMessage({
            version: 'mls10',
            wireformat: 'mls_private_message',
            privateMessage: forged.privateMessage,
          })
          void alice
          await rejectsUnchanged(bob, bytes, 'verification-failed', 'forged sender')
        },
      },
      {
        name: 'a path-less GroupContextExtensions commit (accepted by ts-mls 1.6.4) is refused',
        async run() {
          const { alice, bob } = await twoParty(backend, suite)
          // Built with the library directly, as a malicious or buggy member would.
          const evil = await mlsCreateCommit(
            {
              state: alice.group.state,
              cipherSuite: alice.device.config.suite.impl,
              pskIndex: emptyPskIndex,
            },
            {
              extraProposals: [
                { proposalType: 'group_context_extensions', groupContextExtensions: { extensions: [] } },
              ],
            },
          )
          await rejectsUnchanged(
            bob,
            encodeMlsMessage(evil.commit),
            'commit-path-required',
            'path-less GCE commit',
          )
        },
      },
      {
        name: 'the policy refuses a non-admin removing another user',
        async run() {
          const { convo, bob, mallory } = await twoParty(backend, suite)
          // mallory's own policy would refuse, so she bypasses our wrapper and uses the library.
          const leaf = convo.leafOf(bob)
          const evil = await mlsCreateCommit(
            {
              state: mallory.group.state,
              cipherSuite: mallory.device.config.suite.impl,
              pskIndex: emptyPskIndex,
            },
            { extraProposals: [{ proposalType: 'remove', remove: { removed: leaf } }] },
          )
          await rejectsUnchanged(
            bob,
            encodeMlsMessage(evil.commit),
            'policy-rejected',
            'remove by a non-admin',
          )
          await checkRejects(
            () =>
              import('../../src/group.ts').then((g) =>
                g.createCommit(mallory.group, mallory.device.config, { remove: [leaf] }),
              ),
            (e) => ProtocolError.is(e, 'policy-rejected'),
            'our wrapper refuses to create it too',
          )
        },
      },
    ],
  }
}
