/**
 * Binary WebSocket frames of the delivery service (`docs/protocol/server.md` §WebSocket).
 *
 * Every frame is one binary WebSocket message: `type:u8 ‖ id:u32 ‖ body`, integers big-endian.
 * `id` is chosen by the client for its requests and echoed in the server's reply (0 in frames
 * the server sends unprompted). Byte strings carry a length prefix (`str8`: u8, `bytes32`: u32).
 * Decoders are strict: a frame must be consumed exactly, every count and size is checked against
 * its MAX_* constant before anything is allocated, and failures are `WireError`s.
 */
import { isId22 } from './encoding.ts'
import { isWireErrorCode, WireError, type WireErrorCode, type WireErrorDetails } from './errors.ts'
import {
  CHALLENGE_BYTES,
  DELIVERY_TOKEN_BYTES,
  DEVICE_ID_LENGTH,
  ED25519_SIGNATURE_BYTES,
  MAX_ACK_SEQS,
  MAX_ENVELOPE_BYTES,
  MAX_ENVELOPE_TTL_SECONDS,
  MAX_ERROR_CODE_LENGTH,
  MAX_ERROR_MESSAGE_BYTES,
  MAX_FRAME_BYTES,
  MAX_GROUP_ID_BYTES,
  MAX_RECIPIENTS,
  SESSION_TOKEN_BYTES,
} from './limits.ts'

/** Frame type codes. Client requests are below 0x80, server frames at or above. */
export const FrameType = {
  auth: 0x01,
  send: 0x02,
  sendSealed: 0x03,
  ack: 0x04,
  commit: 0x05,
  challenge: 0x80,
  authOk: 0x81,
  sendOk: 0x82,
  ackOk: 0x83,
  commitOk: 0x84,
  deliver: 0x85,
  error: 0x86,
} as const

/** Ends an envelope list inside a commit frame: fan-out recipients and the payload. */
export interface Fanout {
  readonly recipients: readonly string[]
  readonly payload: Uint8Array
}

export type ClientFrame =
  | { readonly type: 'auth'; readonly id: number; readonly deviceId: string; readonly signature: Uint8Array }
  | {
      readonly type: 'send'
      readonly id: number
      /** 0 means the server's default time-to-live. */
      readonly ttlSeconds: number
      readonly recipients: readonly string[]
      readonly payload: Uint8Array
    }
  | {
      readonly type: 'send-sealed'
      readonly id: number
      readonly ttlSeconds: number
      readonly tokens: readonly Uint8Array[]
      readonly payload: Uint8Array
    }
  | { readonly type: 'ack'; readonly id: number; readonly seqs: readonly bigint[] }
  | {
      readonly type: 'commit'
      readonly id: number
      readonly groupId: Uint8Array
      readonly epoch: bigint
      readonly ttlSeconds: number
      readonly commit: Fanout
      readonly welcome: Fanout | null
    }

export type ServerFrame =
  | {
      readonly type: 'challenge'
      readonly id: number
      readonly challenge: Uint8Array
      readonly expiresAt: number
    }
  | {
      readonly type: 'auth-ok'
      readonly id: number
      readonly deviceId: string
      readonly sessionToken: Uint8Array
      readonly sessionExpiresAt: number
    }
  | { readonly type: 'send-ok'; readonly id: number }
  | { readonly type: 'ack-ok'; readonly id: number; readonly removed: number }
  | { readonly type: 'commit-ok'; readonly id: number; readonly epoch: bigint }
  | {
      readonly type: 'deliver'
      readonly id: number
      readonly seq: bigint
      readonly receivedAt: number
      readonly payload: Uint8Array
    }
  | {
      readonly type: 'error'
      readonly id: number
      readonly code: WireErrorCode
      readonly message: string
      readonly details: WireErrorDetails
    }

export type Frame = ClientFrame | ServerFrame

const U64_MAX = (1n << 64n) - 1n
const MAX_U32 = 0xffffffff
const ERROR_HAS_EPOCH = 1
const ERROR_HAS_OFFSET = 2
const ERROR_HAS_RETRY = 4
const utf8Encoder = new TextEncoder()
const utf8Decoder = new TextDecoder('utf-8', { fatal: true })

