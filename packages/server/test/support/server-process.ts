/**
 * Starts `packages/server/src/main.ts` as a real process on 127.0.0.1 with a random port and a
 * temporary data folder (spawn-server.ts), reads its first-start invite, and stops it.
 */
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnServer } from './spawn-server.ts'

export { runAdmin } from './spawn-server.ts'

const START_TIMEOUT_MS = 20_000

export interface ServerProcess {
  readonly child: ChildProcess
  readonly url: string
  readonly wsUrl: string
  readonly dataDir: string
  readonly invite: string
  readonly stdout: string
  readonly stderr: string
  /** SIGTERM, then waits for the exit code (SIGKILL after a bound). */
  stop(): Promise<number | null>
}

export async function startServerProcess(
  extraFlags: string[] = [],
  dataDir?: string,
): Promise<ServerProcess> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'tacit-e2e-'))
  const server = await spawnServer({
    args: ['--host', '127.0.0.1', '--port', '0', '--data-dir', dir, ...extraFlags],
    startTimeoutMs: START_TIMEOUT_MS,
  })
  const url = `http://127.0.0.1:${server.port}`
  return {
    child: server.child,
    url,
    wsUrl: `ws://127.0.0.1:${server.port}/v1/ws`,
    dataDir: dir,
    invite: /invite code[^:]*: (\S+)/.exec(server.stderr)?.[1] ?? '',
    get stdout() {
      return server.stdout
    },
    get stderr() {
      return server.stderr
    },
    stop: () => server.stop(),
  }
}

export function removeDataDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
}
