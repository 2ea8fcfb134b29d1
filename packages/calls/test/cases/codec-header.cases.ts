import {
  type CaseGroup,
  check,
  checkBytes,
  checkEqual,
  checkRejects,
} from '../../../../tests/harness/cases.ts'
import { CallKeyring, exportCallEpochKeys } from '../../src/call-keys.ts'
import {
  clearByteCount,
  codecFromMimeType,
  isVp8KeyFrame,
  OPUS_CLEAR_BYTES,
  VP8_DELTA_FRAME_CLEAR_BYTES,
  VP8_KEY_FRAME_CLEAR_BYTES,
  VP9_CLEAR_BYTES,
} from '../../src/codec-header.ts'
import { CallsError } from '../../src/errors.ts'
import { protectMediaFrame, unprotectMediaFrame } from '../../src/media-frame.ts'
import { decodeSFrameHeader } from '../../src/sframe.ts'

/**
 * Clear codec bytes (DESIGN §8) and the protected frame layout: clear bytes ‖ SFrame header ‖
 * ciphertext, the clear bytes authenticated as SFrame metadata.
 */

/**
 * A VP8 key frame as RFC 6386 §9.1 lays it out: frame tag (key frame bit 0 = 0, version 0,
 * show_frame 1, first partition size 0x123), start code 9d 01 2a, 640 x 360, then payload.
 */
function vp8KeyFrame(payloadLength: number): Uint8Array {
  const size = 0x123
  const tag = (size << 5) | (1 << 4) // show_frame = 1, version = 0, key frame = 0
  const header = [tag & 0xff, (tag >> 8) & 0xff, (tag >> 16) & 0xff, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01]
  return new Uint8Array([...header, ...Array.from({ length: payloadLength }, (_, i) => (i * 7) & 0xff)])
}

function vp8DeltaFrame(payloadLength: number): Uint8Array {
  const frame = vp8KeyFrame(payloadLength)
  frame[0]! |= 0x01 // RFC 6386 §9.1: 1 = interframe
  return frame.subarray(0, 3 + payloadLength)
}

async function keyringPair(): Promise<{ alice: CallKeyring; bob: CallKeyring }> {
  const exporter = async (_label: string, _context: Uint8Array, length: number) =>
    new Uint8Array(length).fill(0x42)
  const alice = new CallKeyring()
  const bob = new CallKeyring()
  const common = { exporter, callId: new Uint8Array([1]), epoch: 4n }
  await alice.setKeys(await exportCallEpochKeys({ ...common, ownLeafIndex: 0, memberLeafIndices: [1] }))
  await bob.setKeys(await exportCallEpochKeys({ ...common, ownLeafIndex: 1, memberLeafIndices: [0] }))
  return { alice, bob }
}

