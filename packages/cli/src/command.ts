/**
 * What a command is: its name, help text, options and positional arguments, and the function that
 * runs it. Parsing uses node:util `parseArgs` in strict mode over the command's options merged
 * with the global ones, so global flags may come before or after the command name.
 */
import type { Readable } from 'node:stream'
import { parseArgs } from 'node:util'
import { usageError } from './errors.ts'
import { MAX_PATH_CHARS, MAX_POSITIONALS, MAX_URL_CHARS } from './limits.ts'
import type { Output } from './output.ts'
import type { Session } from './session.ts'

export interface OptionSpec {
  readonly type: 'string' | 'boolean'
  readonly short?: string
  readonly multiple?: boolean
  /** Shown in help, e.g. `--name <name>`. */
  readonly valueName?: string
  readonly description: string
}

export interface PositionalSpec {
  readonly name: string
  readonly description: string
  readonly optional?: boolean
  /** Takes every remaining argument. */
  readonly variadic?: boolean
}

export interface CommandSpec {
  /** Full name, e.g. `group create`. */
  readonly name: string
  readonly summary: string
  readonly description?: string
  readonly options: Readonly<Record<string, OptionSpec>>
  readonly positionals: readonly PositionalSpec[]
  readonly examples: readonly string[]
  run(ctx: CommandContext): Promise<void>
}

/** A command with subcommands (`account`, `file`, `group`, `devices`). */
export interface CommandGroup {
  readonly name: string
  readonly summary: string
  readonly subcommands: readonly CommandSpec[]
  /** Run when no subcommand is named (e.g. `tacit devices` lists). */
  readonly defaultSubcommand?: string
}

export interface GlobalOptions {
  readonly server: string | undefined
  readonly profile: string | undefined
  readonly json: boolean
}

export interface CommandContext {
  readonly options: Readonly<Record<string, string | boolean | string[] | undefined>>
  readonly positionals: readonly string[]
  readonly globals: GlobalOptions
  readonly out: Output
  readonly session: Session
  readonly env: NodeJS.ProcessEnv
  readonly stdin: Readable & { isTTY?: boolean }
  /** Aborted on Ctrl-C or SIGTERM; long-running commands stop cleanly. */
  readonly signal: AbortSignal
}

export const GLOBAL_OPTIONS = {
  server: {
    type: 'string',
    valueName: 'url',
    description: 'server to use (env TACIT_SERVER; remembered in the profile after `account create`)',
  },
  profile: {
    type: 'string',
    valueName: 'dir',
    description: 'folder of the encrypted local store (env TACIT_PROFILE; default ~/.tacit)',
  },
  json: { type: 'boolean', description: 'machine output: one JSON document, or JSON lines for streams' },
  help: { type: 'boolean', short: 'h', description: 'show help for the command' },
} as const satisfies Record<string, OptionSpec>

export interface ParsedCommandLine {
  readonly options: Record<string, string | boolean | string[] | undefined>
  readonly positionals: string[]
  readonly globals: GlobalOptions
  readonly help: boolean
}

type ParseArgsOptions = NonNullable<Parameters<typeof parseArgs>[0]>['options']

/** Parses the arguments after the command name against the command's options and the globals. */
export function parseCommandLine(
  spec: Pick<CommandSpec, 'options' | 'positionals' | 'name'>,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): ParsedCommandLine {
  const options: ParseArgsOptions = {}
  for (const [name, o] of Object.entries({ ...GLOBAL_OPTIONS, ...spec.options })) {
    const opt: OptionSpec = o
    options[name] = {
      type: opt.type,
      ...(opt.short ? { short: opt.short } : {}),
      ...(opt.multiple ? { multiple: true } : {}),
    }
  }
  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({ args: attachValues(args, options), options, allowPositionals: true, strict: true })
  } catch (error) {
    // parseArgs's messages quote only the flag the user typed.
    const message = error instanceof Error ? (error.message.split('\n')[0] ?? '') : 'bad arguments'
    throw usageError(
      `${message.replace(/\. To specify a positional.*$/, '')} (see: tacit ${spec.name} --help)`,
    )
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>
  const help = values.help === true
  const positionals = parsed.positionals
  if (!help) checkPositionals(spec, positionals)
  const server = stringValue(values.server) ?? nonEmpty(env.TACIT_SERVER)
  const profile = stringValue(values.profile) ?? nonEmpty(env.TACIT_PROFILE)
  if (server !== undefined) checkServerUrl(server)
  if (profile !== undefined && profile.length > MAX_PATH_CHARS) {
    throw usageError(`--profile is longer than ${MAX_PATH_CHARS} characters`)
  }
  return {
    options: values,
    positionals,
    help,
    globals: { server, profile, json: values.json === true },
  }
}

