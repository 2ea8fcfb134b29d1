/**
 * The SFU's signalling messages (docs/protocol/sfu.md §Messages): JSON text frames on `/v1/sfu`.
 * The SFU always makes the offers (it adds and removes m-lines as people come and go), the client
 * answers; so there is never glare. Parsing is strict: unknown types, unknown or missing fields,
 * wrong types and oversized values are refused with `bad-message` and change nothing.
 */
import { SfuError } from './errors.ts'
import { MAX_CANDIDATE_CHARS, MAX_MESSAGE_BYTES, MAX_SDP_CHARS, ROOM_ID_CHARS } from './limits.ts'

export type ClientMessage =
  | { readonly type: 'auth'; readonly token: string }
  | { readonly type: 'join'; readonly room: string }
  | { readonly type: 'answer'; readonly sdp: string }
  | {
      readonly type: 'candidate'
      readonly candidate: string
      readonly sdpMid: string | null
      readonly sdpMLineIndex: number | null
    }
  | { readonly type: 'leave' }

/** One forwarded track in an offer: which m-line carries whose audio or video. */
export interface ForwardedTrack {
  readonly mid: string
  readonly participant: string
  readonly kind: 'audio' | 'video'
}

export type ServerMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'joined'; readonly participant: string; readonly participants: readonly string[] }
  | {
      readonly type: 'offer'
      readonly sdp: string
      /** m-lines the client publishes on (audio, video). */
      readonly publish: { readonly audio: string; readonly video: string }
      /** m-lines that carry other participants' media now; any other m-line is inactive. */
      readonly tracks: readonly ForwardedTrack[]
    }
  | { readonly type: 'participants'; readonly participants: readonly string[] }
  | { readonly type: 'error'; readonly code: string; readonly message: string }

const BASE64URL = /^[A-Za-z0-9_-]+$/
const MID = /^[A-Za-z0-9_-]{1,16}$/

function fail(message: string): never {
  throw new SfuError('bad-message', message)
}

function fields(value: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(value)) if (!allowed.includes(key)) fail(`unknown field ${key}`)
}

function text(value: unknown, name: string, max: number): string {
  if (typeof value !== 'string') fail(`${name} must be a string`)
  if (value.length === 0 || value.length > max) fail(`${name} must be 1 to ${max} characters`)
  return value
}

/** Parses one text frame from a client; throws `SfuError('bad-message')`. */
export function parseClientMessage(data: string): ClientMessage {
  if (data.length > MAX_MESSAGE_BYTES) fail('message too large')
  let value: unknown
  try {
    value = JSON.parse(data)
  } catch {
    fail('message is not JSON')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('message must be an object')
  const m = value as Record<string, unknown>
  switch (m.type) {
    case 'auth':
      fields(m, ['type', 'token'])
      if (!BASE64URL.test(text(m.token, 'token', 128))) fail('token must be base64url')
      return { type: 'auth', token: m.token as string }
    case 'join': {
      fields(m, ['type', 'room'])
      const room = text(m.room, 'room', ROOM_ID_CHARS)
      if (room.length !== ROOM_ID_CHARS || !BASE64URL.test(room)) fail('room must be 16 bytes, base64url')
      return { type: 'join', room }
    }
    case 'answer':
      fields(m, ['type', 'sdp'])
      return { type: 'answer', sdp: text(m.sdp, 'sdp', MAX_SDP_CHARS) }
    case 'candidate': {
      fields(m, ['type', 'candidate', 'sdpMid', 'sdpMLineIndex'])
      // An empty candidate is the end-of-candidates marker (RFC 8838 §4.4).
      if (typeof m.candidate !== 'string' || m.candidate.length > MAX_CANDIDATE_CHARS)
        fail(`candidate must be a string of at most ${MAX_CANDIDATE_CHARS} characters`)
      const sdpMid = m.sdpMid ?? null
      if (sdpMid !== null && (typeof sdpMid !== 'string' || !MID.test(sdpMid))) fail('sdpMid is malformed')
      const index = m.sdpMLineIndex ?? null
      if (index !== null && (!Number.isInteger(index) || (index as number) < 0 || (index as number) > 64))
        fail('sdpMLineIndex is malformed')
      return {
        type: 'candidate',
        candidate: m.candidate,
        sdpMid: sdpMid as string | null,
        sdpMLineIndex: index as number | null,
      }
    }
    case 'leave':
      fields(m, ['type'])
      return { type: 'leave' }
    default:
      return fail('unknown message type')
  }
}
