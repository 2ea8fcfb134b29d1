/**
 * The Tacit server as a real process, for tests that kill it: start it on a data folder (or a
 * PostgreSQL schema), read its machine-readable "listening" line, SIGKILL it, start it again.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { SERVER_NODE_FLAGS } from '../../../packages/server/src/node-flags.ts'

export const REPO_ROOT = process.env.TACIT_REPO_ROOT ?? new URL('../../..', import.meta.url).pathname
export const SERVER_MAIN = join(REPO_ROOT, 'packages/server/src/main.ts')
export const POSTGRES_URL = process.env.TACIT_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
export const NATS_URL = process.env.TACIT_NATS_URL ?? 'nats://127.0.0.1:4222'
/** Hang guard for a server start (tsx compiles on the fly; the machine is shared). */
export const START_TIMEOUT_MS = 30_000
/** Lines of server output kept for a failure message (logs carry no content by design). */
const MAX_KEPT_LINES = 200

export interface ServerProcessOptions {
  readonly dataDir: string
  readonly postgresUrl?: string
  readonly postgresSchema?: string
  readonly natsUrl?: string
  /** Extra flags, e.g. rate limits off for load. */
  readonly args?: readonly string[]
}

export interface ServerProcess {
  readonly pid: number
  readonly port: number
  readonly httpUrl: string
  readonly wsUrl: string
  /** Every stdout line so far (bounded): the first start prints an admin invite here. */
  readonly lines: readonly string[]
  readonly child: ChildProcess
  /** Resolves with the exit code or signal once the process is gone. */
  readonly exited: Promise<string>
  kill(signal: NodeJS.Signals): Promise<string>
}

/** Extracts the port from a "listening" line: JSON with `port` (or `listening`), or `...:<port>`. */
export function parseListeningLine(line: string): number | null {
  if (!/listening/i.test(line)) return null
  try {
    const json = JSON.parse(line) as Record<string, unknown>
    for (const key of ['port', 'listening']) {
      const v = json[key]
      if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v
    }
    for (const key of ['url', 'address', 'http']) {
      const v = json[key]
      if (typeof v === 'string') {
        const m = /:(\d{2,5})\b/.exec(v)
        if (m) return Number(m[1])
      }
    }
  } catch {
    // Not JSON: fall through to the plain-text form.
  }
  const m = /:(\d{2,5})\b/.exec(line)
  return m ? Number(m[1]) : null
}

export function serverArgs(options: ServerProcessOptions): string[] {
  const args = ['--port', '0', '--data-dir', options.dataDir]
  if (options.postgresUrl) args.push('--postgres-url', options.postgresUrl)
  if (options.postgresSchema) args.push('--postgres-schema', options.postgresSchema)
  if (options.natsUrl) args.push('--nats-url', options.natsUrl)
  args.push(...(options.args ?? []))
  return args
}

export async function startServer(options: ServerProcessOptions): Promise<ServerProcess> {
  // TACIT_CPU_PROF_DIR: write a V8 CPU profile of the server (bench:relay's bottleneck hunt).
  const profile = process.env.TACIT_CPU_PROF_DIR
    ? ['--cpu-prof', '--cpu-prof-dir', process.env.TACIT_CPU_PROF_DIR]
    : []
  // The flags `npm start` uses, then TACIT_SERVER_NODE_FLAGS: extra Node/V8 flags for the server
  // process only (not the load generator), e.g. "--single-threaded-gc" to measure a GC setting in
  // bench:relay (a later flag of the same name wins).
  const nodeFlags = [
    ...SERVER_NODE_FLAGS,
    ...(process.env.TACIT_SERVER_NODE_FLAGS ?? '').split(' ').filter((f) => f !== ''),
  ]
  const child = spawn(
    process.execPath,
    [...profile, ...nodeFlags, '--import', 'tsx', SERVER_MAIN, ...serverArgs(options)],
    {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TACIT_LOG_LEVEL: process.env.TACIT_LOG_LEVEL ?? 'warn' },
    },
  )
  const lines: string[] = []
  const keep = (line: string) => {
    lines.push(line)
    if (lines.length > MAX_KEPT_LINES) lines.splice(0, lines.length - MAX_KEPT_LINES)
  }
  createInterface({ input: child.stderr! }).on('line', keep)
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => resolve(signal ?? String(code)))
  })
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`server did not report listening within ${START_TIMEOUT_MS} ms:\n${lines.join('\n')}`))
    }, START_TIMEOUT_MS)
    createInterface({ input: child.stdout! }).on('line', (line) => {
      keep(line)
      const p = parseListeningLine(line)
      if (p !== null) {
        clearTimeout(timer)
        resolve(p)
      }
    })
    void exited.then((how) => {
      clearTimeout(timer)
      reject(new Error(`server exited (${how}) before listening:\n${lines.join('\n')}`))
    })
  })
  return {
    pid: child.pid!,
    port,
    httpUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    lines,
    child,
    exited,
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return await exited
    },
  }
}

/** SIGTERM, then SIGKILL if the graceful shutdown takes too long. */
export async function stopServer(server: ServerProcess, graceMs = 10_000): Promise<void> {
  const timer = setTimeout(() => server.child.kill('SIGKILL'), graceMs)
  await server.kill('SIGTERM')
  clearTimeout(timer)
}