class Reader {
  private readonly view: DataView
  offset = 0
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }
  private need(n: number, field: string): void {
    if (this.offset + n > this.bytes.length) throw new WireError('malformed', `frame ends inside ${field}`)
  }
  u8(field: string): number {
    this.need(1, field)
    return this.view.getUint8(this.offset++)
  }
  u16(field: string): number {
    this.need(2, field)
    const v = this.view.getUint16(this.offset)
    this.offset += 2
    return v
  }
  u32(field: string): number {
    this.need(4, field)
    const v = this.view.getUint32(this.offset)
    this.offset += 4
    return v
  }
  u64(field: string): bigint {
    this.need(8, field)
    const v = this.view.getBigUint64(this.offset)
    this.offset += 8
    return v
  }
  /** A u64 that must fit a JavaScript number (timestamps, offsets). */
  u64Number(field: string): number {
    const v = this.u64(field)
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new WireError('invalid-field', `${field} is out of range`)
    return Number(v)
  }
  fixed(n: number, field: string): Uint8Array {
    this.need(n, field)
    const v = this.bytes.subarray(this.offset, this.offset + n)
    this.offset += n
    return v
  }
  /** ASCII string with a u8 length. */
  ascii8(field: string): string {
    const n = this.u8(field)
    const raw = this.fixed(n, field)
    for (let i = 0; i < raw.length; i++) {
      const c = raw[i]!
      if (c < 0x20 || c > 0x7e) throw new WireError('invalid-field', `${field} must be printable ASCII`)
    }
    // One string from the checked bytes (at most 255), not one per character appended.
    return String.fromCharCode.apply(null, raw as unknown as number[])
  }
  end(): void {
    if (this.offset !== this.bytes.length) throw new WireError('malformed', 'trailing bytes after the frame')
  }
}

class Writer {
  readonly bytes: Uint8Array
  private readonly view: DataView
  private offset = 0
  constructor(size: number) {
    this.bytes = new Uint8Array(size)
    this.view = new DataView(this.bytes.buffer)
  }
  u8(v: number): this {
    this.view.setUint8(this.offset++, v)
    return this
  }
  u16(v: number): this {
    this.view.setUint16(this.offset, v)
    this.offset += 2
    return this
  }
  u32(v: number): this {
    this.view.setUint32(this.offset, v)
    this.offset += 4
    return this
  }
  u64(v: bigint | number): this {
    this.view.setBigUint64(this.offset, BigInt(v))
    this.offset += 8
    return this
  }
  raw(b: Uint8Array): this {
    this.bytes.set(b, this.offset)
    this.offset += b.length
    return this
  }
  ascii8(s: string): this {
    this.u8(s.length)
    for (let i = 0; i < s.length; i++) this.bytes[this.offset++] = s.charCodeAt(i)
    return this
  }
  done(): Uint8Array {
    if (this.offset !== this.bytes.length) throw new WireError('internal', 'frame size miscomputed')
    return this.bytes
  }
}

function checkId(id: number): void {
  if (!Number.isInteger(id) || id < 0 || id > MAX_U32)
    throw new WireError('invalid-field', 'id must be a u32')
}

function checkU64(v: bigint, field: string): void {
  if (v < 0n || v > U64_MAX) throw new WireError('invalid-field', `${field} must be a u64`)
}

function checkTtl(ttlSeconds: number): void {
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 0) {
    throw new WireError('invalid-field', 'ttlSeconds must be a non-negative integer')
  }
  if (ttlSeconds > MAX_ENVELOPE_TTL_SECONDS) {
    throw new WireError(
      'too-large',
      `ttlSeconds is above MAX_ENVELOPE_TTL_SECONDS (${MAX_ENVELOPE_TTL_SECONDS})`,
    )
  }
}

function checkPayload(payload: Uint8Array): void {
  if (payload.length === 0) throw new WireError('invalid-field', 'payload must not be empty')
  if (payload.length > MAX_ENVELOPE_BYTES) {
    throw new WireError('too-large', `payload is above MAX_ENVELOPE_BYTES (${MAX_ENVELOPE_BYTES})`)
  }
}