/**
 * `--invite -x3…` is refused by parseArgs as ambiguous (is `-x3…` a value or an option?). Values
 * here are random base64url (invites, device ids) and may start with '-', so a token after an
 * option that takes a value is always that value: it is attached (`--invite=-x3…`, `-o-x`).
 */
function attachValues(args: readonly string[], options: ParseArgsOptions): string[] {
  const takesValue = new Set<string>()
  for (const [name, o] of Object.entries(options ?? {})) {
    if (o.type !== 'string') continue
    takesValue.add(`--${name}`)
    if (o.short) takesValue.add(`-${o.short}`)
  }
  const out: string[] = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === '--') {
      out.push(...args.slice(i))
      break
    }
    const value = args[i + 1]
    if (takesValue.has(arg) && value !== undefined) {
      out.push(arg.startsWith('--') ? `${arg}=${value}` : `${arg}${value}`)
      i++
    } else out.push(arg)
  }
  return out
}

function checkPositionals(spec: Pick<CommandSpec, 'positionals' | 'name'>, positionals: string[]): void {
  if (positionals.length > MAX_POSITIONALS) {
    throw usageError(`too many arguments (at most ${MAX_POSITIONALS})`)
  }
  const required = spec.positionals.filter((p) => !p.optional).length
  const variadic = spec.positionals.some((p) => p.variadic)
  if (positionals.length < required) {
    const missing = spec.positionals[positionals.length]
    throw usageError(`missing <${missing?.name ?? 'argument'}> (see: tacit ${spec.name} --help)`)
  }
  if (!variadic && positionals.length > spec.positionals.length) {
    throw usageError(
      `unexpected argument "${clip(positionals[spec.positionals.length] ?? '')}" (see: tacit ${spec.name} --help)`,
    )
  }
}

export function checkServerUrl(value: string): void {
  if (value.length > MAX_URL_CHARS) throw usageError(`--server is longer than ${MAX_URL_CHARS} characters`)
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw usageError('--server is not a URL (e.g. https://chat.example.org)')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw usageError('--server must be an http:// or https:// URL')
  }
}

function stringValue(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v
}

/** Quotes user input in a message without letting a pasted secret run on. */
export function clip(value: string, max = 40): string {
  return value.length > max ? `${value.slice(0, max)}…` : value
}

export function optionString(ctx: CommandContext, name: string): string | undefined {
  const v = ctx.options[name]
  return typeof v === 'string' ? v : undefined
}

export function optionFlag(ctx: CommandContext, name: string): boolean {
  return ctx.options[name] === true
}

/** A positive integer option, bounded; `usage` error otherwise. */
export function optionInteger(
  ctx: CommandContext,
  name: string,
  bounds: { min: number; max: number; fallback: number },
): number {
  const raw = optionString(ctx, name)
  if (raw === undefined) return bounds.fallback
  if (!/^\d{1,12}$/.test(raw)) throw usageError(`--${name} takes a whole number`)
  const n = Number(raw)
  if (n < bounds.min || n > bounds.max) {
    throw usageError(`--${name} must be between ${bounds.min} and ${bounds.max}`)
  }
  return n
}
