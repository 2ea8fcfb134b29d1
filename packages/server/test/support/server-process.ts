/**
 * Starts `packages/server/src/main.ts` as a real process on 127.0.0.1 with a random port and a
 * temporary data folder, reads its "listening" line and first-start invite, and stops it.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SERVER_NODE_FLAGS } from '../../src/node-flags.ts'

export const REPO_ROOT = new URL('../../../../', import.meta.url).pathname
const MAIN = join(REPO_ROOT, 'packages/server/src/main.ts')
const ADMIN = join(REPO_ROOT, 'packages/server/src/admin.ts')
const START_TIMEOUT_MS = 20_000

export interface ServerProcess {
  readonly child: ChildProcess
  readonly url: string
  readonly wsUrl: string
  readonly dataDir: string
  readonly invite: string
  stdout: string
  stderr: string
  /** SIGTERM, then waits for the exit code (SIGKILL after a bound). */
  stop(): Promise<number | null>
}

export async function startServerProcess(
  extraFlags: string[] = [],
  dataDir?: string,
): Promise<ServerProcess> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'tacit-e2e-'))
  const child = spawn(
    process.execPath,
    [
      ...SERVER_NODE_FLAGS,
      '--import',
      'tsx',
      MAIN,
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--data-dir',
      dir,
      ...extraFlags,
    ],
    {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  const state = { stdout: '', stderr: '' }
  child.stdout!.on('data', (d: Buffer) => {
    state.stdout += d.toString()
  })
  child.stderr!.on('data', (d: Buffer) => {
    state.stderr += d.toString()
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`server did not start: ${state.stderr}`)),
      START_TIMEOUT_MS,
    )
    const check = () => {
      for (const line of state.stdout.split('\n')) {
        if (!line.startsWith('{')) continue
        const parsed = JSON.parse(line) as { event?: string; port?: number }
        if (parsed.event === 'listening' && typeof parsed.port === 'number') {
          clearTimeout(timer)
          child.stdout!.off('data', check)
          resolve(parsed.port)
          return
        }
      }
    }
    child.stdout!.on('data', check)
    child.once('exit', () => {
      clearTimeout(timer)
      reject(new Error(`server exited: ${state.stderr}`))
    })
  })
  const invite = /invite code[^:]*: (\S+)/.exec(state.stderr)?.[1] ?? ''
  const url = `http://127.0.0.1:${port}`
  return {
    child,
    url,
    wsUrl: `ws://127.0.0.1:${port}/v1/ws`,
    dataDir: dir,
    invite,
    get stdout() {
      return state.stdout
    },
    get stderr() {
      return state.stderr
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      const code = await exited
      clearTimeout(timer)
      return code
    },
  }
}

export function removeDataDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
}

/** Runs the admin command (without blocking this event loop); returns its output. */
export async function runAdmin(
  args: string[],
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ADMIN, ...args], {
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
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
  const status = await new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)))
  clearTimeout(timer)
  return { status, stdout, stderr }
}
