/**
 * The content of an MLS application message (DESIGN.md §5): a versioned, typed payload, padded to
 * a size bucket before MLS encrypts it, so the server sees one of a few sizes whatever was said.
 *
 *   struct {
 *     uint8  version = 1;
 *     uint8  type;                 // ContentType below
 *     opaque message_id[16];       // random; de-duplication and the target of edits, reactions…
 *     uint64 sent_at;              // milliseconds since the Unix epoch, sender's clock
 *     opaque body<0..2^32-1>;      // encoded per type
 *     opaque padding[...];         // zero bytes up to the bucket (checked to be zero)
 *   } Content;
 *
 * Every field has a maximum (`MAX_*`); decoding rejects unknown versions and types, trailing
 * non-zero bytes and anything over a limit with a `ProtocolError`.
 */
import { utf8 } from '@tacit/crypto/bytes'
import { Reader, Writer } from './codec.ts'
import { ProtocolError } from './errors.ts'
import { MAX_PLAINTEXT_BYTES } from './limits.ts'

export const CONTENT_VERSION = 1
export const MESSAGE_ID_BYTES = 16
/** Text of one message, in UTF-8 bytes. */
export const MAX_TEXT_BYTES = 64 * 1024
export const MAX_REACTION_BYTES = 64
/** Message ids one receipt may acknowledge. */
export const MAX_RECEIPT_IDS = 256
export const MAX_CONVERSATION_NAME_BYTES = 256
export const MAX_ADMINS = 64
/** Opaque bodies defined by other layers (file descriptors, call signalling, tree heads). */
export const MAX_OPAQUE_BODY_BYTES = 256 * 1024
/** The smallest bucket: every message is at least this long before MLS encryption. */
export const MIN_PADDED_BYTES = 256

export type MessageId = Uint8Array

export type ContentBody =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'edit'; readonly target: MessageId; readonly text: string }
  | { readonly type: 'delete'; readonly target: MessageId }
  | {
      readonly type: 'reaction'
      readonly target: MessageId
      readonly reaction: string
      readonly remove: boolean
    }
  | { readonly type: 'receipt'; readonly kind: 'delivered' | 'read'; readonly targets: readonly MessageId[] }
  | { readonly type: 'typing'; readonly typing: boolean }
  /** A `FileDescriptor` (docs/protocol/files.md): key, digest, size, name, type of one file. */
  | { readonly type: 'file'; readonly descriptor: Uint8Array }
  /** Call signalling (offer, answer, candidates, hang-up), defined with calls. */
  | { readonly type: 'call'; readonly signal: Uint8Array }
  /** Conversation metadata: travels only inside the group, never to the server in the clear. */
  | { readonly type: 'metadata'; readonly name: string; readonly admins: readonly string[] }
  /** Key-transparency tree heads seen by the sender, so peers can compare logs. */
  | { readonly type: 'tree-head'; readonly treeHead: Uint8Array }
  /** A delivery token for sealed sending to the sender's device (DESIGN.md §6). */
  | { readonly type: 'delivery-token'; readonly token: Uint8Array }

export interface Content {
  readonly id: MessageId
  readonly sentAt: number
  readonly body: ContentBody
}

const TYPE_CODES = {
  text: 1,
  edit: 2,
  delete: 3,
  reaction: 4,
  receipt: 5,
  typing: 6,
  file: 7,
  call: 8,
  metadata: 9,
  'tree-head': 10,
  'delivery-token': 11,
} as const satisfies Record<ContentBody['type'], number>

const TYPE_NAMES = new Map<number, ContentBody['type']>(
  Object.entries(TYPE_CODES).map(([name, code]) => [code, name as ContentBody['type']]),
)

/**
 * Size buckets: powers of two from 256 bytes, then multiples of 64 KiB above 64 KiB, so short
 * messages share a few sizes and long ones waste at most 64 KiB.
 */
export function paddedLength(length: number): number {
  if (length <= MIN_PADDED_BYTES) return MIN_PADDED_BYTES
  if (length <= 64 * 1024) return 2 ** Math.ceil(Math.log2(length))
  return Math.ceil(length / (64 * 1024)) * 64 * 1024
}

