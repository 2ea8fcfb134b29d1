/**
 * `npm run bench:storage`: the mailbox storage alone, without sockets — what a group-commit batch
 * costs each backend. 1,000 registered devices; W writers in a closed loop, each enqueueing one
 * envelope to a random device and acknowledging it once `enqueue` resolved (so the batches mix
 * sends and acks, as the relay's do). Per backend and payload size: envelopes per second (stored
 * and acknowledged), this process's CPU (the storage's JavaScript, the writer thread included),
 * the database's CPU (PostgreSQL's processes; SQLite runs inside this process) and both per
 * envelope. In the same run the embedded SQLite backend is the baseline: PostgreSQL's figures are
 * printed as ratios to it.
 *
 *   npm run bench:storage
 *   npm run bench:storage -- --backends sqlite,postgres --sizes 256,4096 --writers 3000 --measure-ms 6000 --json
 *
 * PostgreSQL: env TACIT_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test); each
 * run uses a schema of its own and drops it.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { openPostgresStorage } from '../packages/server/src/storage/postgres/postgres-storage.ts'
import { openSqliteStorage } from '../packages/server/src/storage/sqlite/sqlite-storage.ts'
import type { Storage } from '../packages/server/src/storage/storage.ts'
import { postgresCpuDelta, readLoadAverage, readPostgresCpuSeconds } from './relay-stats.ts'

const POSTGRES_URL = process.env.TACIT_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const DEVICES = 1_000
const WARMUP_MS = 1_500
/** Bounds: the loop ends at the measured window's end whatever happens. */
const MAX_WRITERS = 10_000
const MAX_MEASURE_MS = 60_000

type Backend = 'sqlite' | 'postgres'

interface Options {
  readonly backends: Backend[]
  readonly sizes: number[]
  readonly writers: number
  readonly measureMs: number
  readonly json: boolean
}

interface Row {
  readonly backend: Backend
  readonly size: number
  readonly envelopesPerSecond: number
  readonly processCpu: number
  readonly databaseCpu: number
  readonly processCpuUsPerEnvelope: number
  readonly databaseCpuUsPerEnvelope: number
  readonly load: number
}

function parseOptions(argv: readonly string[]): Options {
  const value = (name: string) => {
    const i = argv.indexOf(name)
    return i >= 0 ? argv[i + 1] : undefined
  }
  const list = (name: string, fallback: string) => (value(name) ?? fallback).split(',').filter(Boolean)
  const backends = list('--backends', 'sqlite,postgres').map((b) => {
    if (b !== 'sqlite' && b !== 'postgres') throw new Error(`unknown backend ${b}`)
    return b
  })
  return {
    backends,
    sizes: list('--sizes', '256,4096').map(Number),
    writers: Math.min(Number(value('--writers') ?? 3000), MAX_WRITERS),
    measureMs: Math.min(Number(value('--measure-ms') ?? 6000), MAX_MEASURE_MS),
    json: argv.includes('--json'),
  }
}

async function open(backend: Backend): Promise<{ storage: Storage; cleanUp: () => Promise<void> }> {
  if (backend === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'tacit-bench-storage-'))
    const storage = await openSqliteStorage(join(dir, 'tacit.db'))
    return { storage, cleanUp: async () => rmSync(dir, { recursive: true, force: true }) }
  }
  const schema = `tacit_bench_${randomBytes(6).toString('hex')}`
  const storage = await openPostgresStorage(POSTGRES_URL, { schema, poolSize: 6 })
  return {
    storage,
    cleanUp: async () => {
      const c = new pg.Client({ connectionString: POSTGRES_URL })
      await c.connect()
      try {
        await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
      } finally {
        await c.end()
      }
    },
  }
}

