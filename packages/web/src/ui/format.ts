/**
 * Pure helpers of the screens: how a message's delivery state, a size, a time, a safety number or
 * an error reads to a person. No DOM here, so node:test covers them (tests/web/format.test.ts).
 */
import type { ConversationSummary, StoredMessage } from '@tacit/client/client'
import { describeError as describeSdkError } from '../describe-error.ts'

/** Handles, comma or space separated, as typed in the "new conversation" and "add" fields. */
export const MAX_HANDLES_TYPED = 100
/** Longest text the composer accepts, in characters (the protocol's cap is 64 KiB of UTF-8). */
export const MAX_COMPOSER_CHARS = 16_000
/** A new passphrase must be at least this long (the same policy as the CLI, docs/cli.md). */
export const MIN_NEW_PASSPHRASE_CHARS = 8
/** How long another person's "typing" stays shown without a refresh from them. */
export const TYPING_SHOWN_MS = 6_000
/** Our own typing is withdrawn after this long without a keystroke (as the CLI does). */
export const TYPING_IDLE_MS = 5_000
/** Reactions offered by the reaction picker (any short text is valid on the wire). */
export const QUICK_REACTIONS: readonly string[] = ['👍', '❤️', '😂', '🎉', '😮', '😢']

export type DeliveryState = 'sending' | 'sent' | 'delivered' | 'read'

export class InputError extends Error {
  override readonly name = 'InputError'
  constructor(
    readonly code: 'empty' | 'too-many' | 'bad-handle' | 'too-long' | 'mismatch' | 'too-short',
    message: string,
  ) {
    super(message)
  }
}

/**
 * The state of an outgoing message from its receipts: read once every other member read it,
 * delivered once every other member's device confirmed it, else sent. In a group the label says
 * how many; `others` excludes the sender's own handle.
 */
export function deliveryStateOf(
  m: Pick<StoredMessage, 'receipts'>,
  others: readonly string[],
): { state: DeliveryState; label: string } {
  const want = new Set(others)
  if (want.size === 0) return { state: 'sent', label: 'Sent' }
  const read = m.receipts.read.filter((h) => want.has(h))
  const delivered = new Set([...m.receipts.delivered, ...read].filter((h) => want.has(h)))
  if (new Set(read).size >= want.size) return { state: 'read', label: 'Read' }
  if (delivered.size >= want.size) {
    return {
      state: 'delivered',
      label: want.size > 1 && read.length > 0 ? `Delivered, read by ${new Set(read).size}` : 'Delivered',
    }
  }
  if (want.size > 1 && delivered.size > 0)
    return { state: 'sent', label: `Sent, delivered to ${delivered.size} of ${want.size}` }
  return { state: 'sent', label: 'Sent' }
}

const HANDLE = /^[a-z0-9][a-z0-9._-]{1,31}$/

/** "bob, @carol dave" → ['bob', 'carol', 'dave'] (lower-cased, no duplicates, checked). */
export function parseHandles(input: string): string[] {
  const parts = input
    .split(/[\s,]+/)
    .map((p) => p.trim().replace(/^@/, '').toLowerCase())
    .filter((p) => p !== '')
  if (parts.length === 0) throw new InputError('empty', 'Enter at least one handle.')
  const unique = [...new Set(parts)]
  if (unique.length > MAX_HANDLES_TYPED) {
    throw new InputError('too-many', `At most ${MAX_HANDLES_TYPED} handles at a time.`)
  }
  for (const h of unique) {
    if (!HANDLE.test(h)) {
      throw new InputError('bad-handle', 'Handles are 2–32 characters of a–z, 0–9, dot, dash or underscore.')
    }
  }
  return unique
}

/** Checks a handle typed at onboarding (same rule as the CLI and the server). */
export function checkHandle(input: string): string {
  const h = input.trim().replace(/^@/, '').toLowerCase()
  if (!HANDLE.test(h)) {
    throw new InputError('bad-handle', 'Handles are 2–32 characters of a–z, 0–9, dot, dash or underscore.')
  }
  return h
}

