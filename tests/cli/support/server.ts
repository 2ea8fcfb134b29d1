/**
 * The real delivery server (`packages/server/src/main.ts`) on 127.0.0.1, a random port and a
 * temporary SQLite folder, as packages/server/test/e2e.test.ts starts it; invites from its admin
 * command. Every wait is bounded.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REPO_ROOT } from './tacit-process.ts'

const MAIN = join(REPO_ROOT, 'packages/server/src/main.ts')
const ADMIN = join(REPO_ROOT, 'packages/server/src/admin.ts')
const START_TIMEOUT_MS = 60_000
const ADMIN_TIMEOUT_MS = 60_000
const STOP_TIMEOUT_MS = 10_000
/** A loaded machine can miss the SQLite writer's start-up bound once; a second start is fine. */
const START_ATTEMPTS = 2

export interface TestServer {
  readonly url: string
  readonly dataDir: string
  invite(): Promise<string>
  stop(): Promise<number | null>
}

export async function startTestServer(): Promise<TestServer> {
  let lastError: unknown
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    try {
      return await startOnce()
    } catch (error) {
      lastError = error
    }
  }
  throw lastError
}

async function startOnce(): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tacit-cli-e2e-'))
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', MAIN, '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let stdout = ''
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  let port: number
  try {
    port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), START_TIMEOUT_MS)
      child.stdout!.on('data', (d: Buffer) => {
        stdout += d.toString()
        const m = /"event":"listening".*"port":(\d+)/.exec(stdout)
        if (m) {
          clearTimeout(timer)
          resolve(Number(m[1]))
        }
      })
      child.once('exit', () => {
        clearTimeout(timer)
        reject(new Error(`server exited: ${stderr}`))
      })
    })
  } catch (error) {
    child.kill('SIGKILL')
    rmSync(dataDir, { recursive: true, force: true })
    throw error
  }
  const firstInvite = /invite code[^:]*: (\S+)/.exec(stderr)?.[1]
  const spare = firstInvite ? [firstInvite] : []
  return {
    url: `http://127.0.0.1:${port}`,
    dataDir,
    async invite() {
      const ready = spare.pop()
      if (ready) return ready
      const r = await runAdmin(['invite', 'create', '--json', '--data-dir', dataDir])
      if (r.status !== 0) throw new Error(`admin failed: ${r.stderr}`)
      return (JSON.parse(r.stdout) as { code: string }).code
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS)
      const code = await exited
      clearTimeout(timer)
      rmSync(dataDir, { recursive: true, force: true })
      return code
    },
  }
}

async function runAdmin(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
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
  const timer = setTimeout(() => child.kill('SIGKILL'), ADMIN_TIMEOUT_MS)
  const status = await new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)))
  clearTimeout(timer)
  return { status, stdout, stderr }
}