function checkRecipients(recipients: readonly string[]): void {
  if (recipients.length === 0) throw new WireError('invalid-field', 'recipients must not be empty')
  if (recipients.length > MAX_RECIPIENTS) {
    throw new WireError('too-large', `recipients are above MAX_RECIPIENTS (${MAX_RECIPIENTS})`)
  }
  for (const r of recipients) {
    if (!isId22(r))
      throw new WireError('invalid-field', 'each recipient must be a device id (22 base64url characters)')
  }
  // A single recipient (the usual send) cannot repeat: no set to build.
  if (recipients.length > 1 && new Set(recipients).size !== recipients.length) {
    throw new WireError('invalid-field', 'recipients must not repeat')
  }
}

function readRecipients(r: Reader): string[] {
  const count = r.u16('recipient count')
  if (count === 0) throw new WireError('invalid-field', 'recipients must not be empty')
  if (count > MAX_RECIPIENTS)
    throw new WireError('too-large', `recipients are above MAX_RECIPIENTS (${MAX_RECIPIENTS})`)
  const out: string[] = []
  for (let i = 0; i < count; i++) out.push(r.ascii8('recipient'))
  checkRecipients(out)
  return out
}

function readPayload(r: Reader): Uint8Array {
  const n = r.u32('payload length')
  if (n > MAX_ENVELOPE_BYTES)
    throw new WireError('too-large', `payload is above MAX_ENVELOPE_BYTES (${MAX_ENVELOPE_BYTES})`)
  const payload = r.fixed(n, 'payload')
  checkPayload(payload)
  return payload
}

function readTtl(r: Reader): number {
  const ttl = r.u32('ttlSeconds')
  checkTtl(ttl)
  return ttl
}

function fanoutSize(f: Fanout): number {
  return 2 + f.recipients.length * (1 + DEVICE_ID_LENGTH) + 4 + f.payload.length
}

function writeFanout(w: Writer, f: Fanout): void {
  w.u16(f.recipients.length)
  for (const r of f.recipients) w.ascii8(r)
  w.u32(f.payload.length).raw(f.payload)
}

function checkFanout(f: Fanout): void {
  checkRecipients(f.recipients)
  checkPayload(f.payload)
}

