/**
 * Call signalling messages (docs/protocol/calls-signalling.md). Each one travels as the body of a
 * `call` content (packages/protocol/src/content.ts) in an MLS application message of the
 * conversation, so it is encrypted to the group and authenticated by the sender's MLS signature
 * (RFC 9420 §6.1): the server relays signals it can neither read nor forge.
 *
 *   struct {
 *     uint8  version = 1;
 *     uint8  kind;                  // SignalKind below
 *     opaque call_id[16];           // random, chosen by the caller
 *     opaque to<0..64>;             // member id of the one device this is for; empty: everyone
 *     select (kind) {
 *       case invite, accept: uint8 media;              // bit 0 audio, bit 1 video
 *       case offer, answer:  opaque sdp<1..2^16-1>;    // at most MAX_SDP_BYTES
 *                            uint8 fingerprint_hash;   // 1 sha-256, 2 sha-384, 3 sha-512
 *                            opaque fingerprint<1..64>;// the sender's DTLS certificate digest
 *       case candidate:      opaque candidate<0..1024>;// empty: end of candidates
 *                            opaque sdp_mid<0..64>;
 *                            uint16 m_line_index;      // 0xffff: none
 *                            opaque ufrag<0..256>;
 *       case end:            uint8 reason;             // EndReason below
 *       case group_join:     uint8 media;              // kind 0x10: in a group call (sfu.md)
 *                            opaque sfu_participant<1..32>; // our participant id in the SFU room
 *       case group_leave:    struct {};                // kind 0x11: left it
 *     };
 *   } CallSignal;
 *
 * The DTLS fingerprint is carried in its own field, next to the SDP, so the receiving side can
 * compare it with the certificate the peer actually presents on the connection (RFC 8122 §5,
 * RFC 8827 §6.5): a man in the middle of the signalling would have to forge the MLS signature.
 *
 * Decoding is strict: unknown versions, kinds, reasons or hash algorithms, a length that does not
 * fit the hash, invalid UTF-8, trailing bytes and anything above a limit throw a `CallSignalError`
 * with a stable code, and nothing is half-decoded.
 */

export const CALL_SIGNAL_VERSION = 1
export const CALL_ID_BYTES = 16
/** Largest encoded signal: an SDP offer with audio and video, its fingerprint and framing. */
export const MAX_SIGNAL_BYTES = 20 * 1024
export const MAX_SDP_BYTES = 16 * 1024
export const MAX_CANDIDATE_BYTES = 1024
export const MAX_SDP_MID_BYTES = 64
export const MAX_UFRAG_BYTES = 256
export const MAX_MEMBER_ID_BYTES = 64
/** The SFU's participant ids are 16 random bytes in base64url (22 characters). */
export const MAX_SFU_PARTICIPANT_BYTES = 32
const NO_M_LINE = 0xffff

export type CallSignalErrorCode =
  | 'truncated' // the bytes end inside a field
  | 'too-large' // the signal or one of its fields is above its MAX_*
  | 'unknown-version' // not version 1
  | 'unknown-kind' // a kind, reason, media set or hash algorithm this version does not define
  | 'malformed' // trailing bytes, invalid UTF-8, a fingerprint of the wrong length, a bad call id
  | 'usage' // the caller passed a value that cannot be encoded

