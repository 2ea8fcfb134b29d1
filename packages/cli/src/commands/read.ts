/** `tacit read <conversation> [--follow]`: the history of a conversation, and new events as they come. */
import type { ClientEvent, MessageRecord } from '../client-api.ts'
import { type CommandSpec, optionFlag, optionInteger } from '../command.ts'
import { resolveConversation } from '../conversations.ts'
import { DEFAULT_READ_LIMIT, MAX_READ_LIMIT, MAX_TIMEOUT_SECONDS } from '../limits.ts'
import { concernsConversation, formatEvent, formatMessage } from '../ui/format.ts'

export const readCommand: CommandSpec = {
  name: 'read',
  summary: 'print the messages of a conversation; --follow keeps printing new ones',
  description:
    'Fetches what is waiting on the server, then prints the last messages (oldest first) and\n' +
    'marks them read. With --follow it keeps running and prints each new message, edit,\n' +
    'reaction and membership change as it arrives, until Ctrl-C or --timeout.\n' +
    'With --json: one document {conversation, messages}; with --json --follow: one JSON object\n' +
    'per line ({"type":"message",...}), the history first.',
  options: {
    limit: {
      type: 'string',
      valueName: 'n',
      description: `how many messages (default ${DEFAULT_READ_LIMIT})`,
    },
    follow: { type: 'boolean', short: 'f', description: 'keep printing new messages' },
    timeout: { type: 'string', valueName: 'seconds', description: 'with --follow: stop after this long' },
    'no-receipts': { type: 'boolean', description: 'do not send read receipts' },
  },
  positionals: [
    { name: 'conversation', description: 'id, name, or handle of the other person', identifier: true },
  ],
  examples: [
    'tacit read bob',
    'tacit read team-chat --limit 200 --json',
    'tacit read team-chat --follow --json | jq .message.text',
  ],
  async run(ctx) {
    const limit = optionInteger(ctx, 'limit', { min: 1, max: MAX_READ_LIMIT, fallback: DEFAULT_READ_LIMIT })
    const timeout = optionInteger(ctx, 'timeout', { min: 0, max: MAX_TIMEOUT_SECONDS, fallback: 0 })
    const follow = optionFlag(ctx, 'follow')
    const receipts = !optionFlag(ctx, 'no-receipts')
    const client = await ctx.session.client()
    await client.sync()
    const conversation = await resolveConversation(client, ctx.positionals[0]!, { createDirect: false })
    const messages = await client.history(conversation.id, limit)
    const unread = messages.filter((m) => !m.own).map((m) => m.id)
    const sendReceipts = receipts && conversation.active
    if (sendReceipts && unread.length > 0) await client.markRead(conversation.id, unread)
    if (!follow) {
      ctx.out.result({ conversation: conversation.id, messages: messages.map(messageDoc) }, () =>
        messages.map(formatMessage).join('\n'),
      )
      return
    }
    for (const m of messages)
      ctx.out.event({ type: 'message', message: messageDoc(m) }, () => formatMessage(m))
    await new Promise<void>((resolve) => {
      const unsubscribe = client.subscribe((event) => {
        if (!concernsConversation(event, conversation.id)) return
        const line = formatEvent(event)
        if (ctx.out.json) ctx.out.event(eventDoc(event), () => '')
        else if (line !== undefined) ctx.out.event(undefined, () => line)
        if (event.type === 'message' && !event.message.own && sendReceipts) {
          client.markRead(conversation.id, [event.message.id]).catch(() => {})
        }
      })
      const stop = () => {
        unsubscribe()
        clearTimeout(timer)
        resolve()
      }
      const timer = timeout > 0 ? setTimeout(stop, timeout * 1000) : undefined
      ctx.signal.addEventListener('abort', stop, { once: true })
    })
  },
}

export function messageDoc(m: MessageRecord): Record<string, unknown> {
  return {
    id: m.id,
    conversation: m.conversationId,
    sender: m.sender,
    sentAt: m.sentAt,
    own: m.own,
    ...(m.text !== undefined ? { text: m.text } : {}),
    ...(m.file ? { file: m.file } : {}),
    edited: m.edited,
    deleted: m.deleted,
    reactions: m.reactions,
    ...(m.status ? { status: m.status } : {}),
  }
}

export function eventDoc(e: ClientEvent): Record<string, unknown> {
  if (e.type === 'message') return { type: 'message', message: messageDoc(e.message) }
  return { ...e }
}
