/**
 * Runs the real `tacit` binary (packages/cli/bin/tacit.mjs) as a child process, with a bounded
 * run time, an optional stdin, and a clean environment (no TACIT_* of the developer's shell).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'

export const REPO_ROOT = new URL('../../../', import.meta.url).pathname
export const TACIT_BIN = join(REPO_ROOT, 'packages/cli/bin/tacit.mjs')
/** Generous: each run compiles through tsx and may derive an Argon2id key. */
export const RUN_TIMEOUT_MS = 60_000

export interface TacitResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TACIT_')) base[k] = v
  return { ...base, ...env }
}

export interface TacitChild {
  readonly child: ChildProcess
  stdout(): string
  stderr(): string
  readonly done: Promise<TacitResult>
}

export function spawnTacit(
  args: readonly string[],
  options: { env?: Record<string, string>; timeoutMs?: number; cwd?: string; program?: string } = {},
): TacitChild {
  // `program` runs something else with these arguments (e.g. `script`, for a pseudo-terminal).
  const [file, argv] = options.program
    ? [options.program, [...args]]
    : [process.execPath, [TACIT_BIN, ...args]]
  const child = spawn(file, argv, {
    cwd: options.cwd ?? REPO_ROOT,
    env: cleanEnv(options.env ?? {}),
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString()
  })
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? RUN_TIMEOUT_MS)
  const done = new Promise<TacitResult>((resolve) => {
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
  return { child, stdout: () => stdout, stderr: () => stderr, done }
}

export async function runTacit(
  args: readonly string[],
  options: { env?: Record<string, string>; input?: string; timeoutMs?: number; cwd?: string } = {},
): Promise<TacitResult> {
  const t = spawnTacit(args, options)
  t.child.stdin!.end(options.input ?? '')
  return t.done
}

/** Resolves once `predicate(read())` holds; rejects after `timeoutMs`. */
export async function waitForOutput(
  read: () => string,
  predicate: (s: string) => boolean,
  timeoutMs = 30_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs
  while (!predicate(read())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for output; got:\n${read()}`)
    await new Promise((r) => setTimeout(r, 25))
  }
  return read()
}
