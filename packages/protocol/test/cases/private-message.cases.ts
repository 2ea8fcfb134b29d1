/**
 * The application-message path of `src/private-message.ts` against ts-mls 1.6.4's own
 * (RFC 9420 §6.3, §9): byte-identical messages and states for the same reuse guard and
 * signature, each side opening the other's messages, and the ratchet's edge cases — out of
 * order within the window, skipped and deleted generations, replays, too far ahead, the last
 * uint32 generation, consumed secrets gone from the new state — decided exactly as the library
 * alone decides them. Runtime-neutral: runs on Node's backend and in Chromium on WebCrypto.
 */
import type { CryptoBackend } from '@tacit/crypto/backend'
import {
  type CiphersuiteImpl,
  type ClientState,
  createApplicationMessage,
  decodeMlsMessage,
  encodeMlsMessage,
} from 'ts-mls'
import { unprotectPrivateMessage } from 'ts-mls/messageProtection.js'
import {
  type CaseGroup,
  check,
  checkBytes,
  checkEqual,
  checkRejects,
} from '../../../../tests/harness/cases.ts'
import type { TacitSuiteName } from '../../src/cipher-suite.ts'
import { ProtocolError } from '../../src/errors.ts'
import { encryptMessage, type Group, type GroupConfig, processMessage } from '../../src/group.ts'
import { MAX_FORWARD_RATCHET_STEPS, OUT_OF_ORDER_GENERATIONS_RETAINED } from '../../src/limits.ts'
import { toProtocolError } from '../../src/mls-errors.ts'
import {
  MAX_GENERATION,
  openApplicationMessageInOrder,
  parseApplicationMessage,
  sealApplicationMessage,
} from '../../src/private-message.ts'
import { snapshotGroup } from '../../src/snapshot.ts'
import { Conversation, type Member } from './conversation.ts'
import { createWorld } from './world.ts'

const text = (s: string) => new TextEncoder().encode(s)

function bytesOf(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed) & 0xff
  return out
}

function toHex(bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += b.toString(16).padStart(2, '0')
  return s
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer
    return true
  }
  return false
}

/**
 * The suite with a fixed reuse guard and one signature per signed message (ECDSA is randomised):
 * two encoders that sign the same bytes then produce the same message, and any difference in
 * what they sign shows up as different bytes.
 */
function deterministic(impl: CiphersuiteImpl, guard: Uint8Array): CiphersuiteImpl {
  const signatures = new Map<string, Uint8Array>()
  return {
    ...impl,
    rng: { randomBytes: (n: number) => guard.slice(0, n) },
    signature: {
      ...impl.signature,
      async sign(key: Uint8Array, message: Uint8Array) {
        const id = toHex(message)
        let sig = signatures.get(id)
        if (sig === undefined) {
          sig = await impl.signature.sign(key, message)
          signatures.set(id, sig)
        }
        return sig
      },
    },
  }
}

/** What the library alone does with `bytes` at `state` (the pre-fast-path openApplicationMessage). */
async function libraryOpen(
  state: ClientState,
  impl: CiphersuiteImpl,
  bytes: Uint8Array,
): Promise<{ state: ClientState; plaintext: Uint8Array; consumed: Uint8Array[] }> {
  try {
    const decoded = decodeMlsMessage(bytes, 0)
    if (!decoded || decoded[1] !== bytes.length || decoded[0].wireformat !== 'mls_private_message') {
      throw new ProtocolError('malformed', 'not a private message')
    }
    const pm = decoded[0].privateMessage
    const r = await unprotectPrivateMessage(
      state.keySchedule.senderDataSecret,
      pm,
      state.secretTree,
      state.ratchetTree,
      state.groupContext,
      state.clientConfig.keyRetentionConfig,
      impl,
    )
    if (r.content.content.contentType !== 'application') throw new Error('not application')
    return {
      state: { ...state, secretTree: r.tree },
      plaintext: r.content.content.applicationData,
      consumed: r.consumed,
    }
  } catch (error) {
    throw toProtocolError(error, 'library open')
  }
}

