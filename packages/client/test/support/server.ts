/**
 * The real delivery server (`packages/server/src/main.ts`) as a child process on 127.0.0.1 with
 * a random port, on SQLite in a temporary folder or on PostgreSQL in a fresh schema; invites
 * from its admin command. Every wait is bounded.
 */
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runAdmin, spawnServer } from '../../../server/test/support/spawn-server.ts'

export { REPO_ROOT } from '../../../server/test/support/spawn-server.ts'
export const POSTGRES_URL = process.env.TACIT_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

export interface ServerProcess {
  readonly url: string
  readonly dataDir: string
  readonly child: ChildProcess
  /** A fresh invite code from the admin command. */
  invite(): Promise<string>
  stop(): Promise<void>
}

export async function startServer(options: { postgresSchema?: string } = {}): Promise<ServerProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tacit-client-e2e-'))
  const storage = options.postgresSchema
    ? ['--postgres-url', POSTGRES_URL, '--postgres-schema', options.postgresSchema]
    : []
  const server = await spawnServer({
    args: ['--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir, ...storage],
  }).catch((error: unknown) => {
    rmSync(dataDir, { recursive: true, force: true })
    throw error
  })
  return {
    url: `http://127.0.0.1:${server.port}`,
    dataDir,
    child: server.child,
    async invite() {
      const r = await runAdmin(['invite', 'create', '--json', '--data-dir', dataDir, ...storage])
      if (r.status !== 0) throw new Error(`invite create failed: ${r.stderr}`)
      return (JSON.parse(r.stdout) as { code: string }).code
    },
    async stop() {
      await server.stop()
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
