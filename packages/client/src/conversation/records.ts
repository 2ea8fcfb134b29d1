/**
 * What the client keeps about conversations and messages, and how incoming content changes it.
 * The functions here only read and write through a store transaction they are given: the caller
 * runs them in the same transaction as the group state that decrypted the content, so plaintext
 * is persisted exactly when the new protocol state is (DESIGN.md §7).
 */
import { bytesToHex } from '@tacit/crypto/bytes'
import type { Content } from '@tacit/protocol/content'
import { decodeFileDescriptor } from '@tacit/protocol/files/descriptor'
import { bytesToBase64url } from '@tacit/protocol/wire/encoding'
import { MAX_RECEIPT_BATCH } from '../limits.ts'
import {
  decodeJson,
  encodeJson,
  key,
  keyText,
  messageIndexNamespace,
  messagesNamespace,
  NS,
  type StoreReader,
  type StoreTransaction,
} from '../state/store-port.ts'

/** base64url of the MLS group id: opaque and stable. */
export type ConversationId = string
/** Hex of the 16-byte content message id. */
export type MessageId = string

export interface ConversationRecord {
  readonly id: ConversationId
  /** Random, names the conversation's message namespaces in the store. */
  readonly storageKey: string
  name: string
  admins: string[]
  createdAt: number
  active: boolean
  nextSeq: number
  unreadCount: number
  /** Most recent unread incoming message ids (bounded), for the next read receipt. */
  unreadIds: MessageId[]
  lastMessage: { id: MessageId; from: string; text: string; sentAt: number } | null
  lastSelfUpdate: number
}

export interface Person {
  readonly handle: string
  /** The device id inside the sender's credential. */
  readonly memberId: string
}

/** What a file message says about its file (the key and digest stay in the descriptor). */
export interface FileInfo {
  /** The sender's name for it: a label, never a path (docs/protocol/files.md §8). */
  readonly name: string
  /** RFC 6838 `type/subtype`. */
  readonly mediaType: string
  /** Real size in bytes. */
  readonly size: number
}

export interface StoredMessage {
  readonly id: MessageId
  readonly conversationId: ConversationId
  readonly seq: number
  readonly sender: Person
  readonly outgoing: boolean
  readonly sentAt: number
  readonly receivedAt: number
  readonly kind: 'text' | 'file'
  text: string
  /**
   * For `file`: the encoded file descriptor (docs/protocol/files.md §8), base64url. It holds the
   * file key: never log it. `downloadFile` reads it.
   */
  readonly file?: string
  /** For `file` whose descriptor decodes: name, type and size. */
  readonly fileInfo?: FileInfo
  edited: boolean
  deleted: boolean
  /** reaction → handles that reacted with it. */
  reactions: Record<string, string[]>
  /** Handles that confirmed delivery / reading (for outgoing messages). */
  receipts: { delivered: string[]; read: string[] }
}

export type ContentEvent =
  | { type: 'message'; message: StoredMessage }
  | { type: 'edit'; conversationId: ConversationId; messageId: MessageId; text: string; by: string }
  | { type: 'delete'; conversationId: ConversationId; messageId: MessageId; by: string }
  | {
      type: 'reaction'
      conversationId: ConversationId
      messageId: MessageId
      reaction: string
      remove: boolean
      by: string
    }
  | {
      type: 'receipt'
      conversationId: ConversationId
      kind: 'delivered' | 'read'
      messageIds: MessageId[]
      by: string
    }
  | { type: 'typing'; conversationId: ConversationId; handle: string; typing: boolean }
  | { type: 'conversation'; conversationId: ConversationId }

export async function getConversation(
  store: StoreReader,
  id: ConversationId,
): Promise<ConversationRecord | undefined> {
  const bytes = await store.get(NS.conversations, key(id))
  return bytes === undefined ? undefined : decodeJson<ConversationRecord>(bytes, 'conversation')
}

export async function listConversationRecords(store: StoreReader): Promise<ConversationRecord[]> {
  return (await store.list(NS.conversations)).map((e) =>
    decodeJson<ConversationRecord>(e.value, 'conversation'),
  )
}

export async function putConversation(tx: StoreTransaction, c: ConversationRecord): Promise<void> {
  await tx.put(NS.conversations, key(c.id), encodeJson(c))
}

const seqKey = (seq: number) => seq.toString().padStart(12, '0')

export async function getMessage(
  store: StoreReader,
  c: ConversationRecord,
  id: MessageId,
): Promise<StoredMessage | undefined> {
  const seq = await store.get(messageIndexNamespace(c.storageKey), key(id))
  if (seq === undefined) return undefined
  const bytes = await store.get(messagesNamespace(c.storageKey), seq)
  return bytes === undefined ? undefined : decodeJson<StoredMessage>(bytes, 'message')
}

export async function putMessage(
  tx: StoreTransaction,
  c: ConversationRecord,
  m: StoredMessage,
): Promise<void> {
  await tx.put(messagesNamespace(c.storageKey), key(seqKey(m.seq)), encodeJson(m))
  await tx.put(messageIndexNamespace(c.storageKey), key(m.id), key(seqKey(m.seq)))
}