/** A new passphrase and its confirmation. */
export function checkNewPassphrase(passphrase: string, confirmation: string): string {
  if (passphrase.length < MIN_NEW_PASSPHRASE_CHARS) {
    throw new InputError('too-short', `Use at least ${MIN_NEW_PASSPHRASE_CHARS} characters.`)
  }
  if (passphrase !== confirmation) throw new InputError('mismatch', 'The two passphrases differ.')
  return passphrase
}

/** What a conversation is called in the list: its name, else the other members. */
export function titleOf(c: Pick<ConversationSummary, 'name' | 'members'>, self: string): string {
  if (c.name !== '') return c.name
  const others = c.members.filter((m) => m !== self)
  if (others.length === 0) return 'Just you'
  return others.join(', ')
}

/** The other person of a 1:1 conversation, or null for a group (or a named conversation of 2). */
export function peerOf(c: Pick<ConversationSummary, 'name' | 'members'>, self: string): string | null {
  const others = c.members.filter((m) => m !== self)
  return others.length === 1 ? others[0]! : null
}

/** 1536 → "1.5 KB" (decimal units, as file managers show them). */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '?'
  if (n < 1000) return `${n} B`
  const units = ['KB', 'MB', 'GB', 'TB']
  let v = n
  let u = -1
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000
    u++
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`
}

/** "14:05" today, else "26 Nov 14:05" (the reader's locale and zone). */
export function formatTime(ms: number, now: number): string {
  const d = new Date(ms)
  const n = new Date(now)
  const time = d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })
  if (d.toDateString() === n.toDateString()) return time
  return `${d.toLocaleDateString(undefined, { day: 'numeric', month: 'short' })} ${time}`
}

/** Percent done of a transfer, 0–100, for a `<progress>` and its label. */
export function percentOf(done: number, total: number): number {
  if (total <= 0) return 100
  return Math.max(0, Math.min(100, Math.floor((done / total) * 100)))
}

/**
 * What someone typed as the other side's safety number: digits with any spaces or dashes.
 * Returns the 60 digits, or null when it is not 60 digits (then it may be the QR code's hex).
 */
export function normaliseDigits(input: string): string | null {
  const digits = input.replace(/[\s-]/g, '')
  return /^[0-9]{60}$/.test(digits) ? digits : null
}

/**
 * A short text for an error, from its code only (never its message, which could say more than
 * the user should see): codes the screens' users act on get words of their own, the rest go
 * through the shell's table (`../describe-error.ts`).
 */
export function describeError(error: unknown): string {
  const e = error as { name?: string; code?: string; message?: string } | null
  const code = typeof e?.code === 'string' ? e.code : ''
  switch (code) {
    case 'wrong-passphrase':
      return 'That passphrase does not open this account.'
    case 'verification-failed':
      return 'The numbers or code do not match: this contact is NOT verified. Check that you are comparing with the right person.'
    case 'unknown-handle':
      return 'There is no account with that handle on this server.'
    case 'network':
      return 'The server cannot be reached. Check the connection and try again.'
    case 'timeout':
      return 'The server did not answer in time. Try again.'
    case 'file-tampered':
      return 'The file failed its integrity check and was not saved.'
    case 'too-large':
      return 'That is too large to send.'
    case 'not-member':
      return 'You are no longer a member of this conversation.'
    case 'no-devices':
      return 'That person has no device that can be added right now.'
    case 'link-invalid':
      return 'That is not the right link code or answer. Copy it again, whole, from the other device.'
    case 'empty':
    case 'too-many':
    case 'bad-handle':
    case 'too-long':
    case 'mismatch':
    case 'too-short':
      return e?.message ?? 'Check what you entered.'
    default:
      break
  }
  // The shell's table: the server's refusals (used invite, taken handle, rate limits) by code.
  return describeSdkError(error)
}

/** The file name offered when saving a download: a base name, never a path. */
export function safeFileName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? ''
  // Control characters and a leading dot (hidden files) are not useful in a saved name.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
  const cleaned = base.replace(/[\u0000-\u001f\u007f]/g, '').replace(/^\.+/, '')
  return cleaned === '' ? 'download' : cleaned.slice(0, 255)
}
