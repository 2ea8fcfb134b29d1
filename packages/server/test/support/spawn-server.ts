/**
 * The one way tests start the real server (`packages/server/src/main.ts`) and its admin command
 * as processes: with the Node flags `npm start` uses, reading the machine-readable "listening"
 * line for the port, every wait bounded, the output kept (bounded) for failure messages and for
 * tests that read the logs. The test supports of the server, the client SDK and the end-to-end
 * tests build their own `startServer` on it.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'
import { SERVER_NODE_FLAGS } from '../../src/node-flags.ts'

export const REPO_ROOT = new URL('../../../../', import.meta.url).pathname
export const SERVER_MAIN = join(REPO_ROOT, 'packages/server/src/main.ts')
export const SERVER_ADMIN = join(REPO_ROOT, 'packages/server/src/admin.ts')
/** Generous: the machine is shared and each process compiles through tsx. */
export const DEFAULT_START_TIMEOUT_MS = 30_000
const ADMIN_TIMEOUT_MS = 60_000
const STOP_GRACE_MS = 10_000
/** Output kept per stream: the tail, for failure messages and log checks. */
const MAX_KEPT_OUTPUT_CHARS = 1024 * 1024

export interface SpawnServerOptions {
  /** The server's own flags (`--port 0 --data-dir …`). */
  readonly args: readonly string[]
  /** Node flags after SERVER_NODE_FLAGS (a later flag of the same name wins), e.g. `--cpu-prof`. */
  readonly nodeArgs?: readonly string[]
  readonly startTimeoutMs?: number
}

export interface SpawnedServer {
  readonly child: ChildProcess
  readonly port: number
  /** What the process wrote so far (the tail of each stream). */
  readonly stdout: string
  readonly stderr: string
  /** Resolves with the exit code (null when a signal ended it) once the process is gone. */
  readonly exited: Promise<number | null>
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>
}

/** Starts the server; rejects (and kills it) if it exits or does not listen within the bound. */
export async function spawnServer(options: SpawnServerOptions): Promise<SpawnedServer> {
  const child = spawn(
    process.execPath,
    [...SERVER_NODE_FLAGS, ...(options.nodeArgs ?? []), '--import', 'tsx', SERVER_MAIN, ...options.args],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const out = { stdout: '', stderr: '' }
  const keep = (stream: 'stdout' | 'stderr') => (d: Buffer) => {
    out[stream] = (out[stream] + d.toString()).slice(-MAX_KEPT_OUTPUT_CHARS)
  }
  child.stdout!.on('data', keep('stdout'))
  child.stderr!.on('data', keep('stderr'))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const stop = async (graceMs = STOP_GRACE_MS) => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    const code = await exited
    clearTimeout(timer)
    return code
  }
  let port: number
  try {
    port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`server did not start:\n${out.stderr.slice(-8192)}`)),
        options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
      )
      let pending = ''
      const onData = (d: Buffer) => {
        pending += d.toString()
        const lines = pending.split('\n')
        pending = lines.pop() ?? ''
        for (const line of lines) {
          const listening = listeningPort(line)
          if (listening !== null) {
            clearTimeout(timer)
            child.stdout!.off('data', onData)
            resolve(listening)
            return
          }
        }
      }
      child.stdout!.on('data', onData)
      void exited.then(() => {
        clearTimeout(timer)
        reject(new Error(`server exited before listening:\n${out.stderr.slice(-8192)}`))
      })
    })
  } catch (error) {
    await stop()
    throw error
  }
  return {
    child,
    port,
    get stdout() {
      return out.stdout
    },
    get stderr() {
      return out.stderr
    },
    exited,
    stop,
  }
}

/** The port of the server's `{"event":"listening","port":…}` line, or null for any other line. */
function listeningPort(line: string): number | null {
  if (!line.startsWith('{')) return null
  try {
    const parsed = JSON.parse(line) as { event?: unknown; port?: unknown }
    return parsed.event === 'listening' && typeof parsed.port === 'number' ? parsed.port : null
  } catch {
    return null
  }
}

/** Runs the admin command (without blocking this event loop), bounded; returns its output. */
export function runAdmin(
  args: readonly string[],
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER_ADMIN, ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString()
  })
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), ADMIN_TIMEOUT_MS)
  return new Promise((resolve) =>
    child.once('close', (status) => {
      clearTimeout(timer)
      resolve({ status, stdout, stderr })
    }),
  )
}
