/** Starts the server in this process on 127.0.0.1:0 with a temporary data folder. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseConfig } from '../../src/config.ts'
import { createMemoryLogger } from '../../src/logger.ts'
import { type RunningServer, startServer } from '../../src/server.ts'
import { ApiClient } from './api-client.ts'

export interface TestServer {
  readonly server: RunningServer
  readonly invite: string
  /** Talks to the in-process `fetch(Request)` core: no socket. */
  readonly api: ApiClient
  readonly wsUrl: string
  readonly logs: string[]
  stop(): Promise<void>
}

export async function startTestServer(flags: string[] = []): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tacit-server-test-'))
  const config = parseConfig(
    // The API alone unless a test asks for the web client: whether packages/web/dist happens to
    // be built must not change what an API path answers (web-app.test.ts covers that app).
    ['--port', '0', '--data-dir', dataDir, '--rate-limit-address', 'off', '--web-dir', 'off', ...flags],
    {},
  )
  let invite = ''
  const log = createMemoryLogger()
  const server = await startServer(config, {
    log,
    printInvite: (text) => {
      invite = /invite code[^:]*: (\S+)/.exec(text)?.[1] ?? ''
    },
  })
  const api = new ApiClient(server.url, (request) =>
    server.app.fetch(request, { remoteAddress: '127.0.0.1' }),
  )
  return {
    server,
    invite,
    api,
    wsUrl: `${server.url.replace('http', 'ws')}/v1/ws`,
    logs: log.lines,
    async stop() {
      await server.close()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** Creates another invite directly in storage (what the admin command does). */
export async function newInvite(t: TestServer): Promise<string> {
  const { createInviteCode } = await import('../../src/server.ts')
  return createInviteCode(t.server.ctx.storage, Date.now())
}
