/**
 * `tacit chat <conversation>`: an interactive conversation in the terminal. Incoming messages,
 * edits, reactions and membership changes appear above the prompt while you type; others'
 * typing shows in the prompt; your own typing is announced to them (and withdrawn after
 * `TYPING_IDLE_MS` without input). Messages shown are marked read.
 */
import type { CliClient, ClientEvent, ConversationSummary, MessageRecord } from '../client-api.ts'
import { type CommandContext, type CommandSpec, optionInteger } from '../command.ts'
import { resolveConversation } from '../conversations.ts'
import { classifyError, usageError } from '../errors.ts'
import { MAX_READ_LIMIT, MAX_TIMEOUT_SECONDS } from '../limits.ts'
import { ChatScreen } from '../ui/chat-screen.ts'
import { concernsConversation, formatEvent, formatMessage, sanitize } from '../ui/format.ts'
import { eventDoc, messageDoc } from './read.ts'
import { checkMessageText } from './send.ts'

/** After this long without a keystroke we tell the others we stopped typing. */
export const TYPING_IDLE_MS = 5000
const DEFAULT_HISTORY = 20

const HELP_LINES = [
  'commands:',
  '  /quit              leave the chat (also Ctrl-D or Ctrl-C)',
  '  /members           who is in this conversation',
  '  /edit <text>       replace the text of your last message',
  '  /delete            delete your last message',
  '  /react <emoji>     react to the last message from someone else',
  '  /help              this list',
  'anything else is sent as a message ("//text" sends "/text")',
]

export const chatCommand: CommandSpec = {
  name: 'chat',
  summary: 'chat interactively: new messages appear while you type',
  description:
    'Shows the last messages, then a prompt. Lines you enter are sent; messages from others\n' +
    'appear above the prompt without disturbing what you are typing. Type /help for commands.\n' +
    'Works with a pipe too (no prompt; each input line is a message), and with --json it prints\n' +
    'every event as one JSON object per line.',
  options: {
    history: {
      type: 'string',
      valueName: 'n',
      description: `messages shown at the start (default ${DEFAULT_HISTORY})`,
    },
    timeout: { type: 'string', valueName: 'seconds', description: 'leave after this long (default: never)' },
  },
  positionals: [
    { name: 'conversation', description: 'id, name, or handle of the other person', identifier: true },
  ],
  examples: [
    'tacit chat bob',
    'tacit chat team-chat --history 100',
    'tacit --profile ./alice chat bob --json',
  ],
  async run(ctx) {
    const historyCount = optionInteger(ctx, 'history', {
      min: 0,
      max: MAX_READ_LIMIT,
      fallback: DEFAULT_HISTORY,
    })
    const timeout = optionInteger(ctx, 'timeout', { min: 0, max: MAX_TIMEOUT_SECONDS, fallback: 0 })
    const client = await ctx.session.client()
    await client.sync()
    let conversation = await resolveConversation(client, ctx.positionals[0]!, { createDirect: true })
    const stdin = ctx.stdin
    const terminal = stdin.isTTY === true && ctx.out.streams.stdout.isTTY === true && !ctx.out.json
    const screen = new ChatScreen({
      input: stdin,
      output: ctx.out.streams.stdout,
      terminal,
      prompt: '> ',
    })
    const chat = new ChatSession(ctx, client, screen, conversation)
    const history = historyCount > 0 ? await client.history(conversation.id, historyCount) : []
    if (!ctx.out.json) {
      screen.print(`chat with ${describe(conversation)} — /help for commands, /quit to leave`)
    }
    for (const m of history) chat.show(m)
    if (conversation.active) await chat.markSeen(history)
    else screen.print('! you were removed from this conversation: you can read, not send')
    const unsubscribe = client.subscribe((event) => {
      if (!concernsConversation(event, conversation.id)) return
      if (event.type === 'conversation') conversation = event.conversation
      chat.handle(event)
    })
    screen.onLine((line) => chat.enqueue(line))
    screen.onInput(() => chat.noteTyping(), stdin)
    screen.start()
    const timer = timeout > 0 ? setTimeout(() => screen.close(), timeout * 1000) : undefined
    const onAbort = () => screen.close()
    ctx.signal.addEventListener('abort', onAbort, { once: true })
    await screen.closed
    clearTimeout(timer)
    ctx.signal.removeEventListener('abort', onAbort)
    unsubscribe()
    await chat.finish()
  },
}

function describe(c: ConversationSummary): string {
  return `${sanitize(c.name ?? c.members.join(', '))} (${c.id.slice(0, 8)})`
}

/** The conversation-side state of one chat: what to send, what was last said, who is typing. */
class ChatSession {
  readonly #ctx: CommandContext
  readonly #client: CliClient
  readonly #screen: ChatScreen
  readonly #conversation: ConversationSummary
  /** Lines are sent one at a time, in order. */
  #queue: Promise<void> = Promise.resolve()
  #typing = false
  #typingTimer: NodeJS.Timeout | undefined
  #lastOwn: string | undefined
  #lastOther: string | undefined