export function codecHeaderCaseGroups(): CaseGroup[] {
  return [
    {
      name: 'clear codec header bytes',
      cases: [
        {
          name: 'VP8: 10 clear bytes on key frames, 3 otherwise (RFC 6386 §9.1 key frame bit)',
          run() {
            const key = vp8KeyFrame(100)
            const delta = vp8DeltaFrame(100)
            check(isVp8KeyFrame(key), 'key frame bit 0 = 0')
            check(!isVp8KeyFrame(delta), 'interframe bit 0 = 1')
            checkEqual(clearByteCount('vp8', key), VP8_KEY_FRAME_CLEAR_BYTES, 'key frame')
            checkEqual(clearByteCount('vp8', delta), VP8_DELTA_FRAME_CLEAR_BYTES, 'delta frame')
            checkEqual(VP8_KEY_FRAME_CLEAR_BYTES, 10, 'DESIGN §8: 10 bytes')
            checkEqual(VP8_DELTA_FRAME_CLEAR_BYTES, 3, 'DESIGN §8: 3 bytes')
            checkEqual(
              clearByteCount('vp8', key.subarray(0, 9)),
              undefined,
              'a key frame cut inside its header',
            )
            checkEqual(
              clearByteCount('vp8', delta.subarray(0, 2)),
              undefined,
              'a delta frame cut inside its tag',
            )
          },
        },
        {
          name: 'VP9 and Opus: 1 clear byte',
          run() {
            checkEqual(clearByteCount('vp9', new Uint8Array([0x82, 0x49, 0x83])), VP9_CLEAR_BYTES, 'vp9')
            checkEqual(clearByteCount('opus', new Uint8Array([0xfc, 0xff, 0xfe])), OPUS_CLEAR_BYTES, 'opus')
            checkEqual(clearByteCount('opus', new Uint8Array([0xf8])), 1, 'a TOC-only Opus frame (DTX)')
            checkEqual(clearByteCount('opus', new Uint8Array(0)), undefined, 'an empty frame')
          },
        },
        {
          name: 'codec from the frame metadata MIME type',
          run() {
            checkEqual(codecFromMimeType('video/VP8', 'video'), 'vp8', 'VP8')
            checkEqual(codecFromMimeType('video/vp9', 'video'), 'vp9', 'VP9')
            checkEqual(codecFromMimeType('audio/opus', 'audio'), 'opus', 'Opus')
            checkEqual(codecFromMimeType(undefined, 'audio'), 'opus', 'audio without a MIME type')
            checkEqual(codecFromMimeType('video/H264', 'video'), undefined, 'H.264 is not protected here')
            checkEqual(codecFromMimeType('video/AV1', 'video'), undefined, 'AV1 is not protected here')
          },
        },
        {
          name: 'a protected frame keeps its clear bytes in front and authenticates them',
          async run() {
            const { alice, bob } = await keyringPair()
            for (const [codec, frame] of [
              ['vp8', vp8KeyFrame(1200)],
              ['vp8', vp8DeltaFrame(1200)],
              ['opus', new Uint8Array([0xfc, ...new Uint8Array(159).fill(3)])],
              ['vp9', new Uint8Array([0x82, ...new Uint8Array(500).fill(9)])],
            ] as const) {
              const clearCount = clearByteCount(codec, frame) ?? -1
              const sealed = await protectMediaFrame(alice, codec, frame)
              checkBytes(
                sealed.subarray(0, clearCount),
                frame.subarray(0, clearCount),
                `${codec}: clear bytes first`,
              )
              const header = decodeSFrameHeader(sealed.subarray(clearCount))
              checkEqual(header.kid, alice.sendKid, `${codec}: SFrame header after the clear bytes`)
              checkEqual(
                sealed.length,
                frame.length + header.length + 16,
                `${codec}: header and 16-byte tag added`,
              )
              const rest = sealed.subarray(clearCount + header.length, clearCount + header.length + 32)
              check(
                rest.some((b, i) => b !== frame[clearCount + i]),
                `${codec}: the payload is not in the clear`,
              )
              const opened = await unprotectMediaFrame(bob, codec, sealed)
              check(opened.kind === 'plaintext', `${codec}: decrypts`)
              checkBytes(opened.frame, frame, `${codec}: the original frame comes back`)
              const again = await unprotectMediaFrame(bob, codec, sealed)
              check(again.kind === 'replay', `${codec}: a duplicate is a replay`)
              // A fresh frame (a seen counter would be dropped as a replay before any check).
              const changed = await protectMediaFrame(alice, codec, frame)
              changed[clearCount - 1]! ^= 0x10 // a clear byte that does not change the clear length
              await checkRejects(
                () => unprotectMediaFrame(bob, codec, changed),
                (error) => CallsError.is(error, 'auth-failed'),
                `${codec}: a changed clear byte fails`,
              )
            }
          },
        },
        {
          name: 'turning a VP8 delta frame into a key frame in the clear makes it fail',
          async run() {
            const { alice, bob } = await keyringPair()
            const sealed = await protectMediaFrame(alice, 'vp8', vp8DeltaFrame(300))
            const flipped = Uint8Array.from(sealed)
            flipped[0]! &= 0xfe
            await checkRejects(
              () => unprotectMediaFrame(bob, 'vp8', flipped),
              (error) => CallsError.is(error),
              'flipped key frame bit',
            )
            await checkRejects(
              () => protectMediaFrame(alice, 'opus', new Uint8Array(0)),
              (error) => CallsError.is(error, 'unsupported-codec'),
              'an empty frame is not sent',
            )
          },
        },
      ],
    },
  ]
}