function text(value: string, max: number, field: string): Uint8Array {
  const bytes = utf8.encode(value)
  if (bytes.length > max) throw new ProtocolError('too-large', `${field} above ${max} bytes`)
  return bytes
}

function messageId(value: Uint8Array, field: string): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== MESSAGE_ID_BYTES) {
    throw new ProtocolError('usage', `${field} must be ${MESSAGE_ID_BYTES} bytes`)
  }
  return value
}

function opaque(value: Uint8Array, field: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new ProtocolError('usage', `${field} must be bytes`)
  if (value.length > MAX_OPAQUE_BODY_BYTES) throw new ProtocolError('too-large', `${field} above its limit`)
  return value
}

function encodeBody(body: ContentBody): Uint8Array {
  const w = new Writer()
  switch (body.type) {
    case 'text':
      return w.vec32(text(body.text, MAX_TEXT_BYTES, 'text')).finish()
    case 'edit':
      return w
        .fixed(messageId(body.target, 'target'))
        .vec32(text(body.text, MAX_TEXT_BYTES, 'text'))
        .finish()
    case 'delete':
      return w.fixed(messageId(body.target, 'target')).finish()
    case 'reaction':
      return w
        .fixed(messageId(body.target, 'target'))
        .vec8(text(body.reaction, MAX_REACTION_BYTES, 'reaction'))
        .u8(body.remove ? 1 : 0)
        .finish()
    case 'receipt': {
      if (body.targets.length === 0 || body.targets.length > MAX_RECEIPT_IDS) {
        throw new ProtocolError('too-large', `a receipt acknowledges 1..${MAX_RECEIPT_IDS} messages`)
      }
      w.u8(body.kind === 'delivered' ? 1 : 2).u16(body.targets.length)
      for (const t of body.targets) w.fixed(messageId(t, 'receipt target'))
      return w.finish()
    }
    case 'typing':
      return w.u8(body.typing ? 1 : 0).finish()
    case 'file':
      return w.vec32(opaque(body.descriptor, 'file descriptor')).finish()
    case 'call':
      return w.vec32(opaque(body.signal, 'call signal')).finish()
    case 'metadata': {
      if (body.admins.length > MAX_ADMINS)
        throw new ProtocolError('too-large', `more than ${MAX_ADMINS} admins`)
      w.vec16(text(body.name, MAX_CONVERSATION_NAME_BYTES, 'conversation name')).u8(body.admins.length)
      for (const a of body.admins) w.vec8(text(a, 64, 'admin handle'))
      return w.finish()
    }
    case 'tree-head':
      return w.vec32(opaque(body.treeHead, 'tree head')).finish()
    case 'delivery-token':
      return w.vec8(opaque(body.token, 'delivery token')).finish()
  }
}

export function encodeContent(content: Content): Uint8Array {
  if (!Number.isSafeInteger(content.sentAt) || content.sentAt < 0) {
    throw new ProtocolError('usage', 'sentAt must be a non-negative integer')
  }
  const body = encodeBody(content.body)
  const unpadded = new Writer()
    .u8(CONTENT_VERSION)
    .u8(TYPE_CODES[content.body.type])
    .fixed(messageId(content.id, 'message id'))
    .u32(Math.floor(content.sentAt / 2 ** 32))
    .u32(content.sentAt >>> 0)
    .vec32(body)
    .finish()
  const total = paddedLength(unpadded.length)
  if (total > MAX_PLAINTEXT_BYTES) throw new ProtocolError('too-large', 'content above the plaintext limit')
  const out = new Uint8Array(total)
  out.set(unpadded)
  return out
}

function decodeText(bytes: Uint8Array, max: number, field: string): string {
  if (bytes.length > max) throw new ProtocolError('too-large', `${field} above ${max} bytes`)
  try {
    return utf8.decode(bytes)
  } catch (cause) {
    throw new ProtocolError('malformed', `${field} is not UTF-8`, { cause })
  }
}

