/** `tacit account create|show|link`: the profile's account and this device. */
import { createInterface } from 'node:readline'
import type { AccountSummary } from '../client-api.ts'
import { type CommandContext, type CommandGroup, type CommandSpec, clip, optionString } from '../command.ts'
import { checkHandles } from '../conversations.ts'
import { usageError } from '../errors.ts'
import { renderQrIfFits } from '../ui/qr.ts'

/** Invite codes are 16 random bytes in base64url (the server's format). */
const INVITE_PATTERN = /^[A-Za-z0-9_-]{16,64}$/
const MAX_LINK_CODE_CHARS = 4096

function describeAccount(a: AccountSummary, profile: string): Record<string, string> {
  return {
    handle: a.handle,
    deviceId: a.deviceId,
    ...(a.server !== undefined ? { server: a.server } : {}),
    profile,
    ...(a.identityKey !== undefined ? { identityKey: Buffer.from(a.identityKey).toString('hex') } : {}),
  }
}

function humanAccount(doc: Record<string, string>): string {
  return [
    `handle        ${doc.handle}`,
    `device        ${doc.deviceId}`,
    doc.server !== undefined ? `server        ${doc.server}` : '',
    `profile       ${doc.profile}`,
    doc.identityKey !== undefined ? `identity key  ${doc.identityKey}` : '',
  ]
    .filter(Boolean)
    .join('\n')
}

const create: CommandSpec = {
  name: 'account create',
  summary: 'create an account on a server with an invite code, and this device as its first',
  description:
    'Makes a new identity key and this device, registers both with the server using an invite\n' +
    'code from its administrator, and stores everything in the profile folder, encrypted under\n' +
    'a passphrase (asked twice, or TACIT_PASSPHRASE). The server is remembered in the profile.',
  options: {
    invite: { type: 'string', valueName: 'code', description: 'invite code from the server administrator' },
  },
  positionals: [{ name: 'handle', description: 'your handle: 2–32 of a-z 0-9 . _ -' }],
  examples: [
    'tacit --server https://chat.example.org account create --invite Q2hhbmdlIG1lIQ alice',
    'TACIT_PASSPHRASE=… tacit --profile ./alice --server http://127.0.0.1:8080 account create --invite CODE alice --json',
  ],
  async run(ctx) {
    const [handle] = checkHandles(ctx.positionals, 1)
    const invite = optionString(ctx, 'invite')
    if (invite === undefined) throw usageError('missing --invite <code> (ask the server administrator)')
    if (!INVITE_PATTERN.test(invite)) throw usageError(`"${clip(invite, 12)}" is not an invite code`)
    const client = await ctx.session.createAccount(handle!, invite)
    const doc = describeAccount(client.account, ctx.session.profileDir)
    ctx.out.result({ account: doc }, () => `account created\n${humanAccount(doc)}`)
  },
}

const show: CommandSpec = {
  name: 'account show',
  summary: "show the profile's handle, device, server and identity key",
  options: {},
  positionals: [],
  examples: ['tacit account show', 'tacit --profile ./alice account show --json'],
  async run(ctx) {
    const client = await ctx.session.client()
    const doc = describeAccount(client.account, ctx.session.profileDir)
    ctx.out.result({ account: doc }, () => humanAccount(doc))
  },
}

const link: CommandSpec = {
  name: 'account link',
  summary: 'link a new device to your account (start on the new device, approve on an old one)',
  description:
    '1. On the NEW device: `tacit --profile DIR --server URL account link` makes a new profile\n' +
    '   and shows a link code (as a QR code, or text).\n' +
    '2. On a device that has the account: `tacit account link --approve CODE` registers the new\n' +
    '   device, sends it your account over an encrypted channel through the server, adds it to\n' +
    '   your conversations, and prints an answer.\n' +
    '3. Back on the new device: paste the answer at the prompt (or, if step 1 was left, run\n' +
    '   `tacit account link --answer ANSWER`). The answer may also come on standard input.',
  options: {
    approve: {
      type: 'string',
      valueName: 'code',
      description: 'step 2: approve the new device showing this code',
    },
    answer: { type: 'string', valueName: 'answer', description: 'step 3: finish linking with this answer' },
  },
  positionals: [],
  examples: [
    'tacit --profile ~/.tacit-laptop --server https://chat.example.org account link',
    'tacit account link --approve tacit-link:…',
    'tacit --profile ~/.tacit-laptop account link --answer …',
  ],
  async run(ctx) {
    const approve = optionString(ctx, 'approve')
    const answerOption = optionString(ctx, 'answer')
    if (approve !== undefined && answerOption !== undefined)
      throw usageError('--approve and --answer: one or the other')
    if (approve !== undefined) {
      checkLinkText(approve, 'link code')
      const client = await ctx.session.client()
      const { answer } = await client.approveLink(approve)
      ctx.out.result({ answer }, () => `Approved. On the new device, enter this answer:\n${answer}`)
      return
    }
    let answer = answerOption
    if (answer === undefined) {
      const code = await ctx.session.beginLink()
      if (ctx.out.json) ctx.out.event({ event: 'link-code', code }, () => '')
      else {
        const stderr = ctx.out.streams.stderr
        const qr = renderQrIfFits(new TextEncoder().encode(code), stderr.isTTY ? stderr.columns : undefined)
        if (qr) ctx.out.note(qr)
        ctx.out.note(`Link code:\n${code}\n`)
        ctx.out.note('On a device that has your account, run:')
        ctx.out.note(`  tacit account link --approve ${code}`)
        ctx.out.note('then enter the answer it prints here.')
      }
      answer = await readAnswer(ctx)
      if (answer === undefined) {
        ctx.out.note('no answer given: finish later with `tacit account link --answer ANSWER`')
        return
      }
    }
    checkLinkText(answer, 'answer')
    const client = await ctx.session.completeLink(answer)
    const doc = describeAccount(client.account, ctx.session.profileDir)
    if (ctx.out.json) ctx.out.event({ event: 'linked', account: doc }, () => '')
    else ctx.out.result(undefined, () => `device linked\n${humanAccount(doc)}`)
  },
}

function checkLinkText(value: string, what: string): void {
  if (value.length === 0 || value.length > MAX_LINK_CODE_CHARS || /\s/.test(value)) {
    throw usageError(`that is not a ${what}`)
  }
}

/** One line from the terminal (a visible prompt) or from a pipe; undefined at end of input. */
async function readAnswer(ctx: CommandContext): Promise<string | undefined> {
  const rl = createInterface({
    input: ctx.stdin,
    output: ctx.stdin.isTTY ? ctx.out.streams.stderr : undefined,
    terminal: ctx.stdin.isTTY === true,
  })
  try {
    const line = await new Promise<string | undefined>((resolve) => {
      rl.once('line', (l) => resolve(l.trim()))
      rl.once('close', () => resolve(undefined))
      ctx.signal.addEventListener('abort', () => resolve(undefined), { once: true })
      if (ctx.stdin.isTTY) rl.setPrompt('Answer: ')
      if (ctx.stdin.isTTY) rl.prompt()
    })
    return line === '' ? undefined : line
  } finally {
    rl.close()
  }
}

export const accountCommands: CommandGroup = {
  name: 'account',
  summary: 'create an account, show it, link another device',
  subcommands: [create, show, link],
  defaultSubcommand: 'show',
}
