/**
 * The call log: what became of the calls of a conversation (missed, declined, ended, refused…),
 * kept on this device so that an app shows it again after a restart or a reload. Entries are
 * written by the app when a call ends (the SDK signals calls; it does not ring or decide how a
 * call ended), in the encrypted store, in one namespace per conversation like its messages. They
 * are this device's own record: nothing is sent, and other devices keep their own.
 *
 * Bounded: at most MAX_CALL_LOG_ENTRIES per conversation (the oldest go first) and
 * MAX_CALL_LOG_TEXT_CHARS of text per entry.
 */
import type { ConversationRecord } from '../conversation/records.ts'
import { ClientError } from '../errors.ts'
import {
  callLogNamespace,
  decodeJson,
  encodeJson,
  key,
  keyText,
  type StoreReader,
  type StoreTransaction,
} from '../state/store-port.ts'

export const CALL_LOG_KINDS = [
  'missed',
  'no-answer',
  'declined',
  'busy',
  'refused',
  'failed',
  'ended',
] as const
export type CallLogKind = (typeof CALL_LOG_KINDS)[number]

/** Entries kept per conversation: the oldest is dropped when one more is recorded. */
export const MAX_CALL_LOG_ENTRIES = 200
/** The app's words for an entry ("Missed call from bob"), shown as they are. */
export const MAX_CALL_LOG_TEXT_CHARS = 500

export interface CallLogEntry {
  /** Random, 16 hex digits: a stable key for the app's list. */
  readonly id: string
  readonly conversationId: string
  readonly kind: CallLogKind
  readonly text: string
  /** When it was recorded, ms since the epoch (this device's clock). */
  readonly at: number
}

/** Refuses what the log cannot hold, with `usage` (nothing is written). */
export function checkCallLogInput(kind: unknown, text: unknown): asserts kind is CallLogKind {
  if (typeof kind !== 'string' || !(CALL_LOG_KINDS as readonly string[]).includes(kind)) {
    throw new ClientError('usage', `a call log kind is one of ${CALL_LOG_KINDS.join(', ')}`)
  }
  if (typeof text !== 'string' || text.length > MAX_CALL_LOG_TEXT_CHARS) {
    throw new ClientError(
      'usage',
      `a call log text is a string of at most ${MAX_CALL_LOG_TEXT_CHARS} characters`,
    )
  }
}

/**
 * Entries are keyed by a local sequence number, so the log keeps the order they were recorded in
 * even within one millisecond (or after the clock stepped back).
 */
const SEQ_DIGITS = 12
const seqKey = (seq: number) => seq.toString().padStart(SEQ_DIGITS, '0')

async function sortedEntries(store: StoreReader, c: ConversationRecord) {
  const entries = await store.list(callLogNamespace(c.storageKey))
  return entries
    .map((e) => ({ key: keyText(e.key), value: e.value }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
}

export async function listCallLog(store: StoreReader, c: ConversationRecord): Promise<CallLogEntry[]> {
  return (await sortedEntries(store, c)).map((e) =>
    decodeJson<CallLogEntry>(e.value, `call log entry ${e.key}`),
  )
}

/** Adds `entry` after the others and drops the oldest beyond MAX_CALL_LOG_ENTRIES, in one transaction. */
export async function appendCallLog(
  tx: StoreTransaction,
  c: ConversationRecord,
  entry: CallLogEntry,
): Promise<void> {
  const namespace = callLogNamespace(c.storageKey)
  const existing = await sortedEntries(tx, c)
  const last = existing.at(-1)
  const seq = last === undefined ? 1 : Number(last.key) + 1
  if (!Number.isSafeInteger(seq) || seqKey(seq).length > SEQ_DIGITS) {
    throw new ClientError('malformed', 'the stored call log is out of sequence numbers')
  }
  await tx.put(namespace, key(seqKey(seq)), encodeJson(entry))
  for (const old of existing.slice(0, Math.max(0, existing.length + 1 - MAX_CALL_LOG_ENTRIES))) {
    await tx.delete(namespace, key(old.key))
  }
}