async function registerDevices(storage: Storage, now: number): Promise<string[]> {
  const ids: string[] = []
  for (let u = 0; u < DEVICES; u++) {
    const code = new Uint8Array(randomBytes(32))
    await storage.createInvite(code, now, now + 3_600_000)
    const handle = `bench${u}`
    const deviceId = `bench-device-${String(u).padStart(6, '0')}`
    await storage.registerAccount({
      codeHash: code,
      account: { handle, identityKey: new Uint8Array(randomBytes(32)), createdAt: now },
      // Signature key and credential of realistic sizes: the device row is what batches update.
      device: {
        deviceId,
        handle,
        signatureKey: new Uint8Array(randomBytes(32)),
        credential: new Uint8Array(randomBytes(180)),
        createdAt: now,
      },
      now,
    })
    ids.push(deviceId)
  }
  return ids
}

function processCpuSeconds(): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1e6
}

async function measure(backend: Backend, size: number, options: Options): Promise<Row> {
  const { storage, cleanUp } = await open(backend)
  try {
    const devices = await registerDevices(storage, Date.now())
    const payload = new Uint8Array(randomBytes(size))
    let done = 0
    let stop = false
    const writer = async (): Promise<void> => {
      while (!stop) {
        const deviceId = devices[Math.floor(Math.random() * devices.length)]!
        const now = Date.now()
        const [seqs] = await storage.enqueue(
          [{ mailboxes: [deviceId], payload, expiresAt: now + 3_600_000 }],
          now,
        )
        await storage.ack(deviceId, seqs!)
        done++
      }
    }
    const writers = Array.from({ length: options.writers }, () => writer())
    await new Promise((resolve) => setTimeout(resolve, WARMUP_MS))
    const doneBegin = done
    const cpuBegin = processCpuSeconds()
    const dbBegin = readPostgresCpuSeconds()
    const begin = performance.now()
    await new Promise((resolve) => setTimeout(resolve, options.measureMs))
    const envelopes = done - doneBegin
    const seconds = (performance.now() - begin) / 1000
    const processCpu = (processCpuSeconds() - cpuBegin) / seconds
    const databaseCpu =
      backend === 'postgres' ? postgresCpuDelta(dbBegin, readPostgresCpuSeconds()) / seconds : 0
    stop = true
    await Promise.allSettled(writers)
    const rate = envelopes / seconds
    return {
      backend,
      size,
      envelopesPerSecond: rate,
      processCpu,
      databaseCpu,
      processCpuUsPerEnvelope: (processCpu / rate) * 1e6,
      databaseCpuUsPerEnvelope: (databaseCpu / rate) * 1e6,
      load: readLoadAverage(),
    }
  } finally {
    await storage.close()
    await cleanUp()
  }
}

const options = parseOptions(process.argv.slice(2))
const rows: Row[] = []
const log = (line: string) => process.stderr.write(`${line}\n`)
log(
  `bench:storage — ${DEVICES} devices, ${options.writers} writers in a closed loop (enqueue, then ack), ${options.measureMs} ms measured`,
)
log('backend   size  envelopes/s  procCPU  dbCPU  proc µs/env  db µs/env  ×sqlite rate  ×sqlite µs/env  load')
for (const size of options.sizes) {
  for (const backend of options.backends) {
    const row = await measure(backend, size, options)
    rows.push(row)
    const base = rows.find((r) => r.backend === 'sqlite' && r.size === size)
    const total = (r: Row) => r.processCpuUsPerEnvelope + r.databaseCpuUsPerEnvelope
    const ratio = (x: number) => (base === undefined ? '-' : `${x.toFixed(2)}×`)
    log(
      [
        backend.padEnd(8),
        String(size).padStart(5),
        row.envelopesPerSecond.toFixed(0).padStart(12),
        row.processCpu.toFixed(2).padStart(8),
        row.databaseCpu.toFixed(2).padStart(6),
        row.processCpuUsPerEnvelope.toFixed(1).padStart(12),
        row.databaseCpuUsPerEnvelope.toFixed(1).padStart(10),
        ratio(base ? row.envelopesPerSecond / base.envelopesPerSecond : 0).padStart(13),
        ratio(base ? total(row) / total(base) : 0).padStart(15),
        row.load.toFixed(1).padStart(5),
      ].join(' '),
    )
  }
}
if (options.json) process.stdout.write(`${JSON.stringify({ options, rows })}\n`)