/** Encodes a frame; validates it first, so an encoder never emits what the decoder refuses. */
export function encodeFrame(frame: Frame): Uint8Array {
  checkId(frame.id)
  switch (frame.type) {
    case 'auth':
      if (!isId22(frame.deviceId))
        throw new WireError('invalid-field', 'deviceId must be 22 base64url characters')
      if (frame.signature.length !== ED25519_SIGNATURE_BYTES) {
        throw new WireError('invalid-field', `signature must be ${ED25519_SIGNATURE_BYTES} bytes`)
      }
      return new Writer(5 + 1 + DEVICE_ID_LENGTH + ED25519_SIGNATURE_BYTES)
        .u8(FrameType.auth)
        .u32(frame.id)
        .ascii8(frame.deviceId)
        .raw(frame.signature)
        .done()
    case 'send': {
      checkTtl(frame.ttlSeconds)
      const fanout = { recipients: frame.recipients, payload: frame.payload }
      checkFanout(fanout)
      const w = new Writer(5 + 4 + fanoutSize(fanout)).u8(FrameType.send).u32(frame.id).u32(frame.ttlSeconds)
      writeFanout(w, fanout)
      return w.done()
    }
    case 'send-sealed': {
      checkTtl(frame.ttlSeconds)
      checkPayload(frame.payload)
      checkTokens(frame.tokens)
      const w = new Writer(5 + 4 + 2 + frame.tokens.length * DELIVERY_TOKEN_BYTES + 4 + frame.payload.length)
        .u8(FrameType.sendSealed)
        .u32(frame.id)
        .u32(frame.ttlSeconds)
        .u16(frame.tokens.length)
      for (const t of frame.tokens) w.raw(t)
      return w.u32(frame.payload.length).raw(frame.payload).done()
    }
    case 'ack': {
      checkSeqs(frame.seqs)
      const w = new Writer(5 + 2 + 8 * frame.seqs.length)
        .u8(FrameType.ack)
        .u32(frame.id)
        .u16(frame.seqs.length)
      for (const s of frame.seqs) w.u64(s)
      return w.done()
    }
    case 'commit': {
      checkGroupId(frame.groupId)
      checkU64(frame.epoch, 'epoch')
      checkTtl(frame.ttlSeconds)
      checkFanout(frame.commit)
      if (frame.welcome) checkFanout(frame.welcome)
      const size =
        5 +
        1 +
        frame.groupId.length +
        8 +
        4 +
        fanoutSize(frame.commit) +
        1 +
        (frame.welcome ? fanoutSize(frame.welcome) : 0)
      const w = new Writer(size)
        .u8(FrameType.commit)
        .u32(frame.id)
        .u8(frame.groupId.length)
        .raw(frame.groupId)
        .u64(frame.epoch)
        .u32(frame.ttlSeconds)
      writeFanout(w, frame.commit)
      w.u8(frame.welcome ? 1 : 0)
      if (frame.welcome) writeFanout(w, frame.welcome)
      return w.done()
    }
    case 'challenge':
      if (frame.challenge.length !== CHALLENGE_BYTES) {
        throw new WireError('invalid-field', `challenge must be ${CHALLENGE_BYTES} bytes`)
      }
      return new Writer(5 + CHALLENGE_BYTES + 8)
        .u8(FrameType.challenge)
        .u32(frame.id)
        .raw(frame.challenge)
        .u64(checkTime(frame.expiresAt, 'expiresAt'))
        .done()
    case 'auth-ok':
      if (!isId22(frame.deviceId))
        throw new WireError('invalid-field', 'deviceId must be 22 base64url characters')
      if (frame.sessionToken.length !== SESSION_TOKEN_BYTES) {
        throw new WireError('invalid-field', `sessionToken must be ${SESSION_TOKEN_BYTES} bytes`)
      }
      return new Writer(5 + 1 + DEVICE_ID_LENGTH + SESSION_TOKEN_BYTES + 8)
        .u8(FrameType.authOk)
        .u32(frame.id)
        .ascii8(frame.deviceId)
        .raw(frame.sessionToken)
        .u64(checkTime(frame.sessionExpiresAt, 'sessionExpiresAt'))
        .done()
    case 'send-ok':
      return new Writer(5).u8(FrameType.sendOk).u32(frame.id).done()
    case 'ack-ok':
      if (!Number.isInteger(frame.removed) || frame.removed < 0 || frame.removed > MAX_U32) {
        throw new WireError('invalid-field', 'removed must be a u32')
      }
      return new Writer(9).u8(FrameType.ackOk).u32(frame.id).u32(frame.removed).done()
    case 'commit-ok':
      checkU64(frame.epoch, 'epoch')
      return new Writer(13).u8(FrameType.commitOk).u32(frame.id).u64(frame.epoch).done()
    case 'deliver':
      checkU64(frame.seq, 'seq')
      checkPayload(frame.payload)
      return new Writer(5 + 8 + 8 + 4 + frame.payload.length)
        .u8(FrameType.deliver)
        .u32(frame.id)
        .u64(frame.seq)
        .u64(checkTime(frame.receivedAt, 'receivedAt'))
        .u32(frame.payload.length)
        .raw(frame.payload)
        .done()
    case 'error': {
      const code = frame.code
      const message = utf8Encoder.encode(frame.message)
      if (message.length > MAX_ERROR_MESSAGE_BYTES) {
        throw new WireError(
          'too-large',
          `message is above MAX_ERROR_MESSAGE_BYTES (${MAX_ERROR_MESSAGE_BYTES})`,
        )
      }
      const d = frame.details
      let flags = 0
      let size = 5 + 1 + code.length + 2 + message.length + 1
      if (d.currentEpoch !== undefined) {
        checkU64(d.currentEpoch, 'currentEpoch')
        flags |= ERROR_HAS_EPOCH
        size += 8
      }
      if (d.offset !== undefined) {
        flags |= ERROR_HAS_OFFSET
        size += 8
      }
      if (d.retryAfterSeconds !== undefined) {
        flags |= ERROR_HAS_RETRY
        size += 4
      }
      const w = new Writer(size)
        .u8(FrameType.error)
        .u32(frame.id)
        .ascii8(code)
        .u16(message.length)
        .raw(message)
        .u8(flags)
      if (d.currentEpoch !== undefined) w.u64(d.currentEpoch)
      if (d.offset !== undefined) w.u64(checkTime(d.offset, 'offset'))
      if (d.retryAfterSeconds !== undefined) {
        if (
          !Number.isInteger(d.retryAfterSeconds) ||
          d.retryAfterSeconds < 0 ||
          d.retryAfterSeconds > MAX_U32
        ) {
          throw new WireError('invalid-field', 'retryAfterSeconds must be a u32')
        }
        w.u32(d.retryAfterSeconds)
      }
      return w.done()
    }
  }
}

