/**
 * The storage the SDK needs is the encrypted store's narrow interface (`src/store/store.ts`):
 * byte records in named namespaces and one atomic `transaction`. Atomicity is what lets the
 * client persist new protocol state, the plaintext it releases and the acks it owes in one step,
 * before anything is shown or sent (DESIGN.md §7 crash safety).
 *
 * This module names the SDK's namespaces in one place and gives small helpers for string keys
 * and JSON records (every record is sealed by the store before it reaches the medium).
 */
import { utf8 } from '@tacit/crypto/bytes'
import { ClientError } from '../errors.ts'
import { defineNamespace, type StoreNamespace, type StoreReader } from '../store/store.ts'

export type { Store as ClientStore, StoreNamespace, StoreReader, StoreTransaction } from '../store/store.ts'

export const NS = {
  /** The account and this device's keys: one record, `self`. */
  account: defineNamespace('client.account'),
  /** Private halves of uploaded KeyPackages, by KeyPackageRef (hex). */
  keyPackages: defineNamespace('client.key-packages'),
  /** Trust on first use: handle → identity key (JSON). */
  trust: defineNamespace('client.trust'),
  /** Routing: `${handle}/${credentialDeviceId}` → server device id. */
  routes: defineNamespace('client.routes'),
  /** Conversation records (JSON), by conversation id. */
  conversations: defineNamespace('client.conversations'),
  /** MLS group snapshots, by conversation id. */
  groups: defineNamespace('client.groups'),
  /** Commits submitted but not yet known to be accepted, by conversation id. */
  pendingCommits: defineNamespace('client.pending-commits'),
  /** Envelopes persisted before sending, until the server confirmed them durable. */
  outbox: defineNamespace('client.outbox'),
  /** Mailbox seqs processed but not yet acknowledged to the server. */
  acks: defineNamespace('client.acks'),
  /** Envelope ids already processed (de-duplication of at-least-once delivery). */
  seen: defineNamespace('client.seen'),
  /** A pending device link on a new device (its ephemeral keys). */
  link: defineNamespace('client.link'),
  /**
   * Unfinished file uploads, by a hash of (conversation, source identity): blob id, file key,
   * header (nonce prefix) and the last checkpoint the server confirmed (transfer/upload.ts).
   */
  uploads: defineNamespace('client.uploads'),
  /** Contacts the user verified: handle → identity key and device list (identity/contacts.ts). */
  verified: defineNamespace('client.verified'),
} as const

/** Messages of one conversation live in their own namespace, ordered by local sequence. */
export function messagesNamespace(conversationKey: string): StoreNamespace {
  return defineNamespace(`client.m.${conversationKey}`)
}

/** The call log of one conversation (calls/call-log.ts), keyed by a local sequence number. */
export function callLogNamespace(conversationKey: string): StoreNamespace {
  return defineNamespace(`client.l.${conversationKey}`)
}

/** Message id (hex) → local sequence key, per conversation. */
export function messageIndexNamespace(conversationKey: string): StoreNamespace {
  return defineNamespace(`client.i.${conversationKey}`)
}

export function key(text: string): Uint8Array {
  return utf8.encode(text)
}

export function keyText(bytes: Uint8Array): string {
  return utf8.decode(bytes)
}

export function encodeJson(value: unknown): Uint8Array {
  return utf8.encode(JSON.stringify(value))
}

export function decodeJson<T>(bytes: Uint8Array, what: string): T {
  try {
    return JSON.parse(utf8.decode(bytes)) as T
  } catch (cause) {
    throw new ClientError('malformed', `stored ${what} does not decode`, { cause })
  }
}

export async function getJson<T>(
  store: StoreReader,
  namespace: StoreNamespace,
  k: string,
  what: string,
): Promise<T | undefined> {
  const bytes = await store.get(namespace, key(k))
  return bytes === undefined ? undefined : decodeJson<T>(bytes, what)
}
