/**
 * `npm run bench:rotation`: what PostgreSQL's payload generations (decision 0019) cost the
 * system catalogs over time. Every rotation creates one partition and drops another, and each
 * leaves dead rows in pg_class, pg_attribute, pg_depend and others that only VACUUM (autovacuum)
 * makes reusable. This runs many rotations back to back on a fresh schema, with a clock that
 * advances one generation per rotation (3,600 rotations are an hour of one-second generations),
 * and prints, every tenth of the run, the time per rotation and the catalogs' size on disk. The
 * baseline is the run's own first tenth: the last tenth's time per rotation is printed as a ratio
 * to it, so a rotation that slows down as the catalogs grow shows.
 *
 *   npm run bench:rotation
 *   npm run bench:rotation -- --rotations 20000 --json
 *
 * PostgreSQL: env TACIT_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test); the
 * run uses a schema of its own and drops it. It runs rotations faster than a server would (one a
 * second), so autovacuum, which visits once a `autovacuum_naptime`, sees more dead rows between
 * two visits than it would in service: the catalogs' plateau with autovacuum on is an upper bound.
 */
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import {
  DEFAULT_PAYLOAD_GENERATION_MS,
  openPostgresStorage,
} from '../packages/server/src/storage/postgres/postgres-storage.ts'

const POSTGRES_URL = process.env.TACIT_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const DEFAULT_ROTATIONS = 3_600
/** Bounds: at most this many rotations, and the loop stops after this long whatever the count. */
const MAX_ROTATIONS = 100_000
const MAX_RUN_MS = 30 * 60_000
/** The catalogs a rotation writes to (CREATE TABLE … ATTACH PARTITION, DETACH, DROP TABLE). */
const CATALOGS = [
  'pg_attribute',
  'pg_class',
  'pg_constraint',
  'pg_depend',
  'pg_index',
  'pg_inherits',
  'pg_type',
] as const

interface Step {
  rotations: number
  msPerRotation: number
  /** Bytes on disk, tables and their indexes, by catalog. */
  catalogBytes: Record<string, number>
  totalCatalogBytes: number
}

function parseOptions(argv: readonly string[]): { rotations: number; json: boolean } {
  const i = argv.indexOf('--rotations')
  const rotations = i >= 0 ? Number(argv[i + 1]) : DEFAULT_ROTATIONS
  if (!Number.isInteger(rotations) || rotations < 10 || rotations > MAX_ROTATIONS)
    throw new Error(`--rotations must be an integer from 10 to ${MAX_ROTATIONS}`)
  return { rotations, json: argv.includes('--json') }
}

async function catalogBytes(c: pg.Client): Promise<Record<string, number>> {
  const r = await c.query(
    `SELECT relname, pg_total_relation_size(oid) AS bytes FROM pg_class
      WHERE relnamespace = 'pg_catalog'::regnamespace AND relname = ANY($1::text[])`,
    [CATALOGS],
  )
  const out: Record<string, number> = {}
  for (const row of r.rows as { relname: string; bytes: string }[]) out[row.relname] = Number(row.bytes)
  return out
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2))
  const admin = new pg.Client({ connectionString: POSTGRES_URL })
  await admin.connect()
  const setting = async (name: string) =>
    (
      (await admin.query('SELECT setting FROM pg_settings WHERE name = $1', [name])).rows[0] as {
        setting: string
      }
    ).setting
  const autovacuum = `${await setting('autovacuum')}, naptime ${await setting('autovacuum_naptime')} s`
  const schema = `bench_rotation_${randomBytes(4).toString('hex')}`
  const storage = await openPostgresStorage(POSTGRES_URL, { schema, payloadGenerationMs: 0 })
  const steps: Step[] = []
  const started = performance.now()
  try {
    const sum = (bytes: Record<string, number>) => Object.values(bytes).reduce((a, b) => a + b, 0)
    const first = await catalogBytes(admin)
    console.error(
      `bench:rotation — ${options.rotations} rotations of ${DEFAULT_PAYLOAD_GENERATION_MS} ms generations, autovacuum ${autovacuum}`,
    )
    console.error(`  rotations  ms/rotation  catalogs MB  (${CATALOGS.map((c) => c.slice(3)).join(' ')})`)
    console.error(
      `  ${'0'.padStart(9)}  ${'-'.padStart(11)}  ${(sum(first) / 2 ** 20).toFixed(1).padStart(11)}`,
    )
    const every = Math.max(1, Math.floor(options.rotations / 10))
    let now = Date.now()
    let lapStart = performance.now()
    for (let i = 1; i <= options.rotations; i++) {
      now += DEFAULT_PAYLOAD_GENERATION_MS
      const outcome = await storage.rotatePayloads(now, DEFAULT_PAYLOAD_GENERATION_MS)
      if (!outcome.rotated) throw new Error(`rotation ${i} did not start a generation`)
      // Checked after every rotation; a run out of time reports its partial step and ends.
      const outOfTime = performance.now() - started > MAX_RUN_MS
      if (i % every !== 0 && i !== options.rotations && !outOfTime) continue
      const lapMs = performance.now() - lapStart
      const bytes = await catalogBytes(admin)
      const lapRotations = i - (steps.at(-1)?.rotations ?? 0)
      steps.push({
        rotations: i,
        msPerRotation: lapMs / lapRotations,
        catalogBytes: bytes,
        totalCatalogBytes: sum(bytes),
      })
      console.error(
        `  ${String(i).padStart(9)}  ${(lapMs / lapRotations).toFixed(2).padStart(11)}  ${(sum(bytes) / 2 ** 20).toFixed(1).padStart(11)}  (${CATALOGS.map((c) => ((bytes[c] ?? 0) / 2 ** 20).toFixed(1)).join(' ')})`,
      )
      if (outOfTime) {
        console.error(`  stopped after ${MAX_RUN_MS / 60_000} min`)
        break
      }
      lapStart = performance.now()
    }
    const last = steps.at(-1)!
    const growthPerThousand = ((last.totalCatalogBytes - sum(first)) / last.rotations) * 1000
    const slowdown = last.msPerRotation / steps[0]!.msPerRotation
    console.error(
      `catalogs grew ${(growthPerThousand / 2 ** 20).toFixed(2)} MB per 1,000 rotations; the last tenth's rotations took ${slowdown.toFixed(2)}x the first tenth's`,
    )
    if (options.json)
      console.log(
        JSON.stringify({
          bench: 'rotation',
          rotations: last.rotations,
          generationMs: DEFAULT_PAYLOAD_GENERATION_MS,
          autovacuum,
          initialCatalogBytes: sum(first),
          steps,
          catalogGrowthPerThousandRotations: growthPerThousand,
          slowdown,
        }),
      )
  } finally {
    await storage.close()
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    await admin.end()
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
