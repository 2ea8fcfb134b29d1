/**
 * The Tacit server as bench:relay runs it: its own process, on SQLite in a fresh temporary
 * folder or on a fresh PostgreSQL schema, with the load's devices provisioned over its HTTP API.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from '@nats-io/transport-node'
import pg from 'pg'
import type { ServerFactory, ServerUnderTest } from '../../../bench/relay.bench.ts'
import { provisionDevices, type StorageFlags } from './provision.ts'
import {
  NATS_URL,
  POSTGRES_URL,
  type ServerProcessOptions,
  startServer,
  stopServer,
} from './server-process.ts'
import { serializeDevices } from './tacit-relay-adapter.ts'

/** Load from one address and 1,000 devices at thousands of frames/s: the limits would measure themselves. */
export const LOAD_ARGS = ['--rate-limit-address', 'off', '--rate-limit-device', 'off', '--log-level', 'warn']
const ADAPTER_MODULE = new URL('./tacit-relay-adapter.ts', import.meta.url).pathname

async function startTacit(
  flags: StorageFlags,
  clients: number,
  cleanup: () => Promise<void>,
  extra: Pick<ServerProcessOptions, 'natsUrl' | 'args'> = {},
): Promise<ServerUnderTest> {
  const server = await startServer({ ...flags, ...extra, args: [...LOAD_ARGS, ...(extra.args ?? [])] })
  try {
    const devices = await provisionDevices(server.httpUrl, flags, clients)
    return {
      pid: server.pid,
      adapter: {
        kind: 'module',
        module: ADAPTER_MODULE,
        options: { wsUrl: server.wsUrl, devices: serializeDevices(devices) },
      },
      usesPostgres: flags.postgresUrl !== undefined,
      warnings: storageWarnings(server.lines),
      async stop() {
        await stopServer(server)
        await cleanup()
      },
    }
  } catch (error) {
    await server.kill('SIGKILL')
    await cleanup()
    throw error
  }
}

/** The codes of the server's `storage.configuration` warnings, which it logs before listening. */
function storageWarnings(lines: readonly string[]): string[] {
  const codes: string[] = []
  for (const line of lines) {
    try {
      const entry = JSON.parse(line) as Record<string, unknown>
      if (entry.event === 'storage.configuration' && typeof entry.code === 'string') codes.push(entry.code)
    } catch {
      // Not a log line (the first start's invite text).
    }
  }
  return codes
}

export async function withPostgres<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_URL })
  await client.connect()
  try {
    return await run(client)
  } finally {
    await client.end()
  }
}

/** A fresh schema name; only [a-z0-9_], so it is safe to splice into DDL. */
export function freshSchema(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`
}

/**
 * How often `postgres-nats`'s phantom peer comes and goes: it announces itself twice, a second
 * apart, then falls silent, and the server counts it lost after 6 s (`PEER_MISSED_HEARTBEATS`)
 * and wakes all of its connections; then a new one comes. A process that crashes and restarts
 * every 9 s, as a server on a failing host would.
 */
export const PHANTOM_PEER_CYCLE_MS = 9_000

/**
 * A NATS client that plays a crash-looping server process on `<prefix>.peers` (the wire format of
 * `notify/nats-notifier.ts`: "alive <instance id>"), so that the server under load runs its
 * recovery — every connection's mailbox fetched again — once every cycle.
 */
async function startPhantomPeer(prefix: string): Promise<() => Promise<void>> {
  const nc = await connect({ servers: NATS_URL, name: 'tacit-bench-phantom-peer' })
  const subject = `${prefix}.peers`
  const timers = new Set<ReturnType<typeof setTimeout>>()
  const later = (ms: number, run: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer)
      run()
    }, ms)
    timers.add(timer)
  }
  const cycle = () => {
    const id = randomBytes(16).toString('hex')
    nc.publish(subject, `alive ${id}`)
    later(1_000, () => nc.publish(subject, `alive ${id}`))
    later(PHANTOM_PEER_CYCLE_MS, cycle)
  }
  cycle()
  return async () => {
    for (const timer of timers) clearTimeout(timer)
    await nc.close()
  }
}

/** The server on a fresh PostgreSQL schema; with NATS, a fresh subject prefix and a phantom peer. */
async function startOnPostgres(clients: number, withNats: boolean): Promise<ServerUnderTest> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tacit-bench-'))
  const schema = freshSchema('bench')
  const prefix = freshSchema('bench')
  await withPostgres((c) => c.query(`CREATE SCHEMA ${schema}`))
  const stopPeer = withNats ? await startPhantomPeer(prefix) : async () => {}
  const cleanup = async () => {
    await stopPeer()
    rmSync(dataDir, { recursive: true, force: true })
    await withPostgres((c) => c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`))
  }
  return await startTacit(
    { dataDir, postgresUrl: POSTGRES_URL, postgresSchema: schema },
    clients,
    cleanup,
    withNats ? { natsUrl: NATS_URL, args: ['--nats-prefix', prefix] } : {},
  )
}

export function benchServers(): Record<string, ServerFactory> {
  return {
    sqlite: async (clients) => {
      const dataDir = mkdtempSync(join(tmpdir(), 'tacit-bench-'))
      return await startTacit({ dataDir }, clients, async () =>
        rmSync(dataDir, { recursive: true, force: true }),
      )
    },
    postgres: (clients) => startOnPostgres(clients, false),
    // PostgreSQL with NATS, and a peer that keeps dying: what a recovery costs under load.
    'postgres-nats': (clients) => startOnPostgres(clients, true),
  }
}