export class CallSignalError extends Error {
  override readonly name = 'CallSignalError'
  constructor(
    readonly code: CallSignalErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`)
  }

  static is(error: unknown, code?: CallSignalErrorCode): error is CallSignalError {
    return error instanceof CallSignalError && (code === undefined || error.code === code)
  }
}

export interface CallMedia {
  readonly audio: boolean
  readonly video: boolean
}

/** `sha-256` etc., as in SDP `a=fingerprint` (RFC 8122 §5) and WebRTC stats. */
export type FingerprintAlgorithm = 'sha-256' | 'sha-384' | 'sha-512'

export interface DtlsFingerprint {
  readonly algorithm: FingerprintAlgorithm
  /** The digest of the DER certificate. */
  readonly value: Uint8Array
}

export type EndReason =
  | 'hangup' // the call ended normally
  | 'decline' // the callee said no
  | 'busy' // the callee is in another call
  | 'unanswered' // the caller gave up ringing
  | 'fingerprint-mismatch' // the connection's certificate is not the one signed in the signalling
  | 'failed' // the connection could not be made or was lost
  | 'answered-elsewhere' // another device of the callee took the call

export type CallSignalBody =
  | { readonly kind: 'invite'; readonly media: CallMedia }
  | { readonly kind: 'accept'; readonly media: CallMedia }
  | { readonly kind: 'offer'; readonly sdp: string; readonly fingerprint: DtlsFingerprint }
  | { readonly kind: 'answer'; readonly sdp: string; readonly fingerprint: DtlsFingerprint }
  | {
      readonly kind: 'candidate'
      /** Empty: the sender has no more candidates (end-of-candidates). */
      readonly candidate: string
      readonly sdpMid: string | null
      readonly sdpMLineIndex: number | null
      readonly usernameFragment: string | null
    }
  | { readonly kind: 'end'; readonly reason: EndReason }
  /** Group calls (docs/protocol/sfu.md §Group calls): "I am in this call" / "I left it". */
  | {
      readonly kind: 'group-join'
      readonly media: CallMedia
      /**
       * The sender's participant id in the SFU room: lets the others match the SFU's participant
       * list to call members, so a member the SFU dropped (a crash) leaves their call too.
       */
      readonly sfuParticipant: string
    }
  | { readonly kind: 'group-leave' }

export type CallSignal = CallSignalBody & {
  /** 32 lowercase hex digits. */
  readonly callId: string
  /** The member id (device) this signal is for; null: every member of the conversation. */
  readonly to: string | null
}

export type SignalKind = CallSignal['kind']

const KIND_CODES = {
  invite: 1,
  accept: 2,
  offer: 3,
  answer: 4,
  candidate: 5,
  end: 6,
  // Group calls: their own range, so a 1:1 client never mistakes them for a ring.
  'group-join': 0x10,
  'group-leave': 0x11,
} as const satisfies Record<SignalKind, number>
const KIND_NAMES = new Map<number, SignalKind>(
  Object.entries(KIND_CODES).map(([k, v]) => [v, k as SignalKind]),
)

const REASON_CODES = {
  hangup: 1,
  decline: 2,
  busy: 3,
  unanswered: 4,
  'fingerprint-mismatch': 5,
  failed: 6,
  'answered-elsewhere': 7,
} as const satisfies Record<EndReason, number>
const REASON_NAMES = new Map<number, EndReason>(
  Object.entries(REASON_CODES).map(([k, v]) => [v, k as EndReason]),
)

const HASHES = {
  'sha-256': { code: 1, bytes: 32 },
  'sha-384': { code: 2, bytes: 48 },
  'sha-512': { code: 3, bytes: 64 },
} as const satisfies Record<FingerprintAlgorithm, { code: number; bytes: number }>
const HASH_NAMES = new Map<number, FingerprintAlgorithm>(
  Object.entries(HASHES).map(([k, v]) => [v.code, k as FingerprintAlgorithm]),
)

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

// ---------------------------------------------------------------------------------------------
// Encoding

class Out {
  private readonly parts: number[] = []
  u8(v: number): this {
    this.parts.push(v & 0xff)
    return this
  }
  u16(v: number): this {
    return this.u8(v >>> 8).u8(v)
  }
  bytes(b: Uint8Array): this {
    for (const x of b) this.parts.push(x)
    return this
  }
  vec8(b: Uint8Array): this {
    return this.u8(b.length).bytes(b)
  }
  vec16(b: Uint8Array): this {
    return this.u16(b.length).bytes(b)
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.parts)
  }
}

function text(value: string, max: number, field: string): Uint8Array {
  if (typeof value !== 'string') throw new CallSignalError('usage', `${field} must be a string`)
  const bytes = encoder.encode(value)
  if (bytes.length > max) throw new CallSignalError('too-large', `${field} above ${max} bytes`)
  return bytes
}

function mediaByte(media: CallMedia): number {
  if (!media.audio && !media.video) throw new CallSignalError('usage', 'a call has audio, video or both')
  return (media.audio ? 1 : 0) | (media.video ? 2 : 0)
}

function callIdBytes(callId: string): Uint8Array {
  if (typeof callId !== 'string' || !/^[0-9a-f]{32}$/.test(callId)) {
    throw new CallSignalError('usage', 'a call id is 32 lowercase hex digits')
  }
  const out = new Uint8Array(CALL_ID_BYTES)
  for (let i = 0; i < CALL_ID_BYTES; i++) out[i] = Number.parseInt(callId.slice(2 * i, 2 * i + 2), 16)
  return out
}

export function encodeCallSignal(signal: CallSignal): Uint8Array {
  const out = new Out().u8(CALL_SIGNAL_VERSION)
  const code = KIND_CODES[signal.kind]
  if (code === undefined) throw new CallSignalError('usage', 'unknown signal kind')
  out.u8(code).bytes(callIdBytes(signal.callId))
  out.vec8(text(signal.to ?? '', MAX_MEMBER_ID_BYTES, 'to'))
  switch (signal.kind) {
    case 'invite':
    case 'accept':
      out.u8(mediaByte(signal.media))
      break
    case 'group-join': {
      const participant = text(signal.sfuParticipant, MAX_SFU_PARTICIPANT_BYTES, 'sfuParticipant')
      if (participant.length === 0) throw new CallSignalError('usage', 'an empty SFU participant id')
      out.u8(mediaByte(signal.media)).vec8(participant)
      break
    }
    case 'group-leave':
      break
    case 'offer':
    case 'answer': {
      const sdp = text(signal.sdp, MAX_SDP_BYTES, 'sdp')
      if (sdp.length === 0) throw new CallSignalError('usage', 'an empty SDP')
      const hash = HASHES[signal.fingerprint.algorithm]
      if (hash === undefined) throw new CallSignalError('usage', 'unknown fingerprint algorithm')
      if (signal.fingerprint.value.length !== hash.bytes) {
        throw new CallSignalError(
          'usage',
          `a ${signal.fingerprint.algorithm} fingerprint is ${hash.bytes} bytes`,
        )
      }
      out.vec16(sdp).u8(hash.code).vec8(signal.fingerprint.value)
      break
    }
    case 'candidate': {
      const index = signal.sdpMLineIndex
      if (index !== null && (!Number.isInteger(index) || index < 0 || index >= NO_M_LINE)) {
        throw new CallSignalError('usage', 'sdpMLineIndex out of range')
      }
      out
        .vec16(text(signal.candidate, MAX_CANDIDATE_BYTES, 'candidate'))
        .vec8(text(signal.sdpMid ?? '', MAX_SDP_MID_BYTES, 'sdpMid'))
        .u16(index ?? NO_M_LINE)
        .vec16(text(signal.usernameFragment ?? '', MAX_UFRAG_BYTES, 'usernameFragment'))
      break
    }
    case 'end': {
      const reason = REASON_CODES[signal.reason]
      if (reason === undefined) throw new CallSignalError('usage', 'unknown end reason')
      out.u8(reason)
      break
    }
  }
  const bytes = out.finish()
  if (bytes.length > MAX_SIGNAL_BYTES) throw new CallSignalError('too-large', 'signal above MAX_SIGNAL_BYTES')
  return bytes
}

// ---------------------------------------------------------------------------------------------
// Decoding

class In {
  private offset = 0
  constructor(private readonly bytes: Uint8Array) {}
  private take(n: number): Uint8Array {
    if (this.offset + n > this.bytes.length) throw new CallSignalError('truncated', 'the signal is truncated')
    const out = this.bytes.subarray(this.offset, this.offset + n)
    this.offset += n
    return out
  }
  fixed(n: number): Uint8Array {
    return this.take(n)
  }
  u8(): number {
    return this.take(1)[0]!
  }
  u16(): number {
    const b = this.take(2)
    return (b[0]! << 8) | b[1]!
  }
  vec8(max: number, field: string): Uint8Array {
    const n = this.u8()
    if (n > max) throw new CallSignalError('too-large', `${field} above ${max} bytes`)
    return this.take(n)
  }
  vec16(max: number, field: string): Uint8Array {
    const n = this.u16()
    if (n > max) throw new CallSignalError('too-large', `${field} above ${max} bytes`)
    return this.take(n)
  }
  end(): void {
    if (this.offset !== this.bytes.length) throw new CallSignalError('malformed', 'trailing bytes')
  }
}

function utf8(bytes: Uint8Array, field: string): string {
  try {
    return decoder.decode(bytes)
  } catch {
    throw new CallSignalError('malformed', `${field} is not UTF-8`)
  }
}

function mediaOf(byte: number): CallMedia {
  if (byte === 0 || byte > 3) throw new CallSignalError('unknown-kind', 'unknown media set')
  return { audio: (byte & 1) !== 0, video: (byte & 2) !== 0 }
}

function hex(bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += b.toString(16).padStart(2, '0')
  return s
}

export function decodeCallSignal(bytes: Uint8Array): CallSignal {
  if (!(bytes instanceof Uint8Array)) throw new CallSignalError('usage', 'a signal is bytes')
  if (bytes.length > MAX_SIGNAL_BYTES) throw new CallSignalError('too-large', 'signal above MAX_SIGNAL_BYTES')
  const r = new In(bytes)
  const version = r.u8()
  if (version !== CALL_SIGNAL_VERSION) throw new CallSignalError('unknown-version', `version ${version}`)
  const kind = KIND_NAMES.get(r.u8())
  if (kind === undefined) throw new CallSignalError('unknown-kind', 'unknown signal kind')
  const callId = hex(r.fixed(CALL_ID_BYTES))
  const toText = utf8(r.vec8(MAX_MEMBER_ID_BYTES, 'to'), 'to')
  const head = { callId, to: toText === '' ? null : toText }
  let signal: CallSignal
  switch (kind) {
    case 'invite':
    case 'accept':
      signal = { ...head, kind, media: mediaOf(r.u8()) }
      break
    case 'group-join': {
      const media = mediaOf(r.u8())
      const sfuParticipant = utf8(r.vec8(MAX_SFU_PARTICIPANT_BYTES, 'sfuParticipant'), 'sfuParticipant')
      if (sfuParticipant === '') throw new CallSignalError('malformed', 'an empty SFU participant id')
      signal = { ...head, kind, media, sfuParticipant }
      break
    }
    case 'group-leave':
      signal = { ...head, kind }
      break
    case 'offer':
    case 'answer': {
      const sdp = utf8(r.vec16(MAX_SDP_BYTES, 'sdp'), 'sdp')
      if (sdp === '') throw new CallSignalError('malformed', 'an empty SDP')
      const algorithm = HASH_NAMES.get(r.u8())
      if (algorithm === undefined) throw new CallSignalError('unknown-kind', 'unknown fingerprint algorithm')
      const value = r.vec8(64, 'fingerprint').slice()
      if (value.length !== HASHES[algorithm].bytes) {
        throw new CallSignalError('malformed', `a ${algorithm} fingerprint of ${value.length} bytes`)
      }
      signal = { ...head, kind, sdp, fingerprint: { algorithm, value } }
      break
    }
    case 'candidate': {
      const candidate = utf8(r.vec16(MAX_CANDIDATE_BYTES, 'candidate'), 'candidate')
      const mid = utf8(r.vec8(MAX_SDP_MID_BYTES, 'sdpMid'), 'sdpMid')
      const index = r.u16()
      const ufrag = utf8(r.vec16(MAX_UFRAG_BYTES, 'usernameFragment'), 'usernameFragment')
      signal = {
        ...head,
        kind,
        candidate,
        sdpMid: mid === '' ? null : mid,
        sdpMLineIndex: index === NO_M_LINE ? null : index,
        usernameFragment: ufrag === '' ? null : ufrag,
      }
      break
    }
    case 'end': {
      const reason = REASON_NAMES.get(r.u8())
      if (reason === undefined) throw new CallSignalError('unknown-kind', 'unknown end reason')
      signal = { ...head, kind, reason }
      break
    }
  }
  r.end()
  return signal
}

// ---------------------------------------------------------------------------------------------
// DTLS fingerprints in their SDP and WebRTC-stats spelling ("AB:CD:…", RFC 8122 §5)

export function fingerprintFromText(algorithm: string, value: string): DtlsFingerprint {
  const name = algorithm.toLowerCase()
  const hash = HASHES[name as FingerprintAlgorithm]
  if (hash === undefined) throw new CallSignalError('unknown-kind', 'unknown fingerprint algorithm')
  if (!/^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2})*$/.test(value)) {
    throw new CallSignalError('malformed', 'a fingerprint is colon-separated hex bytes')
  }
  const bytes = Uint8Array.from(value.split(':').map((b) => Number.parseInt(b, 16)))
  if (bytes.length !== hash.bytes)
    throw new CallSignalError('malformed', `a ${name} fingerprint of ${bytes.length} bytes`)
  return { algorithm: name as FingerprintAlgorithm, value: bytes }
}

export function fingerprintToText(f: DtlsFingerprint): string {
  return [...f.value].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':')
}

/** Constant-time over the digest (it is public, but the habit costs nothing). */
export function sameFingerprint(a: DtlsFingerprint, b: DtlsFingerprint): boolean {
  if (a.algorithm !== b.algorithm || a.value.length !== b.value.length) return false
  let diff = 0
  for (let i = 0; i < a.value.length; i++) diff |= a.value[i]! ^ b.value[i]!
  return diff === 0
}

/** The `a=fingerprint` lines of an SDP (session or media level), in order. */
export function fingerprintsInSdp(sdp: string): DtlsFingerprint[] {
  const out: DtlsFingerprint[] = []
  for (const line of sdp.split(/\r?\n/)) {
    const m = /^a=fingerprint:(\S+) (\S+)$/.exec(line.trim())
    if (m) out.push(fingerprintFromText(m[1]!, m[2]!))
  }
  return out
}

export function newCallId(randomBytes: (n: number) => Uint8Array): string {
  return hex(randomBytes(CALL_ID_BYTES))
}
