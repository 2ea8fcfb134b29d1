/** `tacit account create|show|link`: the profile's account and this device. */
import type { AccountSummary } from '../client-api.ts'
import { type CommandGroup, type CommandSpec, clip, optionString } from '../command.ts'
import { checkHandles } from '../conversations.ts'
import { usageError } from '../errors.ts'
import { renderQr } from '../ui/qr.ts'

/** Invite codes are 16 random bytes in base64url (the server's format). */
const INVITE_PATTERN = /^[A-Za-z0-9_-]{16,64}$/
const MAX_LINK_CODE_CHARS = 4096

function describeAccount(a: AccountSummary, profile: string): Record<string, string> {
  return {
    handle: a.handle,
    deviceId: a.deviceId,
    server: a.server,
    profile,
    identityKey: Buffer.from(a.identityKey).toString('hex'),
  }
}

function humanAccount(doc: Record<string, string>): string {
  return [
    `handle        ${doc.handle}`,
    `device        ${doc.deviceId}`,
    `server        ${doc.server}`,
    `profile       ${doc.profile}`,
    `identity key  ${doc.identityKey}`,
  ].join('\n')
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
  summary: 'link a new device to your account (run on the new device, approve on an old one)',
  description:
    'On the NEW device: `tacit account link --server URL` shows a link code (QR) and waits.\n' +
    'On a device that already has the account: `tacit account link --approve CODE` sends the\n' +
    'account material to the new device over an encrypted channel through the server.',
  options: {
    approve: { type: 'string', valueName: 'code', description: 'approve the new device showing this code' },
  },
  positionals: [],
  examples: [
    'tacit --profile ./laptop --server https://chat.example.org account link',
    'tacit account link --approve tacit-link:…',
  ],
  async run(ctx) {
    const approve = optionString(ctx, 'approve')
    if (approve !== undefined) {
      if (approve.length === 0 || approve.length > MAX_LINK_CODE_CHARS)
        throw usageError('that is not a link code')
      const client = await ctx.session.client()
      const linked = await client.approveLink(approve)
      ctx.out.result({ linked: { deviceId: linked.deviceId } }, () => `device ${linked.deviceId} linked`)
      return
    }
    const client = await ctx.session.linkDevice((code) => {
      const qr = renderQr(new TextEncoder().encode(code))
      if (ctx.out.json) ctx.out.event({ event: 'link-code', code }, () => code)
      else {
        if (qr) ctx.out.note(qr)
        ctx.out.note('On a device that has your account, run:')
        ctx.out.note(`  tacit account link --approve ${code}`)
        ctx.out.note('Waiting for the approval… (Ctrl-C to give up)')
      }
    })
    const doc = describeAccount(client.account, ctx.session.profileDir)
    if (ctx.out.json) ctx.out.event({ event: 'linked', account: doc }, () => '')
    else ctx.out.result(undefined, () => `device linked\n${humanAccount(doc)}`)
  },
}

export const accountCommands: CommandGroup = {
  name: 'account',
  summary: 'create an account, show it, link another device',
  subcommands: [create, show, link],
  defaultSubcommand: 'show',
}
