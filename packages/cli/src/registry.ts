/** Every `tacit` command, in the order `tacit --help` lists them. */
import type { CommandGroup, CommandSpec } from './command.ts'
import { accountCommands } from './commands/account.ts'
import { chatCommand } from './commands/chat.ts'
import { deviceCommands } from './commands/devices.ts'
import { fileCommands } from './commands/file.ts'
import { groupCommands } from './commands/group.ts'
import { readCommand } from './commands/read.ts'
import { sendCommand } from './commands/send.ts'
import { verifyCommand } from './commands/verify.ts'

export type CommandEntry = CommandSpec | CommandGroup

export const COMMANDS: readonly CommandEntry[] = [
  accountCommands,
  chatCommand,
  sendCommand,
  readCommand,
  fileCommands,
  groupCommands,
  verifyCommand,
  deviceCommands,
]

export function isGroup(entry: CommandEntry): entry is CommandGroup {
  return 'subcommands' in entry
}

/** Every runnable command, subcommands by their full name (`group create`). */
export function allCommands(): CommandSpec[] {
  return COMMANDS.flatMap((e) => (isGroup(e) ? [...e.subcommands] : [e]))
}
