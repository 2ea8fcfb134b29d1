/**
 * The real delivery server (`packages/server/src/main.ts`) as a child process on 127.0.0.1 with a
 * random port, on SQLite in a temporary folder or on PostgreSQL in a fresh schema (dropped by
 * `stop`); invites from its admin command. Every wait is bounded; `stop` kills what it started.
 */
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  runAdmin,
  type SpawnedServer,
  spawnServer,
} from '../../../packages/server/test/support/spawn-server.ts'

export { REPO_ROOT } from '../../../packages/server/test/support/spawn-server.ts'
/** Generous: the machine is shared and each process compiles through tsx. */
export const START_TIMEOUT_MS = 60_000
export const POSTGRES_URL = process.env.TACIT_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

export interface E2eServerOptions {
  /** PostgreSQL schema to create and use (dropped by `stop`); SQLite when absent. */
  readonly postgresSchema?: string
  /** More server flags, e.g. `--max-blob-mb 1024` or `--rate-limit-device off`. */
  readonly extraArgs?: readonly string[]
  /** Extra node flags for the server process (e.g. `--cpu-prof`). */
  readonly nodeArgs?: readonly string[]
}

export interface E2eServer {
  readonly url: string
  readonly dataDir: string
  readonly child: ChildProcess
  invite(): Promise<string>
  /** A counter or gauge from `GET /metrics` (0 when the series does not exist yet). */
  metric(name: string, labels?: Readonly<Record<string, string>>): Promise<number>
  /** SIGTERM (SIGKILL after a bound); resolves to the exit code, null when killed by a signal. */
  stop(): Promise<number | null>
}
/** A loaded machine can miss the SQLite writer's start-up bound once; a second start is fine. */
const START_ATTEMPTS = 2

function storageArgs(o: E2eServerOptions): string[] {
  return o.postgresSchema ? ['--postgres-url', POSTGRES_URL, '--postgres-schema', o.postgresSchema] : []
}

export async function startE2eServer(options: E2eServerOptions = {}): Promise<E2eServer> {
  let lastError: unknown
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    try {
      return await startOnce(options)
    } catch (error) {
      lastError = error
    }
  }
  throw lastError
}

async function startOnce(options: E2eServerOptions): Promise<E2eServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tacit-e2e-'))
  const storage = storageArgs(options)
  let server: SpawnedServer
  try {
    server = await spawnServer({
      args: [
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        '--data-dir',
        dataDir,
        ...storage,
        ...(options.extraArgs ?? []),
      ],
      nodeArgs: options.nodeArgs ?? [],
      startTimeoutMs: START_TIMEOUT_MS,
    })
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true })
    if (options.postgresSchema) await dropSchema(options.postgresSchema)
    throw error
  }
  const port = server.port
  const child = server.child
  const url = `http://127.0.0.1:${port}`
  return {
    url,
    dataDir,
    child,
    async invite() {
      const r = await runAdmin(['invite', 'create', '--json', '--data-dir', dataDir, ...storage])
      if (r.status !== 0) throw new Error(`invite create failed: ${r.stderr}`)
      return (JSON.parse(r.stdout) as { code: string }).code
    },
    async metric(name, labels = {}) {
      const text = await (await fetch(`${url}/metrics`)).text()
      const want = Object.entries(labels)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => `${k}="${v}"`)
        .join(',')
      const series = want === '' ? name : `${name}{${want}}`
      for (const line of text.split('\n')) {
        if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1))
      }
      return 0
    },
    async stop() {
      const code = await server.stop()
      rmSync(dataDir, { recursive: true, force: true })
      if (options.postgresSchema) await dropSchema(options.postgresSchema)
      return code
    },
  }
}

export async function dropSchema(schema: string): Promise<void> {
  if (!/^[a-z0-9_]{1,63}$/.test(schema)) throw new Error('a schema name is [a-z0-9_]{1,63}')
  const pg = (await import('pg')).default
  const client = new pg.Client({ connectionString: POSTGRES_URL })
  await client.connect()
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  } finally {
    await client.end()
  }
}
