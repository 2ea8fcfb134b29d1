/**
 * What a command is: its name, help text, options and positional arguments, and the function that
 * runs it. Parsing uses node:util `parseArgs` in strict mode over the command's options merged
 * with the global ones, so global flags may come before or after the command name.
 */
import type { Readable } from 'node:stream'
import { parseArgs } from 'node:util'
import { usageError } from './errors.ts'
import { MAX_PATH_CHARS, MAX_POSITIONALS, MAX_URL_CHARS, MIN_ID_PREFIX } from './limits.ts'
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
  /**
   * Names something by a random base64url id (or a prefix of it), which starts with '-' one time
   * in 64: in this slot such a token is the argument, not an unknown option (see `splitArguments`).
   */
  readonly identifier?: boolean
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
    parsed = parseArgs({
      args: splitArguments(args, spec, options),
      options,
      allowPositionals: true,
      strict: true,
    })
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

/** What a long option looks like; such a token is never taken for an id, so a typo is reported. */
const OPTION_NAME = /^--[a-z]+(?:-[a-z]+)*(?:=.*)?$/s
/** An id, or a prefix of one long enough to name it (`-x` stays an unknown option). */
const ID_LIKE = new RegExp(`^-[A-Za-z0-9_-]{${MIN_ID_PREFIX},}$`)

/**
 * Sorts the arguments into options and positionals and hands parseArgs `[...options, '--',
 * ...positionals]`, so that it checks the options strictly and takes the positionals as they are.
 * Invite codes, device and conversation ids are random base64url and may start with '-', which
 * parseArgs would read as an option:
 * - a token after an option that takes a value is that value (`--invite -x3…`, `-o -x`);
 * - in a positional slot marked `identifier`, an id-like token that is not one of the command's
 *   options is the id (`tacit read -nQp6A9…`); a short option takes its value there from the next
 *   token (`-o file`), not attached;
 * - `--` ends the options.
 */
function splitArguments(
  args: readonly string[],
  spec: Pick<CommandSpec, 'positionals'>,
  options: ParseArgsOptions,
): string[] {
  const known = options ?? {}
  const takesValue = new Map<string, string>()
  const booleanShorts = new Set<string>()
  for (const [name, o] of Object.entries(known)) {
    if (o.type === 'string') {
      takesValue.set(`--${name}`, `--${name}=`)
      if (o.short) takesValue.set(`-${o.short}`, `-${o.short}`)
    } else if (o.short) booleanShorts.add(o.short)
  }
  // Every long option's name is lowercase words (OPTION_NAME), so only a cluster of short flags
  // (`-fh`) needs looking up.
  const isShortFlags = (arg: string) => [...arg.slice(1)].every((c) => booleanShorts.has(c))
  const slot = (index: number): PositionalSpec | undefined => {
    const last = spec.positionals.at(-1)
    return index >= spec.positionals.length && last?.variadic ? last : spec.positionals[index]
  }
  const flags: string[] = []
  const positionals: string[] = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === '--') {
      positionals.push(...args.slice(i + 1))
      break
    }
    const value = args[i + 1]
    const attach = takesValue.get(arg)
    if (attach !== undefined && value !== undefined) {
      flags.push(`${attach}${value}`)
      i++
    } else if (arg.length < 2 || !arg.startsWith('-')) positionals.push(arg)
    else if (
      slot(positionals.length)?.identifier === true &&
      ID_LIKE.test(arg) &&
      !OPTION_NAME.test(arg) &&
      !isShortFlags(arg)
    )
      positionals.push(arg)
    else flags.push(arg)
  }
  return [...flags, '--', ...positionals]
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