  constructor(ctx: CommandContext, client: CliClient, screen: ChatScreen, conversation: ConversationSummary) {
    this.#ctx = ctx
    this.#client = client
    this.#screen = screen
    this.#conversation = conversation
  }

  show(m: MessageRecord): void {
    if (m.own) this.#lastOwn = m.id
    else this.#lastOther = m.id
    if (this.#ctx.out.json) this.#ctx.out.event({ type: 'message', message: messageDoc(m) }, () => '')
    else this.#screen.print(formatMessage(m))
  }

  async markSeen(messages: readonly MessageRecord[]): Promise<void> {
    const ids = messages.filter((m) => !m.own).map((m) => m.id)
    if (ids.length > 0) await this.#client.markRead(this.#conversation.id, ids).catch(() => {})
  }

  handle(event: ClientEvent): void {
    if (event.type === 'typing') {
      if (event.sender === this.#client.account.handle) return
      if (this.#ctx.out.json) this.#ctx.out.event(eventDoc(event), () => '')
      else this.#screen.setTyping(sanitize(event.sender), event.typing)
      return
    }
    if (event.type === 'message') {
      if (!event.message.own) this.#screen.setTyping(sanitize(event.message.sender), false)
      this.show(event.message)
      if (!event.message.own) void this.markSeen([event.message])
      return
    }
    if (this.#ctx.out.json) {
      this.#ctx.out.event(eventDoc(event), () => '')
      return
    }
    const line = formatEvent(event)
    if (line !== undefined) this.#screen.print(line)
  }

  noteTyping(): void {
    if (!this.#typing) {
      this.#typing = true
      this.#client.setTyping(this.#conversation.id, true).catch(() => {})
    }
    clearTimeout(this.#typingTimer)
    this.#typingTimer = setTimeout(() => this.#stopTyping(), TYPING_IDLE_MS)
  }

  #stopTyping(): void {
    clearTimeout(this.#typingTimer)
    if (!this.#typing) return
    this.#typing = false
    this.#client.setTyping(this.#conversation.id, false).catch(() => {})
  }

  enqueue(line: string): void {
    this.#queue = this.#queue.then(() => this.#runLine(line))
  }

  async #runLine(raw: string): Promise<void> {
    const line = raw.trimEnd()
    if (line.trim() === '') return
    try {
      if (line.startsWith('/') && !line.startsWith('//')) await this.#command(line)
      else await this.#send(line.startsWith('//') ? line.slice(1) : line)
    } catch (error) {
      const e = classifyError(error)
      this.#screen.print(`! ${e.message}`)
    }
  }

  async #send(text: string): Promise<void> {
    checkMessageText(text)
    this.#stopTyping()
    const sent = await this.#client.sendText(this.#conversation.id, text)
    this.#lastOwn = sent.id
    if (this.#ctx.out.json) {
      this.#ctx.out.event({ type: 'sent', conversation: this.#conversation.id, message: sent }, () => '')
    } else if (!this.#screen.isTerminal) {
      this.#screen.print(`sent ${sent.id.slice(0, 8)}`)
    }
  }

  async #command(line: string): Promise<void> {
    const [name = '', ...rest] = line.slice(1).split(' ')
    const arg = rest.join(' ').trim()
    switch (name) {
      case 'quit':
      case 'exit':
        this.#screen.close()
        return
      case 'help':
        for (const l of HELP_LINES) this.#screen.print(l)
        return
      case 'members':
        this.#screen.print(`members: ${this.#conversation.members.map(sanitize).join(', ')}`)
        return
      case 'edit':
        if (!this.#lastOwn) throw usageError('nothing of yours to edit yet')
        checkMessageText(arg)
        await this.#client.editMessage(this.#conversation.id, this.#lastOwn, arg)
        this.#screen.print(`edited ${this.#lastOwn.slice(0, 8)}`)
        return
      case 'delete':
        if (!this.#lastOwn) throw usageError('nothing of yours to delete yet')
        await this.#client.deleteMessage(this.#conversation.id, this.#lastOwn)
        this.#screen.print(`deleted ${this.#lastOwn.slice(0, 8)}`)
        this.#lastOwn = undefined
        return
      case 'react':
        if (!this.#lastOther) throw usageError('no message from someone else yet')
        if (arg === '') throw usageError('usage: /react <emoji>')
        await this.#client.react(this.#conversation.id, this.#lastOther, arg)
        return
      default:
        this.#screen.print(`! unknown command /${sanitize(name)} (try /help)`)
    }
  }

  /** Sends what is still queued, and withdraws our typing indicator. */
  async finish(): Promise<void> {
    await this.#queue
    this.#stopTyping()
  }
}
