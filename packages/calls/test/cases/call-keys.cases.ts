import {
  type CaseGroup,
  check,
  checkBytes,
  checkEqual,
  checkRejects,
} from '../../../../tests/harness/cases.ts'
import {
  type CallEpochKeys,
  CallKeyring,
  composeCallKid,
  exportCallEpochKeys,
  KID_EPOCH_BITS,
  type MlsExporter,
  PREVIOUS_EPOCH_GRACE_MS,
  parseCallKid,
  SFRAME_MLS_EXPORTER_LABEL,
} from '../../src/call-keys.ts'
import { CallsError, type CallsErrorCode } from '../../src/errors.ts'
import { decodeSFrameHeader } from '../../src/sframe.ts'

/**
 * Call keys from an MLS exporter (RFC 9605 §5.2, Tacit profile in call-keys.ts). The exporter
 * here is HKDF over a per-epoch secret: the cases test the keyring's use of whatever the exporter
 * returns (label, context, length), the MLS exporter itself is tested in @tacit/protocol.
 */

const bytes = (...values: number[]) => new Uint8Array(values)
const CALL_ID = bytes(0xca, 0x11, 0x1d)

function fakeEpochExporter(
  epochSecret: Uint8Array,
  calls: Array<{ label: string; context: Uint8Array; length: number }>,
): MlsExporter {
  return async (label, context, length) => {
    calls.push({ label, context, length })
    const ikm = await crypto.subtle.importKey('raw', epochSecret as Uint8Array<ArrayBuffer>, 'HKDF', false, [
      'deriveBits',
    ])
    const info = new Uint8Array([...new TextEncoder().encode(label), ...context])
    return new Uint8Array(
      await crypto.subtle.deriveBits(
        { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info },
        ikm,
        length * 8,
      ),
    )
  }
}

async function epochKeys(
  epoch: bigint,
  own: number,
  members: number[],
  secretByte = Number(epoch),
): Promise<CallEpochKeys> {
  return exportCallEpochKeys({
    exporter: fakeEpochExporter(new Uint8Array(32).fill(secretByte), []),
    callId: CALL_ID,
    epoch,
    ownLeafIndex: own,
    memberLeafIndices: members,
  })
}

const isCode = (code: CallsErrorCode) => (error: unknown) => CallsError.is(error, code)

async function pair(epoch: bigint) {
  const alice = new CallKeyring()
  const bob = new CallKeyring()
  await alice.setKeys(await epochKeys(epoch, 0, [1]))
  await bob.setKeys(await epochKeys(epoch, 1, [0]))
  return { alice, bob }
}

