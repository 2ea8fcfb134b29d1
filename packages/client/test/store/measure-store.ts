/**
 * Measures the encrypted store (not a test: timings belong here, not in tests). Prints a table and,
 * with --json, one JSON object on its last line. Bounded: a fixed number of runs and records.
 *
 *   node --import tsx packages/client/test/store/measure-store.ts [--json]
 *
 * Figures: Argon2id at the default parameters (wall and CPU time: the machine is shared, so CPU
 * time is the steadier number), unlock of a store file, and records per second — one record per
 * transaction (one fsync each) and 1,000 per transaction — against plain better-sqlite3 writes of
 * the same sizes in the same configuration (WAL, synchronous = FULL), measured in the same run.
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { DEFAULT_ARGON2_PARAMS, deriveKeyFromPassphrase } from '@tacit/crypto/argon2'
import { nodeBackend } from '@tacit/crypto/node/backend'
import Database from 'better-sqlite3'
import { createSqliteStore, openSqliteStore } from '../../src/store/sqlite-store.ts'
import { defineNamespace } from '../../src/store/store.ts'
import { makeTempDir, TEST_KDF } from './_helpers.ts'

const KDF_RUNS = 3
const SINGLE_WRITES = 200
const BATCHES = 10
const BATCH_SIZE = 1000
const READS = 2000
const VALUE_BYTES = 256

async function time<T>(fn: () => Promise<T>): Promise<{ wallMs: number; cpuMs: number; value: T }> {
  const cpu = process.cpuUsage()
  const start = performance.now()
  const value = await fn()
  const wallMs = performance.now() - start
  const used = process.cpuUsage(cpu)
  return { wallMs, cpuMs: (used.user + used.system) / 1000, value }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

const tmp = makeTempDir()
try {
  const results: Record<string, number> = {}

  // Argon2id at the defaults, and a full unlock (open the file, derive, unwrap, HKDF).
  const kdf = { wall: [] as number[], cpu: [] as number[] }
  for (let i = 0; i < KDF_RUNS; i++) {
    const r = await time(() => deriveKeyFromPassphrase('measure', randomBytes(16), DEFAULT_ARGON2_PARAMS))
    kdf.wall.push(r.wallMs)
    kdf.cpu.push(r.cpuMs)
  }
  results.argon2DefaultWallMs = median(kdf.wall)
  results.argon2DefaultCpuMs = median(kdf.cpu)
  const defaultPath = join(tmp.dir, 'default.db')
  await (await createSqliteStore(defaultPath, 'measure', { crypto: nodeBackend })).lock()
  const unlock = await time(() => openSqliteStore(defaultPath, 'measure', { crypto: nodeBackend }))
  await unlock.value.lock()
  results.unlockDefaultWallMs = unlock.wallMs
  results.unlockDefaultCpuMs = unlock.cpuMs

  // Records per second through the sealed store (small KDF: only writes are measured here).
  const ns = defineNamespace('measure')
  const value = new Uint8Array(randomBytes(VALUE_BYTES))
  const store = await createSqliteStore(join(tmp.dir, 'store.db'), 'measure', {
    crypto: nodeBackend,
    kdfParams: TEST_KDF,
  })
  const single = await time(async () => {
    for (let i = 0; i < SINGLE_WRITES; i++)
      await store.put(ns, new TextEncoder().encode(`single-${i}`), value)
  })
  results.sealedSinglePerSec = SINGLE_WRITES / (single.wallMs / 1000)
  const batched = await time(async () => {
    for (let b = 0; b < BATCHES; b++) {
      await store.transaction(async (tx) => {
        for (let i = 0; i < BATCH_SIZE; i++)
          await tx.put(ns, new TextEncoder().encode(`batch-${b}-${i}`), value)
      })
    }
  })
  results.sealedBatchedPerSec = (BATCHES * BATCH_SIZE) / (batched.wallMs / 1000)
  const reads = await time(async () => {
    for (let i = 0; i < READS; i++) await store.get(ns, new TextEncoder().encode(`batch-0-${i % BATCH_SIZE}`))
  })
  results.sealedReadsPerSec = READS / (reads.wallMs / 1000)
  await store.lock()

  // Baseline: plain better-sqlite3, same pragmas, same row sizes, no encryption.
  const db = new Database(join(tmp.dir, 'plain.db'))
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = FULL')
  db.exec(
    'CREATE TABLE records (ns BLOB, lookup BLOB, sealed BLOB, PRIMARY KEY (ns, lookup)) STRICT, WITHOUT ROWID',
  )
  const insert = db.prepare('INSERT OR REPLACE INTO records VALUES (?, ?, ?)')
  const nsTag = randomBytes(32)
  const sealedSize = Buffer.alloc(1 + 12 + Math.ceil((8 + 16 + VALUE_BYTES) / 64) * 64 + 16)
  const plainSingle = await time(async () => {
    for (let i = 0; i < SINGLE_WRITES; i++) insert.run(nsTag, randomBytes(32), sealedSize)
  })
  results.plainSinglePerSec = SINGLE_WRITES / (plainSingle.wallMs / 1000)
  const plainBatched = await time(async () => {
    for (let b = 0; b < BATCHES; b++) {
      db.transaction(() => {
        for (let i = 0; i < BATCH_SIZE; i++) insert.run(nsTag, randomBytes(32), sealedSize)
      })()
    }
  })
  results.plainBatchedPerSec = (BATCHES * BATCH_SIZE) / (plainBatched.wallMs / 1000)
  db.close()

  const rows: [string, string][] = [
    [
      'Argon2id m=64MiB t=3 p=1 (median of 3)',
      `${results.argon2DefaultWallMs.toFixed(0)} ms wall, ${results.argon2DefaultCpuMs.toFixed(0)} ms CPU`,
    ],
    [
      'unlock at the defaults',
      `${results.unlockDefaultWallMs.toFixed(0)} ms wall, ${results.unlockDefaultCpuMs.toFixed(0)} ms CPU`,
    ],
    [
      `sealed put, 1 per transaction (${VALUE_BYTES} B)`,
      `${results.sealedSinglePerSec.toFixed(0)}/s (plain SQLite ${results.plainSinglePerSec.toFixed(0)}/s, ratio ${(results.sealedSinglePerSec / results.plainSinglePerSec).toFixed(2)})`,
    ],
    [
      `sealed put, ${BATCH_SIZE} per transaction`,
      `${results.sealedBatchedPerSec.toFixed(0)}/s (plain SQLite ${results.plainBatchedPerSec.toFixed(0)}/s, ratio ${(results.sealedBatchedPerSec / results.plainBatchedPerSec).toFixed(2)})`,
    ],
    ['sealed get', `${results.sealedReadsPerSec.toFixed(0)}/s`],
  ]
  for (const [name, figure] of rows) console.log(`${name.padEnd(44)} ${figure}`)
  if (process.argv.includes('--json')) console.log(JSON.stringify(results))
} finally {
  tmp.cleanup()
}