function asGroup(state: ClientState): Group {
  return Object.freeze({ state })
}

/**
 * Delivers `bytes` to `receiver` through `processMessage` (fast path first) and to a reference
 * copy of the receiver through the library alone; both must accept with the same plaintext and
 * the same new state, or both reject with the same error code and leave the state unchanged.
 */
async function deliverBoth(
  config: GroupConfig,
  receiver: { fast: Group; reference: ClientState },
  bytes: Uint8Array,
  what: string,
): Promise<'accepted' | string> {
  let reference: Awaited<ReturnType<typeof libraryOpen>> | undefined
  let referenceCode: string | undefined
  try {
    reference = await libraryOpen(receiver.reference, config.suite.impl, bytes)
  } catch (error) {
    referenceCode = ProtocolError.is(error) ? error.code : 'not a ProtocolError'
  }
  const before = snapshotGroup(receiver.fast, config)
  try {
    const r = await processMessage(receiver.fast, config, bytes)
    if (r.kind !== 'application') throw new Error('expected an application message')
    check(reference !== undefined, `${what}: accepted here but the library refused it (${referenceCode})`)
    checkBytes(r.plaintext, reference.plaintext, `${what}: plaintext`)
    checkBytes(
      snapshotGroup(r.group, config),
      snapshotGroup(asGroup(reference.state), config),
      `${what}: new state`,
    )
    checkEqual(r.consumed.map(toHex).join(), reference.consumed.map(toHex).join(), `${what}: consumed`)
    receiver.fast = r.group
    receiver.reference = reference.state
    return 'accepted'
  } catch (error) {
    if (!ProtocolError.is(error)) throw error
    checkEqual(error.code, referenceCode, `${what}: error code (the library's)`)
    checkBytes(snapshotGroup(receiver.fast, config), before, `${what}: state unchanged`)
    return error.code
  }
}

async function threeParty(backend: CryptoBackend, suite: TacitSuiteName) {
  const world = await createWorld(backend, suite)
  const convo = await Conversation.start(await world.device('alice'))
  await convo.add(convo.member('alice'), [await world.device('bob'), await world.device('carol')])
  return { convo, alice: convo.member('alice'), bob: convo.member('bob'), carol: convo.member('carol') }
}

/** `sender` encrypts `count` messages "m0".."m{count-1}" in order. */
async function sendMany(sender: Member, count: number): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for (let i = 0; i < count; i++) {
    const r = await encryptMessage(sender.group, sender.device.config, text(`m${i}`))
    sender.group = r.group
    out.push(r.message)
  }
  return out
}

/** A copy of `state` whose application chain at `leafIndex` claims generation `generation`. */
function atGeneration(state: ClientState, leafIndex: number, generation: number): ClientState {
  const tree = state.secretTree.slice()
  const node = tree[leafIndex * 2]!
  tree[leafIndex * 2] = { ...node, application: { ...node.application, generation } }
  return { ...state, secretTree: tree }
}