export async function listMessages(store: StoreReader, c: ConversationRecord): Promise<StoredMessage[]> {
  return (await store.list(messagesNamespace(c.storageKey))).map((e) =>
    decodeJson<StoredMessage>(e.value, `message ${keyText(e.key)}`),
  )
}

export function newConversation(id: ConversationId, storageKey: string, now: number): ConversationRecord {
  return {
    id,
    storageKey,
    name: '',
    admins: [],
    createdAt: now,
    active: true,
    nextSeq: 1,
    unreadCount: 0,
    unreadIds: [],
    lastMessage: null,
    lastSelfUpdate: now,
  }
}

function fileFields(descriptor: Uint8Array): { file: string; fileInfo?: FileInfo } {
  const file = bytesToBase64url(descriptor)
  try {
    const d = decodeFileDescriptor(descriptor)
    return { file, fileInfo: { name: d.name, mediaType: d.mediaType, size: d.size } }
  } catch {
    // Kept as received; `downloadFile` reports it as malformed.
    return { file }
  }
}

const addUnique = (list: string[], v: string) => (list.includes(v) ? list : [...list, v])

/**
 * Applies one decrypted content to the conversation's records inside `tx`. `self` is our own
 * handle: content from our own other devices is stored as outgoing. Returns the events to emit
 * once the transaction is durable. Mutates `c` (the caller writes it back in the same tx).
 */
export async function applyContent(
  tx: StoreTransaction,
  c: ConversationRecord,
  content: Content,
  sender: Person,
  self: string,
  receivedAt: number,
): Promise<ContentEvent[]> {
  const id = bytesToHex(content.id)
  const body = content.body
  const by = sender.handle
  switch (body.type) {
    case 'text':
    case 'file': {
      if (await getMessage(tx, c, id)) return [] // the same content twice: keep the first
      const outgoing = sender.handle === self
      const message: StoredMessage = {
        id,
        conversationId: c.id,
        seq: c.nextSeq++,
        sender,
        outgoing,
        sentAt: content.sentAt,
        receivedAt,
        kind: body.type,
        text: body.type === 'text' ? body.text : '',
        ...(body.type === 'file' ? fileFields(body.descriptor) : {}),
        edited: false,
        deleted: false,
        reactions: {},
        receipts: { delivered: [], read: [] },
      }
      await putMessage(tx, c, message)
      c.lastMessage = { id, from: sender.handle, text: message.text, sentAt: content.sentAt }
      if (!outgoing) {
        c.unreadCount++
        c.unreadIds = [...c.unreadIds, id].slice(-MAX_RECEIPT_BATCH)
      }
      return [{ type: 'message', message }]
    }
    case 'edit':
    case 'delete': {
      const target = bytesToHex(body.target)
      const m = await getMessage(tx, c, target)
      // Only the author may change a message.
      if (!m || m.sender.handle !== by || m.deleted) return []
      if (body.type === 'edit') {
        m.text = body.text
        m.edited = true
      } else {
        m.text = ''
        m.deleted = true
      }
      await putMessage(tx, c, m)
      if (c.lastMessage?.id === target) c.lastMessage = { ...c.lastMessage, text: m.text }
      return body.type === 'edit'
        ? [{ type: 'edit', conversationId: c.id, messageId: target, text: body.text, by }]
        : [{ type: 'delete', conversationId: c.id, messageId: target, by }]
    }
    case 'reaction': {
      const target = bytesToHex(body.target)
      const m = await getMessage(tx, c, target)
      if (!m) return []
      const current = m.reactions[body.reaction] ?? []
      const next = body.remove ? current.filter((h) => h !== by) : addUnique(current, by)
      if (next.length === 0) delete m.reactions[body.reaction]
      else m.reactions[body.reaction] = next
      await putMessage(tx, c, m)
      return [
        {
          type: 'reaction',
          conversationId: c.id,
          messageId: target,
          reaction: body.reaction,
          remove: body.remove,
          by,
        },
      ]
    }
    case 'receipt': {
      const ids: MessageId[] = []
      for (const t of body.targets) {
        const target = bytesToHex(t)
        const m = await getMessage(tx, c, target)
        if (!m) continue
        if (by === self) {
          // Our other device read it: it is no longer unread here either.
          if (body.kind === 'read') {
            c.unreadIds = c.unreadIds.filter((u) => u !== target)
            c.unreadCount = Math.min(c.unreadCount, c.unreadIds.length)
          }
          continue
        }
        if (!m.outgoing) continue
        m.receipts.delivered = addUnique(m.receipts.delivered, by)
        if (body.kind === 'read') m.receipts.read = addUnique(m.receipts.read, by)
        await putMessage(tx, c, m)
        ids.push(target)
      }
      return ids.length
        ? [{ type: 'receipt', conversationId: c.id, kind: body.kind, messageIds: ids, by }]
        : []
    }
    case 'typing':
      return by === self ? [] : [{ type: 'typing', conversationId: c.id, handle: by, typing: body.typing }]
    case 'metadata': {
      // The first metadata names the admins; later changes only from a current admin.
      if (c.admins.length > 0 && !c.admins.includes(by)) return []
      c.name = body.name
      c.admins = [...body.admins]
      return [{ type: 'conversation', conversationId: c.id }]
    }
    default:
      // call, tree-head and delivery-token content belong to other layers; the state advanced.
      return []
  }
}
