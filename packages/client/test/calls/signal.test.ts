/**
 * The call signalling codec (packages/client/src/calls/signal.ts): every kind round-trips; every
 * strict prefix is refused as truncated; oversize fields and signals, unknown versions, kinds,
 * reasons and hash algorithms, trailing bytes and bad UTF-8 are refused with their stable codes.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import {
  type CallSignal,
  CallSignalError,
  type CallSignalErrorCode,
  decodeCallSignal,
  encodeCallSignal,
  fingerprintFromText,
  fingerprintsInSdp,
  fingerprintToText,
  MAX_CANDIDATE_BYTES,
  MAX_SDP_BYTES,
  MAX_SFU_PARTICIPANT_BYTES,
  MAX_SIGNAL_BYTES,
  newCallId,
  sameFingerprint,
} from '../../src/calls/signal.ts'

const callId = newCallId((n) => new Uint8Array(randomBytes(n)))
const fingerprint = { algorithm: 'sha-256' as const, value: new Uint8Array(randomBytes(32)) }
const sdp = [
  'v=0',
  'o=- 1 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  `a=fingerprint:sha-256 ${fingerprintToText(fingerprint)}`,
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'a=rtpmap:111 opus/48000/2 — é',
  '',
].join('\r\n')

const SAMPLES: CallSignal[] = [
  { kind: 'invite', callId, to: null, media: { audio: true, video: true } },
  { kind: 'invite', callId, to: null, media: { audio: true, video: false } },
  { kind: 'accept', callId, to: 'bXktZGV2aWNl', media: { audio: true, video: true } },
  { kind: 'offer', callId, to: 'bXktZGV2aWNl', sdp, fingerprint },
  {
    kind: 'answer',
    callId,
    to: 'b3RoZXI',
    sdp,
    fingerprint: { algorithm: 'sha-512', value: new Uint8Array(randomBytes(64)) },
  },
  {
    kind: 'candidate',
    callId,
    to: 'b3RoZXI',
    candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 54321 typ host generation 0',
    sdpMid: '0',
    sdpMLineIndex: 0,
    usernameFragment: 'abcd',
  },
  {
    kind: 'candidate',
    callId,
    to: null,
    candidate: '',
    sdpMid: null,
    sdpMLineIndex: null,
    usernameFragment: null,
  },
  { kind: 'end', callId, to: null, reason: 'hangup' },
  { kind: 'end', callId, to: null, reason: 'fingerprint-mismatch' },
  { kind: 'end', callId, to: null, reason: 'busy' },
  {
    kind: 'group-join',
    callId,
    to: null,
    media: { audio: true, video: true },
    sfuParticipant: 'p'.repeat(22),
  },
  { kind: 'group-join', callId, to: null, media: { audio: true, video: false }, sfuParticipant: 'x' },
  { kind: 'group-leave', callId, to: null },
]

function refused(bytes: Uint8Array, code: CallSignalErrorCode): void {
  assert.throws(
    () => decodeCallSignal(bytes),
    (e: unknown) => CallSignalError.is(e, code),
    `expected ${code}`,
  )
}

describe('call signal codec', () => {
  it('round-trips every kind', () => {
    for (const s of SAMPLES) {
      const bytes = encodeCallSignal(s)
      assert.ok(bytes.length <= MAX_SIGNAL_BYTES)
      assert.deepEqual(decodeCallSignal(bytes), s)
      // Deterministic: the same signal encodes to the same bytes.
      assert.deepEqual(encodeCallSignal(decodeCallSignal(bytes)), bytes)
    }
  })

  it('refuses every strict prefix as truncated', () => {
    for (const s of SAMPLES) {
      const bytes = encodeCallSignal(s)
      for (let n = 0; n < bytes.length; n++) refused(bytes.subarray(0, n), 'truncated')
    }
  })

  it('refuses trailing bytes', () => {
    for (const s of SAMPLES) {
      const bytes = encodeCallSignal(s)
      refused(Uint8Array.of(...bytes, 0), 'malformed')
    }
  })

  it('refuses an unknown version, kind, reason, media set and hash algorithm', () => {
    const invite = encodeCallSignal(SAMPLES[0]!)
    for (const v of [0, 2, 255]) refused(Uint8Array.of(v, ...invite.subarray(1)), 'unknown-version')
    for (const k of [0, 7, 255]) refused(Uint8Array.of(1, k, ...invite.subarray(2)), 'unknown-kind')
    const media = invite.slice()
    media[media.length - 1] = 0
    refused(media, 'unknown-kind')
    media[media.length - 1] = 4
    refused(media, 'unknown-kind')
    const end = encodeCallSignal(SAMPLES[7]!)
    end[end.length - 1] = 99
    refused(end, 'unknown-kind')
    const offer = encodeCallSignal(SAMPLES[3]!)
    // The hash code sits just before the 1-byte fingerprint length and the 32 fingerprint bytes.
    const hashAt = offer.length - 1 - 1 - 32
    assert.equal(offer[hashAt], 1)
    offer[hashAt] = 9
    refused(offer, 'unknown-kind')
    // A known algorithm whose digest length does not match the bytes carried.
    offer[hashAt] = 2
    refused(offer, 'malformed')
  })

  it('refuses oversize fields and signals, on encode and decode', () => {
    const big = 'a'.repeat(MAX_SDP_BYTES + 1)
    assert.throws(
      () => encodeCallSignal({ kind: 'offer', callId, to: null, sdp: big, fingerprint }),
      (e: unknown) => CallSignalError.is(e, 'too-large'),
    )
    assert.throws(
      () =>
        encodeCallSignal({
          kind: 'candidate',
          callId,
          to: null,
          candidate: 'c'.repeat(MAX_CANDIDATE_BYTES + 1),
          sdpMid: null,
          sdpMLineIndex: null,
          usernameFragment: null,
        }),
      (e: unknown) => CallSignalError.is(e, 'too-large'),
    )
    // A hand-made SDP length field above MAX_SDP_BYTES (with the bytes present).
    const head = encodeCallSignal(SAMPLES[3]!).subarray(0, 2 + 16 + 1 + 'bXktZGV2aWNl'.length)
    const n = MAX_SDP_BYTES + 1
    const forged = Uint8Array.of(...head, n >> 8, n & 0xff, ...new Uint8Array(n).fill(0x61), 1, 32)
    refused(forged, 'too-large')
    refused(new Uint8Array(MAX_SIGNAL_BYTES + 1), 'too-large')
  })

  it('a group join carries an SFU participant id of 1 to MAX_SFU_PARTICIPANT_BYTES bytes', () => {
    const join = (sfuParticipant: string): CallSignal => ({
      kind: 'group-join',
      callId,
      to: null,
      media: { audio: true, video: true },
      sfuParticipant,
    })
    const longest = 'q'.repeat(MAX_SFU_PARTICIPANT_BYTES)
    assert.deepEqual(decodeCallSignal(encodeCallSignal(join(longest))), join(longest))
    for (const [id, code] of [
      ['', 'usage'],
      [`${longest}q`, 'too-large'],
    ] as const) {
      assert.throws(
        () => encodeCallSignal(join(id)),
        (e: unknown) => CallSignalError.is(e, code),
        `encoding ${id.length} bytes`,
      )
    }
    // On the wire the id is the last field: a length byte, then its bytes.
    const one = encodeCallSignal(join('x'))
    assert.deepEqual([...one.subarray(-2)], [1, 0x78])
    refused(Uint8Array.of(...one.subarray(0, -2), 0), 'malformed')
    const n = MAX_SFU_PARTICIPANT_BYTES + 1
    refused(Uint8Array.of(...one.subarray(0, -2), n, ...new Uint8Array(n).fill(0x71)), 'too-large')
  })

  it('refuses invalid UTF-8 and an empty SDP', () => {
    const cand = encodeCallSignal({
      kind: 'candidate',
      callId,
      to: null,
      candidate: 'xy',
      sdpMid: null,
      sdpMLineIndex: null,
      usernameFragment: null,
    })
    // version, kind, id, to (empty) , candidate length (2) then 'x','y'
    const at = 2 + 16 + 1 + 2
    assert.equal(cand[at], 0x78)
    cand[at] = 0xff
    refused(cand, 'malformed')
    const offer = encodeCallSignal(SAMPLES[3]!)
    const empty = Uint8Array.of(...offer.subarray(0, 2 + 16 + 1 + 12), 0, 0, 1, 32, ...fingerprint.value)
    refused(empty, 'malformed')
  })

  it('refuses values it cannot encode', () => {
    const bad = [
      { kind: 'invite', callId: 'nothex', to: null, media: { audio: true, video: false } },
      { kind: 'invite', callId, to: null, media: { audio: false, video: false } },
      {
        kind: 'offer',
        callId,
        to: null,
        sdp,
        fingerprint: { algorithm: 'sha-256', value: new Uint8Array(31) },
      },
      { kind: 'end', callId, to: null, reason: 'bored' },
      { kind: 'ring', callId, to: null },
    ]
    for (const s of bad) {
      assert.throws(
        () => encodeCallSignal(s as unknown as CallSignal),
        (e: unknown) => CallSignalError.is(e, 'usage'),
      )
    }
  })

  it('reads and compares SDP and stats fingerprints', () => {
    const [found] = fingerprintsInSdp(sdp)
    assert.ok(found)
    assert.ok(sameFingerprint(found, fingerprint))
    const text = fingerprintToText(fingerprint)
    assert.ok(sameFingerprint(fingerprintFromText('SHA-256', text.toLowerCase()), fingerprint))
    const other = { ...fingerprint, value: fingerprint.value.slice() }
    other.value[31]! ^= 1
    assert.equal(sameFingerprint(other, fingerprint), false)
    assert.throws(
      () => fingerprintFromText('sha-256', 'AB:CD'),
      (e: unknown) => CallSignalError.is(e, 'malformed'),
    )
    assert.throws(
      () => fingerprintFromText('md5', text),
      (e: unknown) => CallSignalError.is(e, 'unknown-kind'),
    )
  })
})
