/** `tacit devices [list|revoke]`: the devices of your account. */
import type { CommandGroup, CommandSpec } from '../command.ts'
import { CliError, usageError } from '../errors.ts'
import { formatTime } from '../ui/format.ts'

const DEVICE_ID_PATTERN = /^[A-Za-z0-9_-]{22}$/

const list: CommandSpec = {
  name: 'devices list',
  summary: 'list the devices of your account',
  options: {},
  positionals: [],
  examples: ['tacit devices', 'tacit devices list --json'],
  async run(ctx) {
    const client = await ctx.session.client()
    const devices = await client.devices()
    ctx.out.result({ devices }, () =>
      devices
        .map(
          (d) =>
            `${d.deviceId}  ${d.current ? 'this device' : 'other device'}` +
            `${d.createdAt !== undefined ? `  added ${formatTime(d.createdAt)}` : ''}${d.revoked ? '  REVOKED' : ''}`,
        )
        .join('\n'),
    )
  },
}

const revoke: CommandSpec = {
  name: 'devices revoke',
  summary: 'revoke one of your devices (lost or stolen): it is removed from every conversation',
  options: {},
  positionals: [{ name: 'device-id', description: 'as `tacit devices` shows it', identifier: true }],
  examples: ['tacit devices revoke Zt3k0Qy2Jd7w8PzQmV0xbA'],
  async run(ctx) {
    const id = ctx.positionals[0]!
    if (!DEVICE_ID_PATTERN.test(id)) throw usageError('a device id is 22 characters of A-Z a-z 0-9 _ -')
    const client = await ctx.session.client()
    if (id === client.account.deviceId) {
      throw usageError('that is this device: revoke it from another one')
    }
    const devices = await client.devices()
    if (!devices.some((d) => d.deviceId === id))
      throw new CliError('not-found', `no device ${id} in your account`)
    await client.revokeDevice(id)
    ctx.out.result({ revoked: id }, () => `revoked ${id}`)
  },
}

export const deviceCommands: CommandGroup = {
  name: 'devices',
  summary: 'list and revoke the devices of your account',
  subcommands: [list, revoke],
  defaultSubcommand: 'list',
}
