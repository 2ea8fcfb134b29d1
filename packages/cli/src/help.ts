/** Help text: `tacit --help`, `tacit <group> --help`, `tacit <command> --help`. */
import { type CommandGroup, type CommandSpec, GLOBAL_OPTIONS, type OptionSpec } from './command.ts'
import { EXIT_CODES } from './errors.ts'
import { COMMANDS, isGroup } from './registry.ts'

function optionLine(name: string, o: OptionSpec): string {
  const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.valueName ? ` <${o.valueName}>` : ''}`
  return `  ${flag.padEnd(28)} ${o.description}`
}

function globalsBlock(): string[] {
  return ['Global options:', ...Object.entries(GLOBAL_OPTIONS).map(([n, o]) => optionLine(n, o))]
}

export function renderMainHelp(): string {
  const rows: string[] = []
  for (const e of COMMANDS) {
    if (isGroup(e)) {
      for (const s of e.subcommands) rows.push(`  ${shortUsage(s).padEnd(40)} ${s.summary}`)
    } else rows.push(`  ${shortUsage(e).padEnd(40)} ${e.summary}`)
  }
  return [
    'tacit: end-to-end encrypted messaging and files from the command line',
    '',
    'Usage: tacit [global options] <command> [options] [arguments]',
    '',
    'Commands:',
    ...rows,
    '',
    ...globalsBlock(),
    '',
    'Environment:',
    '  TACIT_SERVER       server URL (same as --server)',
    '  TACIT_PROFILE      profile folder (same as --profile)',
    '  TACIT_PASSPHRASE   passphrase of the profile (otherwise asked at a hidden prompt)',
    '',
    exitCodesBlock(),
    '',
    'Run `tacit <command> --help` for the options and examples of each command.',
  ].join('\n')
}

export function exitCodesBlock(): string {
  const meaning: Record<keyof typeof EXIT_CODES, string> = {
    ok: 'success',
    usage: 'bad command line (unknown command or option, missing or invalid argument)',
    auth: 'wrong or missing passphrase, no account in the profile, server refused the device',
    network: 'server unreachable or failed',
    verification: 'verification or cryptographic check failed (keys, signatures, file digest)',
    'not-found': 'no such conversation, member, device, message or file',
    'not-available': 'the operation is not available in this build yet',
    conflict: 'exists already (account in the profile, output file)',
    io: 'a local file could not be read or written',
    internal: 'internal error: a bug, please report it',
    interrupted: 'interrupted (Ctrl-C)',
  }
  return [
    'Exit codes:',
    ...Object.entries(EXIT_CODES).map(
      ([k, v]) => `  ${String(v).padStart(3)}  ${meaning[k as keyof typeof EXIT_CODES]}`,
    ),
  ].join('\n')
}

export function renderGroupHelp(group: CommandGroup): string {
  return [
    `tacit ${group.name}: ${group.summary}`,
    '',
    'Usage:',
    ...group.subcommands.map((s) => `  ${usageOf(s).padEnd(46)} ${s.summary}`),
    ...(group.defaultSubcommand
      ? ['', `\`tacit ${group.name}\` alone runs \`tacit ${group.name} ${group.defaultSubcommand}\`.`]
      : []),
    '',
    `Run \`tacit ${group.name} <subcommand> --help\` for details and examples.`,
  ].join('\n')
}

export function usageOf(spec: CommandSpec): string {
  const args = spec.positionals.map((p) => {
    const inner = `<${p.name}>${p.variadic ? '...' : ''}`
    return p.optional ? `[${inner}]` : inner
  })
  const hasOptions = Object.keys(spec.options).length > 0
  return ['tacit', spec.name, ...(hasOptions ? ['[options]'] : []), ...args].join(' ')
}

function shortUsage(spec: CommandSpec): string {
  return [spec.name, ...spec.positionals.map((p) => `<${p.name}>${p.variadic ? '...' : ''}`)].join(' ')
}

export function renderCommandHelp(spec: CommandSpec): string {
  const lines = [`Usage: ${usageOf(spec)}`, '', spec.summary]
  if (spec.description) lines.push('', spec.description)
  if (spec.positionals.length > 0) {
    lines.push('', 'Arguments:')
    for (const p of spec.positionals) lines.push(`  ${`<${p.name}>`.padEnd(28)} ${p.description}`)
  }
  const options = Object.entries(spec.options)
  if (options.length > 0) {
    lines.push('', 'Options:')
    for (const [n, o] of options) lines.push(optionLine(n, o))
  }
  lines.push('', ...globalsBlock(), '', 'Examples:', ...spec.examples.map((e) => `  ${e}`))
  return lines.join('\n')
}
