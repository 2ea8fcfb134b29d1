import type { CryptoBackend } from '@tacit/crypto/backend'
import {
  type CaseGroup,
  check,
  checkBytes,
  checkEqual,
  checkRejects,
} from '../../../../tests/harness/cases.ts'
import type { TacitSuiteName } from '../../src/cipher-suite.ts'
import { ProtocolError } from '../../src/errors.ts'
import {
  createCommit,
  encryptMessage,
  epochOf,
  exportSecret,
  joinGroup,
  membersOf,
  processMessage,
} from '../../src/group.ts'
import { decodeKeyPackage, isLastResort } from '../../src/key-package.ts'
import { restoreGroup, snapshotGroup } from '../../src/snapshot.ts'
import { Conversation } from './conversation.ts'
import { createWorld } from './world.ts'

const text = (s: string) => new TextEncoder().encode(s)

/** Group lifecycle in one suite: create, add, Welcome, messages, remove, update, exporter, snapshot. */
export function groupCases(backend: CryptoBackend, suite: TacitSuiteName): CaseGroup {
  return {
    name: `protocol groups [${backend.name}, ${suite}]`,
    cases: [
      {
        name: 'three users: create, add by Welcome, everyone talks, agreement on epoch authenticator',
        async run() {
          const world = await createWorld(backend, suite)
          const alice = await world.device('alice')
          const convo = await Conversation.start(alice)
          await convo.add(convo.member('alice'), [await world.device('bob'), await world.device('carol')])
          checkEqual(epochOf(convo.member('alice').group), 1n, 'epoch after the add')
          checkEqual(await convo.everyoneTalks('hello'), 6, 'deliveries')
          const senders = membersOf(convo.member('bob').group).map((m) => m.handle)
          checkEqual(senders.join(','), 'alice,bob,carol', 'members in leaf order')
        },
      },
      {
        name: 'a removed member cannot decrypt anything sent after its removal',
        async run() {
          const world = await createWorld(backend, suite)
          const convo = await Conversation.start(await world.device('alice'))
          await convo.add(convo.member('alice'), [await world.device('bob'), await world.device('carol')])
          const carol = convo.member('carol')
          const carolBefore = carol.group
          await convo.remove(convo.member('alice'), [carol])
          // carol processed the commit that removed her: she is out.
          checkEqual(carol.group.state.groupActiveState.kind, 'removedFromGroup', 'carol state')
          const sent = await encryptMessage(
            convo.member('bob').group,
            convo.member('bob').device.config,
            text('secret'),
          )
          await checkRejects(
            () => processMessage(carol.group, carol.device.config, sent.message),
            (e) => ProtocolError.is(e, 'not-member'),
            'removed state refuses',
          )
          // Even her last state from before the removal has no keys for the new epoch.
          await checkRejects(
            () => processMessage(carolBefore, carol.device.config, sent.message),
            (e) => ProtocolError.is(e, 'wrong-epoch'),
            'pre-removal state has no keys',
          )
          await convo.everyoneTalks('after removal')
        },
      },
      {
        name: 'self-update (empty commit with a path) moves every member to a new epoch',
        async run() {
          const world = await createWorld(backend, suite)
          const convo = await Conversation.start(await world.device('alice'))
          await convo.add(convo.member('alice'), [await world.device('bob')])
          const before = convo.member('bob').group.state.keySchedule.epochAuthenticator
          await convo.update(convo.member('bob'))
          checkEqual(epochOf(convo.member('alice').group), 2n, 'epoch')
          check(
            before.some((b, i) => b !== convo.member('bob').group.state.keySchedule.epochAuthenticator[i]),
            'authenticator changed',
          )
          await convo.everyoneTalks('after update')
        },
      },
      {
        name: 'joining after removals and adds into different subtrees (ts-mls 1.6.4 tree-validation fix)',
        async run() {
          // Found by the property test: ts-mls 1.6.4 compared whole unmerged_leaves lists along a
          // leaf's direct path (RFC 9420 §7.9.2 asks only that each node lists the leaf), so the
          // joiner of the last add rejected a valid tree. Fixed by patches/ts-mls+1.6.4.patch.
          const world = await createWorld(backend, suite)
          const convo = await Conversation.start(await world.device('alice'))
          await convo.add(convo.members[0]!, [await world.device('u0')])
          await convo.add(convo.members[1]!, [await world.device('u1'), await world.device('u2')])
          await convo.remove(convo.members[0]!, [convo.members[1]!])
          await convo.add(convo.members[1]!, [await world.device('u3'), await world.device('u4')])
          await convo.remove(convo.members[0]!, [convo.members[1]!])
          await convo.add(convo.members[2]!, [
            await world.device('u5'),
            await world.device('u6'),
            await world.device('u7'),
          ])
          checkEqual(convo.members.length, 7, 'members')
          await convo.everyoneTalks('after the joins')
        },
      },
      {
        name: 'a user with two devices: both are members; a message reaches the other device',
        async run() {
          const world = await createWorld(backend, suite)
          const convo = await Conversation.start(await world.device('alice', 'laptop'))
          await convo.add(convo.member('alice'), [
            await world.device('alice', 'phone'),
            await world.device('bob'),
          ])
          const ids = membersOf(convo.member('bob').group).map((m) => `${m.handle}/${m.deviceId}`)
          checkEqual(ids.join(','), 'alice/laptop,alice/phone,bob/d1', 'devices')
          await convo.everyoneTalks('multi-device')
        },
      },
      {
        name: 'exporter secrets agree across members and change with the epoch',
        async run() {
          const world = await createWorld(backend, suite)
          const convo = await Conversation.start(await world.device('alice'))
          await convo.add(convo.member('alice'), [await world.device('bob')])
          const a = convo.member('alice')
          const b = convo.member('bob')
          const ctx = text('call 1')
          const ka = await exportSecret(a.group, a.device.config, 'tacit sframe', ctx, 32)
          const kb = await exportSecret(b.group, b.device.config, 'tacit sframe', ctx, 32)
          checkBytes(ka, kb, 'exporter')
          await convo.update(a)
          const ka2 = await exportSecret(a.group, a.device.config, 'tacit sframe', ctx, 32)
          check(
            ka2.some((x, i) => x !== ka[i]),
            'new epoch, new exporter secret',
          )
          await checkRejects(
            () => exportSecret(a.group, a.device.config, 'x', ctx, 0),
            (e) => ProtocolError.is(e, 'usage'),
            'length 0',
          )
        },
      },
      {
        name: 'last-resort KeyPackages carry the RFC 9420 last_resort extension and work for joining',
        async run() {
          const world = await createWorld(backend, suite)
          const alice = await world.device('alice')
          const bob = await world.device('bob')
          const convo = await Conversation.start(alice)
          const kp = await bob.keyPackage(true)
          const decoded = await decodeKeyPackage(world.suite, kp.encoded)
          check(isLastResort(decoded), 'last resort flag')
          check(
            !isLastResort(await decodeKeyPackage(world.suite, (await bob.keyPackage()).encoded)),
            'one-time',
          )
          const r = await createCommit(convo.member('alice').group, alice.config, { add: [kp.encoded] })
          const joined = await joinGroup({
            config: bob.config,
            welcome: r.welcome!,
            keyPackage: kp.keyPackage,
            privateKeyPackage: kp.privateKeyPackage,
          })
          checkEqual(epochOf(joined), 1n, 'joined epoch')
        },
      },
      {
        name: 'snapshot and restore: the restored state behaves exactly like the original',
        async run() {
          const world = await createWorld(backend, suite)
          const convo = await Conversation.start(await world.device('alice'))
          await convo.add(convo.member('alice'), [await world.device('bob')])
          await convo.everyoneTalks('before snapshot')
          const bob = convo.member('bob')
          const bytes = snapshotGroup(bob.group, bob.device.config)
          const restored = restoreGroup(bytes, bob.device.config)
          checkBytes(snapshotGroup(restored, bob.device.config), bytes, 'snapshot is stable')
          bob.group = restored
          await convo.everyoneTalks('after restore')
          await convo.update(bob)
          await convo.everyoneTalks('after update')
          await checkRejects(
            () => restoreGroup(bytes.subarray(0, bytes.length - 1), bob.device.config),
            (e) => ProtocolError.is(e, 'malformed'),
            'truncated snapshot',
          )
          const wrongMagic = bytes.slice()
          wrongMagic[3] = 0x39
          await checkRejects(
            () => restoreGroup(wrongMagic, bob.device.config),
            (e) => ProtocolError.is(e, 'unsupported-snapshot'),
            'unknown version',
          )
        },
      },
      {
        name: 'late application messages from the previous epoch still decrypt, once',
        async run() {
          const world = await createWorld(backend, suite)
          const convo = await Conversation.start(await world.device('alice'))
          await convo.add(convo.member('alice'), [await world.device('bob')])
          const a = convo.member('alice')
          const b = convo.member('bob')
          const late = await encryptMessage(a.group, a.device.config, text('sent before the update'))
          a.group = late.group
          await convo.update(b)
          const got = await processMessage(b.group, b.device.config, late.message)
          if (got.kind !== 'application') throw new Error('expected application')
          checkBytes(got.plaintext, text('sent before the update'), 'late plaintext')
          checkEqual(got.epoch, 1n, 'message epoch')
          await checkRejects(
            () => processMessage(got.group, b.device.config, late.message),
            (e) => ProtocolError.is(e, 'replay'),
            'second delivery of the late message',
          )
        },
      },
    ],
  }
}