export function privateMessageCases(backend: CryptoBackend, suite: TacitSuiteName): CaseGroup {
  return {
    name: `protocol application messages [${backend.name}, ${suite}]`,
    cases: [
      {
        name: 'sealed messages and states are byte-identical to the library encoding (padding, lengths)',
        async run() {
          const { alice } = await threeParty(backend, suite)
          const config = alice.device.config
          const guard = Uint8Array.of(0xde, 0xad, 0xbe, 0xef)
          const impl = deterministic(config.suite.impl, guard)
          let state = alice.group.state
          let compared = 0
          // Around the 256-byte padding target, the 64 and 16,384-byte length-header steps.
          for (const size of [0, 1, 63, 64, 150, 200, 1024, 16_383, 20_000]) {
            for (const aadSize of [0, 63, 64]) {
              const plaintext = bytesOf(size, compared)
              const aad = bytesOf(aadSize, compared + 7)
              const ours = await sealApplicationMessage(state, impl, plaintext, aad)
              const theirs = await createApplicationMessage(state, plaintext, impl, aad)
              const theirBytes = encodeMlsMessage({
                version: 'mls10',
                wireformat: 'mls_private_message',
                privateMessage: theirs.privateMessage,
              })
              const what = `${size}-byte message, ${aadSize}-byte authenticated data`
              checkBytes(ours.message, theirBytes, `${what}: message`)
              checkBytes(
                snapshotGroup(asGroup(ours.state), config),
                snapshotGroup(asGroup(theirs.newState), config),
                `${what}: state`,
              )
              checkEqual(
                ours.consumed.map(toHex).join(),
                theirs.consumed.map(toHex).join(),
                `${what}: consumed`,
              )
              state = ours.state
              compared++
            }
          }
          checkEqual(compared, 27, 'messages compared')
        },
      },
      {
        name: 'the library opens our messages and we open the library messages, every sender',
        async run() {
          const { alice, bob, carol } = await threeParty(backend, suite)
          const members = [alice, bob, carol]
          const config = alice.device.config
          let opened = 0
          for (let round = 0; round < 3; round++) {
            for (const sender of members) {
              // Ours (encryptMessage), then the library's own createApplicationMessage.
              const ours = await encryptMessage(sender.group, sender.device.config, text(`ours ${round}`))
              sender.group = ours.group
              const lib = await createApplicationMessage(
                sender.group.state,
                text(`library ${round}`),
                sender.device.config.suite.impl,
              )
              sender.group = asGroup(lib.newState)
              const libBytes = encodeMlsMessage({
                version: 'mls10',
                wireformat: 'mls_private_message',
                privateMessage: lib.privateMessage,
              })
              for (const receiver of members) {
                if (receiver === sender) continue
                // The fast path itself, not the fallback, must take both.
                for (const [bytes, expected] of [
                  [ours.message, `ours ${round}`],
                  [libBytes, `library ${round}`],
                ] as const) {
                  const reference = await libraryOpen(receiver.group.state, config.suite.impl, bytes)
                  const header = parseApplicationMessage(bytes)
                  check(header !== undefined, 'the message parses')
                  const fast = await openApplicationMessageInOrder(
                    receiver.group.state,
                    receiver.device.config.suite.impl,
                    header,
                  )
                  check(fast !== undefined, `the fast path opens ${expected}`)
                  checkBytes(fast.applicationData, text(expected), 'plaintext')
                  checkBytes(reference.plaintext, text(expected), 'plaintext (library)')
                  checkBytes(
                    snapshotGroup(asGroup(fast.state), config),
                    snapshotGroup(asGroup(reference.state), config),
                    'same new state as the library',
                  )
                  const processed = await processMessage(receiver.group, receiver.device.config, bytes)
                  if (processed.kind !== 'application') throw new Error('expected application')
                  checkEqual(processed.sender.handle, sender.device.handle, 'sender')
                  receiver.group = processed.group
                  opened++
                }
              }
            }
          }
          checkEqual(opened, 36, 'messages opened')
        },
      },
      {
        name: 'out of order within the window, skipped keys and replays: the library decides',
        async run() {
          const { alice, bob } = await threeParty(backend, suite)
          const config = bob.device.config
          const sent = await sendMany(alice, 12)
          const receiver = { fast: bob.group, reference: bob.group.state }
          const order = [3, 0, 1, 2, 4, 5, 11, 7, 6, 8, 3, 9, 10, 11, 0]
          const outcomes: string[] = []
          for (const i of order) outcomes.push(await deliverBoth(config, receiver, sent[i]!, `m${i}`))
          checkEqual(
            outcomes.join(),
            order.map((_, k) => ([10, 13, 14].includes(k) ? 'replay' : 'accepted')).join(),
            'outcomes',
          )
          // In order again afterwards (the fast path).
          const next = await sendMany(alice, 2)
          for (const m of next)
            checkEqual(await deliverBoth(config, receiver, m, 'next'), 'accepted', 'in order')
        },
      },
      {
        name: 'generations skipped beyond the retained window are deleted, as in the library',
        async run() {
          const { alice, bob } = await threeParty(backend, suite)
          const config = bob.device.config
          const count = OUT_OF_ORDER_GENERATIONS_RETAINED + 6
          const sent = await sendMany(alice, count)
          const receiver = { fast: bob.group, reference: bob.group.state }
          checkEqual(await deliverBoth(config, receiver, sent[count - 1]!, 'last'), 'accepted', 'last first')
          let accepted = 0
          let refused = 0
          for (let i = 0; i < count - 1; i++) {
            const outcome = await deliverBoth(config, receiver, sent[i]!, `m${i}`)
            if (outcome === 'accepted') accepted++
            else refused++
          }
          check(refused > 0 && accepted > 0, `some kept (${accepted}) and some deleted (${refused})`)
        },
      },
      {
        name: 'a message too far ahead of the chain is refused as by the library',
        async run() {
          const { alice, bob } = await threeParty(backend, suite)
          const config = bob.device.config
          const aliceLeaf = alice.group.state.privatePath.leafIndex
          const ahead = atGeneration(alice.group.state, aliceLeaf, MAX_FORWARD_RATCHET_STEPS + 1)
          const sent = await encryptMessage(asGroup(ahead), alice.device.config, text('far'))
          const receiver = { fast: bob.group, reference: bob.group.state }
          const outcome = await deliverBoth(config, receiver, sent.message, 'too far')
          check(outcome !== 'accepted', 'refused')
        },
      },
      {
        name: 'the last uint32 generation is sent and opened; the chain then refuses to send',
        async run() {
          const { alice, bob } = await threeParty(backend, suite)
          const config = bob.device.config
          const aliceLeaf = alice.group.state.privatePath.leafIndex
          // Both ends hold the same chain secret; let both claim it is the last generation.
          const sender = asGroup(atGeneration(alice.group.state, aliceLeaf, MAX_GENERATION))
          const last = await encryptMessage(sender, alice.device.config, text('last'))
          const bobState = atGeneration(bob.group.state, aliceLeaf, MAX_GENERATION)
          const header = parseApplicationMessage(last.message)
          check(header !== undefined, 'parses')
          const fast = await openApplicationMessageInOrder(bobState, config.suite.impl, header)
          check(fast !== undefined, 'the fast path opens generation 2^32 - 1')
          checkBytes(fast.applicationData, text('last'), 'plaintext')
          const receiver = { fast: asGroup(bobState), reference: bobState }
          checkEqual(await deliverBoth(config, receiver, last.message, 'last'), 'accepted', 'library agrees')
          await checkRejects(
            () => encryptMessage(last.group, alice.device.config, text('one more')),
            (e) => ProtocolError.is(e, 'usage'),
            'no generation after 2^32 - 1',
          )
        },
      },
      {
        name: 'forward secrecy: the secrets a message consumed are not in the new state',
        async run() {
          const { alice, bob } = await threeParty(backend, suite)
          const sent = await encryptMessage(alice.group, alice.device.config, text('erase me'))
          checkEqual(sent.consumed.length, 2, 'sender consumed the chain secret and the key')
          const senderBefore = snapshotGroup(alice.group, alice.device.config)
          check(contains(senderBefore, sent.consumed[0]!), 'the chain secret was in the state before')
          const senderAfter = snapshotGroup(sent.group, alice.device.config)
          for (const s of sent.consumed) check(!contains(senderAfter, s), 'sender state no longer holds it')
          const got = await processMessage(bob.group, bob.device.config, sent.message)
          checkEqual(got.consumed.length, 2, 'receiver consumed the chain secret and the key')
          checkEqual(toHex(got.consumed[0]!), toHex(sent.consumed[0]!), 'the same chain secret')
          const receiverAfter = snapshotGroup(got.group, bob.device.config)
          for (const s of got.consumed)
            check(!contains(receiverAfter, s), 'receiver state no longer holds it')
        },
      },
    ],
  }
}
