/**
 * How a user names a conversation on the command line: its id (or an unambiguous prefix of at
 * least `MIN_ID_PREFIX` characters), its name, or the handle of the other person of a 1:1 chat.
 * `send` and `chat` to a handle with no 1:1 chat yet start one.
 */
import { isValidHandle } from '@tacit/protocol/credential'
import type { CliClient, ConversationSummary } from './client-api.ts'
import { clip } from './command.ts'
import { CliError, usageError } from './errors.ts'
import { MIN_ID_PREFIX } from './limits.ts'

export async function resolveConversation(
  client: CliClient,
  ref: string,
  options: { readonly createDirect: boolean },
): Promise<ConversationSummary> {
  // Names, members and conversations others started while this device was away are in the
  // mailbox: apply it (once per run) before matching `ref`, or a 1:1 chat bob started would be
  // missed and a second one created.
  await client.sync()
  const all = await client.listConversations()
  const byId = all.find((c) => c.id === ref)
  if (byId) return byId
  if (ref.length >= MIN_ID_PREFIX) {
    const prefixed = all.filter((c) => c.id.startsWith(ref))
    if (prefixed.length === 1) return prefixed[0]!
    if (prefixed.length > 1) throw ambiguous(ref, prefixed)
  }
  const named = all.filter((c) => c.name === ref)
  if (named.length === 1) return named[0]!
  if (named.length > 1) throw ambiguous(ref, named)
  const own = client.account.handle
  if (isValidHandle(ref) && ref !== own) {
    // A 1:1 chat is an unnamed conversation of exactly the two of us; a named group that
    // happens to have two members is not one (it is reached by its name).
    const direct = all.find(
      (c) =>
        c.name === undefined && c.members.length === 2 && c.members.includes(ref) && c.members.includes(own),
    )
    if (direct) return direct
    if (options.createDirect) return client.createConversation([ref], undefined)
  }
  throw new CliError('not-found', `no conversation "${clip(ref)}" (see: tacit group list)`)
}

function ambiguous(ref: string, matches: readonly ConversationSummary[]): CliError {
  const ids = matches
    .slice(0, 5)
    .map((c) => c.id.slice(0, 12))
    .join(', ')
  return usageError(`"${clip(ref)}" names ${matches.length} conversations (${ids}…): use an id`)
}

export function checkHandles(handles: readonly string[], max: number): string[] {
  if (handles.length > max) throw usageError(`at most ${max} members at once`)
  const out: string[] = []
  for (const h of handles) {
    const handle = h.startsWith('@') ? h.slice(1) : h
    if (!isValidHandle(handle)) {
      throw usageError(
        `"${clip(h)}" is not a handle (2–32 of a-z 0-9 . _ -, starting with a letter or digit)`,
      )
    }
    if (!out.includes(handle)) out.push(handle)
  }
  return out
}

/** `#abc123 name (alice, bob)` */
export function describeConversation(c: ConversationSummary): string {
  const name = c.name ?? '(no name)'
  return `${c.id.slice(0, 12)}  ${name}  ${c.active ? `[${c.members.join(', ')}]` : '(you were removed)'}`
}