/**
 * The server frames sent once per envelope or per request on the delivery path. A server that
 * writes many of them per turn encodes them in place (`encodeDeliveryFrameInto`) into one
 * buffer instead of allocating one per frame; the bytes are exactly `encodeFrame`'s.
 */
export type DeliveryFrame = Extract<ServerFrame, { readonly type: 'send-ok' | 'ack-ok' | 'deliver' }>

const SEND_OK_BYTES = 5
const ACK_OK_BYTES = 9
const DELIVER_HEADER_BYTES = 5 + 8 + 8 + 4

/** `encodeFrame(frame).length`, after the same checks `encodeFrame` makes (it throws alike). */
export function deliveryFrameLength(frame: DeliveryFrame): number {
  checkId(frame.id)
  switch (frame.type) {
    case 'send-ok':
      return SEND_OK_BYTES
    case 'ack-ok':
      if (!Number.isInteger(frame.removed) || frame.removed < 0 || frame.removed > MAX_U32) {
        throw new WireError('invalid-field', 'removed must be a u32')
      }
      return ACK_OK_BYTES
    case 'deliver':
      checkU64(frame.seq, 'seq')
      checkPayload(frame.payload)
      checkTime(frame.receivedAt, 'receivedAt')
      return DELIVER_HEADER_BYTES + frame.payload.length
  }
}

/** Writes a u32 big-endian at `at`. */
function putU32(target: Uint8Array, at: number, v: number): void {
  target[at] = v >>> 24
  target[at + 1] = (v >>> 16) & 0xff
  target[at + 2] = (v >>> 8) & 0xff
  target[at + 3] = v & 0xff
}

/** Writes a u64 big-endian at `at`; a safe integer as a number, anything larger as a bigint. */
function putU64(target: Uint8Array, at: number, v: number | bigint): void {
  if (typeof v === 'bigint' && v > BigInt(Number.MAX_SAFE_INTEGER)) {
    putU32(target, at, Number(v >> 32n))
    putU32(target, at + 4, Number(v & 0xffffffffn))
    return
  }
  const n = Number(v)
  putU32(target, at, Math.floor(n / 0x100000000))
  putU32(target, at + 4, n >>> 0)
}

/**
 * Encodes a delivery-path frame into `target` at `offset` — the same checks and the same bytes
 * as `encodeFrame` — and returns the offset just after it. Nothing is written if a check fails.
 */
export function encodeDeliveryFrameInto(frame: DeliveryFrame, target: Uint8Array, offset: number): number {
  const length = deliveryFrameLength(frame)
  if (offset < 0 || offset + length > target.length) {
    throw new WireError('internal', 'frame does not fit the target buffer')
  }
  switch (frame.type) {
    case 'send-ok':
      target[offset] = FrameType.sendOk
      putU32(target, offset + 1, frame.id)
      break
    case 'ack-ok':
      target[offset] = FrameType.ackOk
      putU32(target, offset + 1, frame.id)
      putU32(target, offset + 5, frame.removed)
      break
    case 'deliver':
      target[offset] = FrameType.deliver
      putU32(target, offset + 1, frame.id)
      putU64(target, offset + 5, frame.seq)
      putU64(target, offset + 13, frame.receivedAt)
      putU32(target, offset + 21, frame.payload.length)
      target.set(frame.payload, offset + DELIVER_HEADER_BYTES)
      break
  }
  return offset + length
}

