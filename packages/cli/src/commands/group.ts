/** `tacit group create|add|remove|list`: conversations and their members. */
import type { ConversationSummary } from '../client-api.ts'
import { type CommandGroup, type CommandSpec, optionString } from '../command.ts'
import { checkHandles, describeConversation, resolveConversation } from '../conversations.ts'
import { usageError } from '../errors.ts'
import { MAX_CONVERSATION_NAME_BYTES, MAX_MEMBERS_PER_COMMAND } from '../limits.ts'

function conversationDoc(c: ConversationSummary): Record<string, unknown> {
  return { id: c.id, name: c.name ?? null, members: c.members, active: c.active }
}

const create: CommandSpec = {
  name: 'group create',
  summary: 'start a conversation with one or more people',
  description:
    'Claims a key package for each device of each member, adds them all in one commit and sends\n' +
    'them the welcome. The name travels encrypted: the server never sees it.',
  options: {
    name: { type: 'string', valueName: 'name', description: 'conversation name, shown to members only' },
  },
  positionals: [{ name: 'handle', description: 'members to add (you are always a member)', variadic: true }],
  examples: ['tacit group create --name team-chat bob carol', 'tacit group create dave --json'],
  async run(ctx) {
    const name = optionString(ctx, 'name')
    if (name !== undefined) {
      if (name.trim().length === 0) throw usageError('--name is empty')
      if (Buffer.byteLength(name, 'utf8') > MAX_CONVERSATION_NAME_BYTES) {
        throw usageError(`--name is longer than ${MAX_CONVERSATION_NAME_BYTES} bytes`)
      }
    }
    const client = await ctx.session.client()
    const members = checkHandles(ctx.positionals, MAX_MEMBERS_PER_COMMAND).filter(
      (h) => h !== client.account.handle,
    )
    if (members.length === 0) throw usageError('name at least one other member')
    const c = await client.createConversation(members, name)
    ctx.out.result({ conversation: conversationDoc(c) }, () => `created ${describeConversation(c)}`)
  },
}

function membershipCommand(verb: 'add' | 'remove'): CommandSpec {
  return {
    name: `group ${verb}`,
    summary: verb === 'add' ? 'add people to a conversation' : 'remove people from a conversation',
    description:
      verb === 'add'
        ? 'All of their devices join in one commit; they see messages sent from now on.'
        : 'All of their devices leave in one commit; the group moves to a new epoch, so they\n' +
          'cannot read anything sent afterwards.',
    options: {},
    positionals: [
      { name: 'conversation', description: 'id or name', identifier: true },
      { name: 'handle', description: verb === 'add' ? 'people to add' : 'people to remove', variadic: true },
    ],
    examples: [`tacit group ${verb} team-chat carol`, `tacit group ${verb} 3f9a1c0b carol dave --json`],
    async run(ctx) {
      const [ref, ...rest] = ctx.positionals
      const handles = checkHandles(rest, MAX_MEMBERS_PER_COMMAND)
      if (handles.length === 0) throw usageError('name at least one member')
      const client = await ctx.session.client()
      await client.sync()
      const c = await resolveConversation(client, ref!, { createDirect: false })
      if (verb === 'add') {
        const already = handles.filter((h) => c.members.includes(h))
        if (already.length > 0) throw usageError(`already members: ${already.join(', ')}`)
        await client.addMembers(c.id, handles)
      } else {
        const missing = handles.filter((h) => !c.members.includes(h))
        if (missing.length > 0) throw usageError(`not members: ${missing.join(', ')}`)
        await client.removeMembers(c.id, handles)
      }
      const after = (await client.listConversations()).find((x) => x.id === c.id) ?? c
      ctx.out.result(
        { conversation: conversationDoc(after), [verb === 'add' ? 'added' : 'removed']: handles },
        () => `${verb === 'add' ? 'added' : 'removed'} ${handles.join(', ')}: ${describeConversation(after)}`,
      )
    },
  }
}

const list: CommandSpec = {
  name: 'group list',
  summary: 'list your conversations',
  options: {},
  positionals: [],
  examples: ['tacit group list', 'tacit group list --json | jq -r ".conversations[].id"'],
  async run(ctx) {
    const client = await ctx.session.client()
    await client.sync()
    const all = await client.listConversations()
    ctx.out.result({ conversations: all.map(conversationDoc) }, () =>
      all.length === 0 ? 'no conversations yet' : all.map(describeConversation).join('\n'),
    )
  },
}

export const groupCommands: CommandGroup = {
  name: 'group',
  summary: 'create conversations, add and remove members, list them',
  subcommands: [create, membershipCommand('add'), membershipCommand('remove'), list],
  defaultSubcommand: 'list',
}
