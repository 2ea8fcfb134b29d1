/**
 * Human-readable lines for messages and events. Text from other people is shown with control
 * characters replaced, so a message cannot move the cursor, clear the screen or fake a prompt.
 */
import type { ClientEvent, MessageRecord } from '../client-api.ts'
import { formatBytes } from './progress-bar.ts'

/** Replaces C0/C1 controls (ESC among them) except tab and newline with U+FFFD. */
export function sanitize(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '\ufffd')
}

export function formatTime(ms: number): string {
  const d = new Date(ms)
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`
}

export function formatMessage(m: MessageRecord): string {
  const who = m.own ? 'you' : sanitize(m.sender)
  const head = `[${formatTime(m.sentAt)}] ${m.id.slice(0, 8)} ${who}:`
  let body: string
  if (m.deleted) body = '(deleted)'
  else if (m.file)
    body = `[file] ${sanitize(m.file.name)} (${formatBytes(m.file.size)}, ${sanitize(m.file.mediaType)})`
  else body = sanitize(m.text ?? '')
  const marks: string[] = []
  if (m.edited && !m.deleted) marks.push('edited')
  if (m.own && m.status && m.status !== 'sent') marks.push(m.status)
  const reactions = Object.entries(m.reactions)
    .filter(([, who]) => who.length > 0)
    .map(([r, who]) => `${sanitize(r)}${who.length > 1 ? who.length : ''}`)
  const tail = [marks.length ? `(${marks.join(', ')})` : '', reactions.join(' ')].filter(Boolean).join(' ')
  return tail ? `${head} ${body} ${tail}` : `${head} ${body}`
}

/** One line for an event, or undefined for events a person does not need to see as a line. */
export function formatEvent(e: ClientEvent): string | undefined {
  switch (e.type) {
    case 'message':
      return formatMessage(e.message)
    case 'edit':
      return `* ${sanitize(e.sender)} edited ${e.messageId.slice(0, 8)}: ${sanitize(e.text)}`
    case 'delete':
      return `* ${sanitize(e.sender)} deleted ${e.messageId.slice(0, 8)}`
    case 'reaction':
      return `* ${sanitize(e.sender)} ${e.remove ? 'removed' : 'reacted'} ${sanitize(e.reaction)} on ${e.messageId.slice(0, 8)}`
    case 'receipt':
      return undefined
    case 'typing':
      return undefined
    case 'conversation':
      return `* conversation ${e.conversation.id.slice(0, 12)} ${sanitize(e.conversation.name ?? '')}`.trimEnd()
    case 'membership': {
      const parts: string[] = []
      if (e.added.length) parts.push(`added ${e.added.map(sanitize).join(', ')}`)
      if (e.removed.length) parts.push(`removed ${e.removed.map(sanitize).join(', ')}`)
      return `* members: ${parts.join('; ')}`
    }
    case 'alert':
      return `! ALERT${e.handle ? ` ${sanitize(e.handle)}` : ''}: ${sanitize(e.kind)} — ${sanitize(e.detail)}`
  }
}

/** Events of this conversation, and alerts (which concern everything). */
export function concernsConversation(e: ClientEvent, conversationId: string): boolean {
  return e.type === 'alert' || eventConversation(e) === conversationId
}

/** The conversation an event belongs to, if any. */
export function eventConversation(e: ClientEvent): string | undefined {
  switch (e.type) {
    case 'message':
      return e.message.conversationId
    case 'conversation':
      return e.conversation.id
    case 'alert':
      return undefined
    default:
      return e.conversationId
  }
}