function checkTime(v: number, field: string): number {
  if (!Number.isSafeInteger(v) || v < 0)
    throw new WireError('invalid-field', `${field} must be a non-negative integer`)
  return v
}

function checkTokens(tokens: readonly Uint8Array[]): void {
  if (tokens.length === 0) throw new WireError('invalid-field', 'tokens must not be empty')
  if (tokens.length > MAX_RECIPIENTS)
    throw new WireError('too-large', `tokens are above MAX_RECIPIENTS (${MAX_RECIPIENTS})`)
  for (const t of tokens) {
    if (t.length !== DELIVERY_TOKEN_BYTES)
      throw new WireError('invalid-field', `each token must be ${DELIVERY_TOKEN_BYTES} bytes`)
  }
}

function checkSeqs(seqs: readonly bigint[]): void {
  if (seqs.length === 0) throw new WireError('invalid-field', 'seqs must not be empty')
  if (seqs.length > MAX_ACK_SEQS)
    throw new WireError('too-large', `seqs are above MAX_ACK_SEQS (${MAX_ACK_SEQS})`)
  for (const s of seqs) checkU64(s, 'seq')
}

function checkGroupId(groupId: Uint8Array): void {
  if (groupId.length === 0) throw new WireError('invalid-field', 'groupId must not be empty')
  if (groupId.length > MAX_GROUP_ID_BYTES) {
    throw new WireError('too-large', `groupId is above MAX_GROUP_ID_BYTES (${MAX_GROUP_ID_BYTES})`)
  }
}

function readFanout(r: Reader): Fanout {
  const recipients = readRecipients(r)
  const payload = readPayload(r)
  return { recipients, payload }
}

/** Decodes a frame a client sent. Payloads are views into `bytes` (no copy). */
export function decodeClientFrame(bytes: Uint8Array): ClientFrame {
  checkFrameSize(bytes)
  const r = new Reader(bytes)
  const type = r.u8('type')
  const id = r.u32('id')
  let frame: ClientFrame
  switch (type) {
    case FrameType.auth: {
      const deviceId = r.ascii8('deviceId')
      if (!isId22(deviceId)) throw new WireError('invalid-field', 'deviceId must be 22 base64url characters')
      frame = { type: 'auth', id, deviceId, signature: r.fixed(ED25519_SIGNATURE_BYTES, 'signature') }
      break
    }
    case FrameType.send: {
      const ttlSeconds = readTtl(r)
      const { recipients, payload } = readFanout(r)
      frame = { type: 'send', id, ttlSeconds, recipients, payload }
      break
    }
    case FrameType.sendSealed: {
      const ttlSeconds = readTtl(r)
      const count = r.u16('token count')
      if (count === 0) throw new WireError('invalid-field', 'tokens must not be empty')
      if (count > MAX_RECIPIENTS)
        throw new WireError('too-large', `tokens are above MAX_RECIPIENTS (${MAX_RECIPIENTS})`)
      const tokens: Uint8Array[] = []
      for (let i = 0; i < count; i++) tokens.push(r.fixed(DELIVERY_TOKEN_BYTES, 'token'))
      frame = { type: 'send-sealed', id, ttlSeconds, tokens, payload: readPayload(r) }
      break
    }
    case FrameType.ack: {
      const count = r.u16('seq count')
      if (count === 0) throw new WireError('invalid-field', 'seqs must not be empty')
      if (count > MAX_ACK_SEQS)
        throw new WireError('too-large', `seqs are above MAX_ACK_SEQS (${MAX_ACK_SEQS})`)
      const seqs: bigint[] = []
      for (let i = 0; i < count; i++) seqs.push(r.u64('seq'))
      frame = { type: 'ack', id, seqs }
      break
    }
    case FrameType.commit: {
      const groupIdLength = r.u8('groupId length')
      const groupId = r.fixed(groupIdLength, 'groupId')
      checkGroupId(groupId)
      const epoch = r.u64('epoch')
      const ttlSeconds = readTtl(r)
      const commit = readFanout(r)
      const hasWelcome = r.u8('welcome flag')
      if (hasWelcome > 1) throw new WireError('invalid-field', 'welcome flag must be 0 or 1')
      const welcome = hasWelcome === 1 ? readFanout(r) : null
      frame = { type: 'commit', id, groupId, epoch, ttlSeconds, commit, welcome }
      break
    }
    default:
      throw new WireError('malformed', `unknown client frame type 0x${type.toString(16).padStart(2, '0')}`)
  }
  r.end()
  return frame
}

