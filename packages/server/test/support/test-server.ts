/** Starts the server in this process on 127.0.0.1:0 with a temporary data folder. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseConfig } from '../../src/config.ts'
import type { ServerPolicy } from '../../src/context.ts'
import { createMemoryLogger } from '../../src/logger.ts'
import { openConfiguredStorage, type RunningServer, startServer } from '../../src/server.ts'
import type { Storage } from '../../src/storage/storage.ts'
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

export interface TestServerOptions {
  /** Policy fields to change from what the flags give. */
  readonly policy?: Partial<ServerPolicy>
  /** Wraps the real storage the server gets (see `interceptStorage`). */
  readonly wrapStorage?: (storage: Storage) => Storage
}

export async function startTestServer(
  flags: string[] = [],
  options: TestServerOptions = {},
): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tacit-server-test-'))
  const parsed = parseConfig(
    // The API alone unless a test asks for the web client: whether packages/web/dist happens to
    // be built must not change what an API path answers (web-app.test.ts covers that app).
    ['--port', '0', '--data-dir', dataDir, '--rate-limit-address', 'off', '--web-dir', 'off', ...flags],
    {},
  )
  const config = { ...parsed, policy: { ...parsed.policy, ...options.policy } }
  let invite = ''
  const log = createMemoryLogger()
  const server = await startServer(config, {
    ...(options.wrapStorage ? { storage: options.wrapStorage(await openConfiguredStorage(config)) } : {}),
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

/**
 * The real storage with some of its methods replaced (to count or hold calls); every other method
 * is the real one, bound to it.
 */
export function interceptStorage(storage: Storage, overrides: Partial<Storage>): Storage {
  return new Proxy(storage, {
    get(target, key, receiver) {
      if (Object.hasOwn(overrides, key)) return overrides[key as keyof Storage]
      const value = Reflect.get(target, key, receiver) as unknown
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value
    },
  })
}

/** Creates another invite directly in storage (what the admin command does). */
export async function newInvite(t: TestServer): Promise<string> {
  const { createInviteCode } = await import('../../src/server.ts')
  return createInviteCode(t.server.ctx.storage, Date.now())
}
