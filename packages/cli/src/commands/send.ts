/** `tacit send <conversation> <text>`: one message, for scripts and quick notes. */
import type { CommandContext, CommandSpec } from '../command.ts'
import { describeConversation, resolveConversation } from '../conversations.ts'
import { CliError, usageError } from '../errors.ts'
import { MAX_MESSAGE_TEXT_BYTES } from '../limits.ts'

export const sendCommand: CommandSpec = {
  name: 'send',
  summary: 'send one text message',
  description:
    'The conversation is an id (or a prefix of 6+ characters), a conversation name, or the handle\n' +
    'of a person: a 1:1 chat with them is started if there is none. The text is the remaining\n' +
    'arguments joined by spaces; "-" reads it from standard input.',
  options: {},
  positionals: [
    { name: 'conversation', description: 'id, name, or handle of the other person', identifier: true },
    { name: 'text', description: 'the message ("-" for standard input)', variadic: true },
  ],
  examples: [
    'tacit send bob "see you at 10"',
    'tacit send team-chat the build is green',
    'echo "from a script" | tacit send 3f9a1c - --json',
  ],
  async run(ctx) {
    const [ref, ...words] = ctx.positionals
    const text = words.length === 1 && words[0] === '-' ? await readStdinText(ctx) : words.join(' ')
    checkMessageText(text)
    const client = await ctx.session.client()
    const conversation = await resolveConversation(client, ref!, { createDirect: true })
    const sent = await client.sendText(conversation.id, text)
    ctx.out.result(
      { conversation: conversation.id, message: { id: sent.id, sentAt: sent.sentAt } },
      () => `sent ${sent.id.slice(0, 8)} to ${describeConversation(conversation)}`,
    )
  },
}

export function checkMessageText(text: string): void {
  if (text.trim().length === 0) throw usageError('the message is empty')
  if (Buffer.byteLength(text, 'utf8') > MAX_MESSAGE_TEXT_BYTES) {
    throw usageError(`the message is longer than ${MAX_MESSAGE_TEXT_BYTES} bytes (send it as a file)`)
  }
}

async function readStdinText(ctx: CommandContext): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of ctx.stdin) {
    const b = chunk as Buffer
    size += b.length
    if (size > MAX_MESSAGE_TEXT_BYTES) {
      throw usageError(`the message is longer than ${MAX_MESSAGE_TEXT_BYTES} bytes (send it as a file)`)
    }
    chunks.push(b)
    if (ctx.signal.aborted) throw new CliError('interrupted', 'interrupted')
  }
  return Buffer.concat(chunks).toString('utf8').replace(/\n$/, '')
}