/** Decodes a frame the server sent. */
export function decodeServerFrame(bytes: Uint8Array): ServerFrame {
  checkFrameSize(bytes)
  const r = new Reader(bytes)
  const type = r.u8('type')
  const id = r.u32('id')
  let frame: ServerFrame
  switch (type) {
    case FrameType.challenge:
      frame = {
        type: 'challenge',
        id,
        challenge: r.fixed(CHALLENGE_BYTES, 'challenge'),
        expiresAt: r.u64Number('expiresAt'),
      }
      break
    case FrameType.authOk: {
      const deviceId = r.ascii8('deviceId')
      if (!isId22(deviceId)) throw new WireError('invalid-field', 'deviceId must be 22 base64url characters')
      frame = {
        type: 'auth-ok',
        id,
        deviceId,
        sessionToken: r.fixed(SESSION_TOKEN_BYTES, 'sessionToken'),
        sessionExpiresAt: r.u64Number('sessionExpiresAt'),
      }
      break
    }
    case FrameType.sendOk:
      frame = { type: 'send-ok', id }
      break
    case FrameType.ackOk:
      frame = { type: 'ack-ok', id, removed: r.u32('removed') }
      break
    case FrameType.commitOk:
      frame = { type: 'commit-ok', id, epoch: r.u64('epoch') }
      break
    case FrameType.deliver: {
      const seq = r.u64('seq')
      const receivedAt = r.u64Number('receivedAt')
      frame = { type: 'deliver', id, seq, receivedAt, payload: readPayload(r) }
      break
    }
    case FrameType.error: {
      const code = r.ascii8('code')
      if (code.length > MAX_ERROR_CODE_LENGTH || !isWireErrorCode(code)) {
        throw new WireError('invalid-field', 'unknown error code')
      }
      const messageLength = r.u16('message length')
      if (messageLength > MAX_ERROR_MESSAGE_BYTES) {
        throw new WireError(
          'too-large',
          `message is above MAX_ERROR_MESSAGE_BYTES (${MAX_ERROR_MESSAGE_BYTES})`,
        )
      }
      let message: string
      try {
        message = utf8Decoder.decode(r.fixed(messageLength, 'message'))
      } catch (cause) {
        if (WireError.is(cause)) throw cause
        throw new WireError('invalid-field', 'message must be UTF-8', {}, { cause })
      }
      const flags = r.u8('flags')
      if (flags & ~(ERROR_HAS_EPOCH | ERROR_HAS_OFFSET | ERROR_HAS_RETRY)) {
        throw new WireError('invalid-field', 'unknown error flags')
      }
      const details: { currentEpoch?: bigint; offset?: number; retryAfterSeconds?: number } = {}
      if (flags & ERROR_HAS_EPOCH) details.currentEpoch = r.u64('currentEpoch')
      if (flags & ERROR_HAS_OFFSET) details.offset = r.u64Number('offset')
      if (flags & ERROR_HAS_RETRY) details.retryAfterSeconds = r.u32('retryAfterSeconds')
      frame = { type: 'error', id, code, message, details }
      break
    }
    default:
      throw new WireError('malformed', `unknown server frame type 0x${type.toString(16).padStart(2, '0')}`)
  }
  r.end()
  return frame
}

function checkFrameSize(bytes: Uint8Array): void {
  if (!(bytes instanceof Uint8Array)) throw new WireError('malformed', 'a frame must be binary')
  if (bytes.length > MAX_FRAME_BYTES)
    throw new WireError('too-large', `frame is above MAX_FRAME_BYTES (${MAX_FRAME_BYTES})`)
}