function decodeBody(type: ContentBody['type'], bytes: Uint8Array): ContentBody {
  const r = new Reader(bytes, `${type} content`)
  let body: ContentBody
  switch (type) {
    case 'text':
      body = { type, text: decodeText(r.vec32(MAX_TEXT_BYTES), MAX_TEXT_BYTES, 'text') }
      break
    case 'edit': {
      const target = r.fixed(MESSAGE_ID_BYTES).slice()
      body = { type, target, text: decodeText(r.vec32(MAX_TEXT_BYTES), MAX_TEXT_BYTES, 'text') }
      break
    }
    case 'delete':
      body = { type, target: r.fixed(MESSAGE_ID_BYTES).slice() }
      break
    case 'reaction': {
      const target = r.fixed(MESSAGE_ID_BYTES).slice()
      const reaction = decodeText(r.vec8(), MAX_REACTION_BYTES, 'reaction')
      const flag = r.u8()
      if (flag > 1) throw new ProtocolError('malformed', 'reaction flag must be 0 or 1')
      body = { type, target, reaction, remove: flag === 1 }
      break
    }
    case 'receipt': {
      const kind = r.u8()
      if (kind !== 1 && kind !== 2) throw new ProtocolError('malformed', 'unknown receipt kind')
      const count = r.u16()
      if (count === 0 || count > MAX_RECEIPT_IDS) throw new ProtocolError('too-large', 'receipt target count')
      const targets: Uint8Array[] = []
      for (let i = 0; i < count; i++) targets.push(r.fixed(MESSAGE_ID_BYTES).slice())
      body = { type, kind: kind === 1 ? 'delivered' : 'read', targets }
      break
    }
    case 'typing': {
      const flag = r.u8()
      if (flag > 1) throw new ProtocolError('malformed', 'typing flag must be 0 or 1')
      body = { type, typing: flag === 1 }
      break
    }
    case 'file':
      body = { type, descriptor: r.vec32(MAX_OPAQUE_BODY_BYTES).slice() }
      break
    case 'call':
      body = { type, signal: r.vec32(MAX_OPAQUE_BODY_BYTES).slice() }
      break
    case 'metadata': {
      const name = decodeText(r.vec16(), MAX_CONVERSATION_NAME_BYTES, 'conversation name')
      const count = r.u8()
      if (count > MAX_ADMINS) throw new ProtocolError('too-large', `more than ${MAX_ADMINS} admins`)
      const admins: string[] = []
      for (let i = 0; i < count; i++) admins.push(decodeText(r.vec8(), 64, 'admin handle'))
      body = { type, name, admins }
      break
    }
    case 'tree-head':
      body = { type, treeHead: r.vec32(MAX_OPAQUE_BODY_BYTES).slice() }
      break
    case 'delivery-token':
      body = { type, token: r.vec8().slice() }
      break
  }
  r.end()
  return body
}

export function decodeContent(bytes: Uint8Array): Content {
  if (bytes.length > MAX_PLAINTEXT_BYTES)
    throw new ProtocolError('too-large', 'content above the plaintext limit')
  const r = new Reader(bytes, 'content')
  const version = r.u8()
  if (version !== CONTENT_VERSION) throw new ProtocolError('malformed', `unknown content version ${version}`)
  const type = TYPE_NAMES.get(r.u8())
  if (!type) throw new ProtocolError('malformed', 'unknown content type')
  const id = r.fixed(MESSAGE_ID_BYTES).slice()
  const sentAt = r.u32() * 2 ** 32 + r.u32()
  if (!Number.isSafeInteger(sentAt)) throw new ProtocolError('malformed', 'sentAt out of range')
  const body = decodeBody(type, r.vec32(MAX_PLAINTEXT_BYTES))
  // The rest is padding: it must be zeros, so the encoding is unique (no hidden channel).
  if (r.rest().some((b) => b !== 0)) throw new ProtocolError('malformed', 'non-zero padding')
  return { id, sentAt, body }
}
