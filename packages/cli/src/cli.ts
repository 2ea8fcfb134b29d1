/**
 * `runCli(argv, …)`: finds the command, parses its arguments, runs it, and turns the outcome into
 * an exit code and (on failure) one line on stderr — plus, in --json mode, one JSON document
 * `{"error":{"code","message","exitCode"}}` on stdout, so scripts always get a document.
 */
import { parseArgs } from 'node:util'
import type { ClientFactory } from './client-api.ts'
import { type CommandSpec, clip, GLOBAL_OPTIONS, parseCommandLine } from './command.ts'
import { type CliError, classifyError, EXIT_CODES, usageError } from './errors.ts'
import { renderCommandHelp, renderGroupHelp, renderMainHelp } from './help.ts'
import { Output, type OutputStreams } from './output.ts'
import { COMMANDS, isGroup } from './registry.ts'
import { Session } from './session.ts'

/** Stack frames printed with an internal error (a bug report needs the place, not the data). */
const MAX_REPORTED_FRAMES = 8

export interface CliIo extends OutputStreams {
  readonly stdin: NodeJS.ReadStream
}

export interface CliRun {
  readonly argv: readonly string[]
  readonly env: NodeJS.ProcessEnv
  readonly io: CliIo
  readonly factory: ClientFactory
  readonly signal: AbortSignal
}

interface Located {
  readonly spec: CommandSpec | undefined
  /** Help text to print instead of running (with the exit code to use). */
  readonly help: { readonly text: string; readonly exitCode: number } | undefined
  readonly rest: string[]
}

/** Finds the command words among the arguments; global flags may come before them. */
function locateCommand(argv: readonly string[]): Located {
  const { tokens } = parseArgs({
    args: [...argv],
    options: GLOBAL_OPTIONS,
    allowPositionals: true,
    strict: false,
    tokens: true,
  })
  const positionals = tokens.filter((t) => t.kind === 'positional')
  const wantsHelp = tokens.some((t) => t.kind === 'option' && t.name === 'help')
  const remove = (indices: number[]) => argv.filter((_, i) => !indices.includes(i))
  const first = positionals[0]
  if (!first) {
    return { spec: undefined, help: { text: renderMainHelp(), exitCode: wantsHelp ? 0 : 1 }, rest: [] }
  }
  if (first.value === 'help') {
    const words = positionals.slice(1).map((p) => p.value)
    return { spec: undefined, help: { text: helpFor(words), exitCode: 0 }, rest: [] }
  }
  const entry = COMMANDS.find((c) => c.name === first.value)
  if (!entry) throw usageError(`unknown command "${clip(first.value)}" (see: tacit --help)`)
  if (!isGroup(entry)) return { spec: entry, help: undefined, rest: remove([first.index]) }
  const second = positionals[1]
  const sub = second && entry.subcommands.find((s) => s.name === `${entry.name} ${second.value}`)
  if (sub) return { spec: sub, help: undefined, rest: remove([first.index, second.index]) }
  if (second && !entry.defaultSubcommand) {
    throw usageError(
      `unknown command "${entry.name} ${clip(second.value)}" (see: tacit ${entry.name} --help)`,
    )
  }
  if (wantsHelp) return { spec: undefined, help: { text: renderGroupHelp(entry), exitCode: 0 }, rest: [] }
  if (!second && !entry.defaultSubcommand) {
    return { spec: undefined, help: { text: renderGroupHelp(entry), exitCode: 1 }, rest: [] }
  }
  if (second && entry.subcommands.every((s) => s.name !== `${entry.name} ${second.value}`)) {
    // `tacit devices foo`: the default subcommand takes no arguments, so this is a typo.
    throw usageError(
      `unknown command "${entry.name} ${clip(second.value)}" (see: tacit ${entry.name} --help)`,
    )
  }
  const fallback = entry.subcommands.find((s) => s.name === `${entry.name} ${entry.defaultSubcommand}`)!
  return { spec: fallback, help: undefined, rest: remove([first.index]) }
}

function helpFor(words: readonly string[]): string {
  if (words.length === 0) return renderMainHelp()
  const entry = COMMANDS.find((c) => c.name === words[0])
  if (!entry) throw usageError(`unknown command "${clip(words[0] ?? '')}" (see: tacit --help)`)
  if (!isGroup(entry)) return renderCommandHelp(entry)
  const sub = entry.subcommands.find((s) => s.name === `${entry.name} ${words[1]}`)
  return sub ? renderCommandHelp(sub) : renderGroupHelp(entry)
}

export async function runCli(run: CliRun): Promise<number> {
  const { io } = run
  // --json is known before parsing fails, so even a usage error comes out as a JSON document.
  const jsonRequested = run.argv.includes('--json')
  let out = new Output(jsonRequested, io)
  let session: Session | undefined
  try {
    const located = locateCommand(run.argv)
    if (located.help) {
      const target = located.help.exitCode === 0 ? io.stdout : io.stderr
      target.write(`${located.help.text}\n`)
      return located.help.exitCode
    }
    const spec = located.spec!
    const parsed = parseCommandLine(spec, located.rest, run.env)
    if (parsed.help) {
      io.stdout.write(`${renderCommandHelp(spec)}\n`)
      return EXIT_CODES.ok
    }
    out = new Output(parsed.globals.json, io)
    session = new Session({
      globals: parsed.globals,
      env: run.env,
      streams: { stdin: io.stdin, stderr: io.stderr as NodeJS.WriteStream },
      factory: run.factory,
    })
    await spec.run({
      options: parsed.options,
      positionals: parsed.positionals,
      globals: parsed.globals,
      out,
      session,
      env: run.env,
      stdin: io.stdin,
      signal: run.signal,
    })
    await session.close()
    return EXIT_CODES.ok
  } catch (thrown) {
    const error = classifyError(thrown)
    reportError(out, error, run.env)
    await session?.close().catch(() => {})
    return error.exitCode
  }
}

function reportError(out: Output, error: CliError, env: NodeJS.ProcessEnv): void {
  out.streams.stderr.write(`tacit: ${error.message}\n`)
  const stack = error.cause instanceof Error ? error.cause.stack : undefined
  if (env.TACIT_DEBUG === '1' && stack) {
    out.streams.stderr.write(`${stack}\n`)
  } else if (error.code === 'internal' && stack) {
    // Where it failed, for the bug report; not the original message, which may quote data.
    const frames = stack
      .split('\n')
      .filter((l) => /^\s+at /.test(l))
      .slice(0, MAX_REPORTED_FRAMES)
    out.streams.stderr.write(`${frames.join('\n')}\n`)
  }
  if (out.json) {
    out.streams.stdout.write(
      `${JSON.stringify({ error: { code: error.code, message: error.message, exitCode: error.exitCode } })}\n`,
    )
  }
}