export function callKeysCaseGroups(): CaseGroup[] {
  return [
    {
      name: 'call keys from MLS',
      cases: [
        {
          name: 'exporter is asked for "SFrame 1.0 Base Key", the call id, AEAD.Nk bytes',
          async run() {
            const calls: Array<{ label: string; context: Uint8Array; length: number }> = []
            const keys = await exportCallEpochKeys({
              exporter: fakeEpochExporter(new Uint8Array(32), calls),
              callId: CALL_ID,
              epoch: 7n,
              ownLeafIndex: 3,
              memberLeafIndices: [1, 2, 1],
            })
            checkEqual(calls.length, 1, 'one exporter call')
            checkEqual(calls[0]!.label, SFRAME_MLS_EXPORTER_LABEL, 'label')
            checkBytes(calls[0]!.context, CALL_ID, 'context is the call id')
            checkEqual(calls[0]!.length, 32, 'AEAD.Nk of AES_256_GCM_SHA512_128')
            checkEqual(keys.suite, 0x0005, 'suite')
            checkEqual(keys.baseKey.length, 32, 'base key length')
            checkEqual(keys.memberLeafIndices.length, 2, 'duplicate members merged')
            check(keys.sendContext >= 0 && keys.sendContext < 2 ** 24, 'send context is 24 bits')
          },
        },
        {
          name: 'KID layout: context | leaf index (16 bits) | epoch (4 bits), RFC 9605 Figure 8',
          run() {
            checkEqual(composeCallKid(0, 3, 14n), 0x3en, 'context 0 gives the shortest KID')
            checkEqual(composeCallKid(0, 20, 14n), 0x14en, 'index 20, epoch 14')
            checkEqual(composeCallKid(2, 2, 16n), (2n << 20n) | (2n << 4n), 'context above index')
            checkEqual(composeCallKid(0, 1, 17n) & ((1n << BigInt(KID_EPOCH_BITS)) - 1n), 1n, 'epoch mod 16')
            const parts = parseCallKid(composeCallKid(0xabcdef, 0xfedc, 0x1234n))
            check(parts !== undefined, 'parses')
            checkEqual(parts.context, 0xabcdef, 'context')
            checkEqual(parts.leafIndex, 0xfedc, 'leaf index')
            checkEqual(parts.epochBits, 4, 'epoch bits')
            checkEqual(parseCallKid(1n << 44n), undefined, 'context above 24 bits is not ours')
            let refused = 0
            for (const bad of [
              () => composeCallKid(-1, 0, 0n),
              () => composeCallKid(0, 65536, 0n),
              () => composeCallKid(1 << 24, 0, 0n),
            ]) {
              try {
                bad()
              } catch (error) {
                if (CallsError.is(error, 'invalid-kid')) refused++
              }
            }
            checkEqual(refused, 3, 'out-of-range parts refused')
          },
        },
        {
          name: 'two members exchange frames; the KID names the sender',
          async run() {
            const { alice, bob } = await pair(5n)
            const frame = bytes(1, 2, 3, 4)
            const sealed = await alice.encrypt(frame, bytes(9))
            const header = decodeSFrameHeader(sealed)
            checkEqual(header.kid, alice.sendKid, 'header carries the send KID')
            checkEqual(header.ctr, 0n, 'first counter is 0')
            const opened = await bob.decrypt(sealed, bytes(9))
            check(opened.kind === 'plaintext', 'decrypts')
            checkBytes(opened.plaintext, frame, 'plaintext')
            checkEqual(opened.sender.leafIndex, 0, 'sender leaf index')
            checkEqual(opened.sender.epoch, 5n, 'sender epoch')
            const back = await alice.decrypt(await bob.encrypt(frame), undefined)
            check(back.kind === 'plaintext' && back.sender.leafIndex === 1, 'the other way')
          },
        },
        {
          name: 'one counter per send key across audio and video frames',
          async run() {
            const { alice } = await pair(1n)
            const counters: bigint[] = []
            for (let i = 0; i < 6; i++) {
              const metadata = i % 2 === 0 ? bytes(0xfc) : bytes(0x10, 0x02, 0x00) // opus TOC / VP8 tag
              counters.push(decodeSFrameHeader(await alice.encrypt(bytes(i), metadata)).ctr)
            }
            checkEqual(counters.join(','), '0,1,2,3,4,5', 'counters')
          },
        },
        {
          name: 'duplicates are a replay result, not an error; the window tolerates reordering',
          async run() {
            const { alice, bob } = await pair(2n)
            const frames = await Promise.all([0, 1, 2, 3].map((i) => alice.encrypt(bytes(i))))
            for (const i of [2, 0, 3, 1])
              check((await bob.decrypt(frames[i]!)).kind === 'plaintext', `frame ${i} in any order`)
            const again = await bob.decrypt(frames[1]!)
            check(again.kind === 'replay' && again.reason === 'duplicate', 'duplicate dropped silently')
          },
        },
        {
          name: 'a non-member, the own KID, a wrong call and a tampered frame are refused',
          async run() {
            const { alice, bob } = await pair(3n)
            const carol = new CallKeyring()
            await carol.setKeys(await epochKeys(3n, 2, [0, 1]))
            await checkRejects(
              async () => bob.decrypt(await carol.encrypt(bytes(1))),
              isCode('unknown-kid'),
              "leaf 2 is not in bob's member list",
            )
            await checkRejects(
              async () => alice.decrypt(await alice.encrypt(bytes(1))),
              isCode('unknown-kid'),
              'own frames are not received',
            )
            const otherCall = new CallKeyring()
            await otherCall.setKeys(
              await exportCallEpochKeys({
                exporter: fakeEpochExporter(new Uint8Array(32).fill(3), []),
                callId: bytes(1),
                epoch: 3n,
                ownLeafIndex: 0,
                memberLeafIndices: [1],
              }),
            )
            await checkRejects(
              async () => bob.decrypt(await otherCall.encrypt(bytes(1))),
              isCode('auth-failed'),
              'another call id',
            )
            const sealed = await alice.encrypt(bytes(1, 2, 3), bytes(7))
            const flipped = Uint8Array.from(sealed)
            flipped[flipped.length - 1]! ^= 0x80
            await checkRejects(() => bob.decrypt(flipped, bytes(7)), isCode('auth-failed'), 'flipped tag bit')
            await checkRejects(
              () => bob.decrypt(sealed, bytes(8)),
              isCode('auth-failed'),
              'changed clear codec bytes',
            )
            const opened = await bob.decrypt(sealed, bytes(7))
            check(opened.kind === 'plaintext', 'the untouched frame still decrypts after the forgeries')
          },
        },
        {
          name: 'a new epoch rotates the send key; the previous epoch decrypts during the grace period only',
          async run() {
            let now = 1_000
            const alice = new CallKeyring({ now: () => now })
            const bob = new CallKeyring({ now: () => now })
            await alice.setKeys(await epochKeys(8n, 0, [1]))
            await bob.setKeys(await epochKeys(8n, 1, [0]))
            const inFlight = await alice.encrypt(bytes(1))
            const late = await alice.encrypt(bytes(2))
            const oldKid = alice.sendKid
            await alice.setKeys(await epochKeys(9n, 0, [1]))
            await bob.setKeys(await epochKeys(9n, 1, [0]))
            check(alice.sendKid !== oldKid, 'new send KID')
            const fresh = await alice.encrypt(bytes(3))
            checkEqual(decodeSFrameHeader(fresh).ctr, 0n, 'new key starts at counter 0')
            check((await bob.decrypt(fresh)).kind === 'plaintext', 'new epoch decrypts')
            check(
              (await bob.decrypt(inFlight)).kind === 'plaintext',
              'previous epoch frame in flight decrypts',
            )
            now += PREVIOUS_EPOCH_GRACE_MS
            await checkRejects(() => bob.decrypt(late), isCode('unknown-kid'), 'after the grace period')
            checkEqual(await bob.setKeys(await epochKeys(8n, 1, [0])), false, 'an older epoch is ignored')
          },
        },
        {
          name: 'epochs set back to back without waiting: the newest is current, the one before stays',
          async run() {
            const alice3 = new CallKeyring()
            await alice3.setKeys(await epochKeys(3n, 0, [1]))
            const inFlight = await alice3.encrypt(bytes(3))
            const alice = new CallKeyring()
            const bob = new CallKeyring()
            const aliceKeys = await Promise.all([2n, 3n, 4n].map((epoch) => epochKeys(epoch, 0, [1])))
            const bobKeys = await Promise.all([3n, 4n].map((epoch) => epochKeys(epoch, 1, [0])))
            const results = await Promise.all([
              ...aliceKeys.map((k) => alice.setKeys(k)),
              ...bobKeys.map((k) => bob.setKeys(k)),
            ])
            checkEqual(results.join(','), 'true,true,true,true,true', 'each was newer when its turn came')
            checkEqual(alice.epoch, 4n, 'the newest epoch is current')
            check((await bob.decrypt(await alice.encrypt(bytes(1)))).kind === 'plaintext', 'sends in epoch 4')
            check((await bob.decrypt(inFlight)).kind === 'plaintext', 'epoch 3 is kept as the previous one')
          },
        },
        {
          name: 'an epoch with the same low 4 bits replaces the old one (RFC 9605 §5.2)',
          async run() {
            const alice = new CallKeyring()
            const bob = new CallKeyring()
            await alice.setKeys(await epochKeys(16n, 0, [1]))
            await bob.setKeys(await epochKeys(16n, 1, [0]))
            const old = await alice.encrypt(bytes(1))
            await bob.setKeys(await epochKeys(32n, 1, [0]))
            await checkRejects(
              () => bob.decrypt(old),
              isCode('auth-failed'),
              'epoch 16 frame against epoch 32 key',
            )
          },
        },
      ],
    },
  ]
}
