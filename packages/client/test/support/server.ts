/**
 * The real delivery server (`packages/server/src/main.ts`) as a child process on 127.0.0.1 with
 * a random port, on SQLite in a temporary folder or on PostgreSQL in a fresh schema; invites
 * from its admin command. Every wait is bounded.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SERVER_NODE_FLAGS } from '../../../server/src/node-flags.ts'

export const REPO_ROOT = new URL('../../../../', import.meta.url).pathname
const MAIN = join(REPO_ROOT, 'packages/server/src/main.ts')
const ADMIN = join(REPO_ROOT, 'packages/server/src/admin.ts')
const START_TIMEOUT_MS = 30_000
export const POSTGRES_URL = process.env.TACIT_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

export interface ServerProcess {
  readonly url: string
  readonly dataDir: string
  readonly child: ChildProcess
  /** A fresh invite code from the admin command. */
  invite(): Promise<string>
  stop(): Promise<void>
}

function run(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
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
  return new Promise((resolve) =>
    child.once('close', (status) => {
      clearTimeout(timer)
      resolve({ status, stdout, stderr })
    }),
  )
}

export async function startServer(options: { postgresSchema?: string } = {}): Promise<ServerProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tacit-client-e2e-'))
  const storage = options.postgresSchema
    ? ['--postgres-url', POSTGRES_URL, '--postgres-schema', options.postgresSchema]
    : []
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
      dataDir,
      ...storage,
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let stdout = ''
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), START_TIMEOUT_MS)
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString()
      for (const line of stdout.split('\n')) {
        if (!line.startsWith('{')) continue
        try {
          const parsed = JSON.parse(line) as { event?: string; port?: number }
          if (parsed.event === 'listening' && typeof parsed.port === 'number') {
            clearTimeout(timer)
            resolve(parsed.port)
          }
        } catch {
          // a partial line; the rest comes with the next chunk
        }
      }
    })
    child.once('exit', () => {
      clearTimeout(timer)
      reject(new Error(`server exited: ${stderr}`))
    })
  })
  return {
    url: `http://127.0.0.1:${port}`,
    dataDir,
    child,
    async invite() {
      const r = await run([ADMIN, 'invite', 'create', '--json', '--data-dir', dataDir, ...storage])
      if (r.status !== 0) throw new Error(`invite create failed: ${r.stderr}`)
      return (JSON.parse(r.stdout) as { code: string }).code
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

export async function dropSchema(schema: string): Promise<void> {
  const pg = (await import('pg')).default
  const client = new pg.Client({ connectionString: POSTGRES_URL })
  await client.connect()
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  await client.end()
}

/** Resolves when `condition` holds; rejects after `ms` (tests fail, never hang). */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  ms = 20_000,
): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}
