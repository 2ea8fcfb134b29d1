/**
 * The storage contract against PostgreSQL. Every test gets its own schema (`tacit_test_<random>`),
 * created by the storage's migrations and dropped when the test ends, so runs never see each
 * other's rows. URL: env TACIT_TEST_POSTGRES_URL or postgres://postgres@127.0.0.1:5432/test.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import pg from 'pg'
import { POSTGRES_MIGRATIONS, POSTGRES_SCHEMA_VERSION } from '../../src/storage/postgres/migrations.ts'
import {
  migratePostgres,
  openPostgresStorage,
  postgresWarnings,
} from '../../src/storage/postgres/postgres-storage.ts'
import { StorageError } from '../../src/storage/storage.ts'
import {
  envelope,
  type InspectableStorage,
  registerUser,
  runStorageContract,
  type StorageHarness,
} from './contract.ts'

const URL = process.env.TACIT_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

function newSchema(): string {
  return `tacit_test_${randomBytes(6).toString('hex')}`
}

async function dropSchema(schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: URL })
  await c.connect()
  try {
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
  } finally {
    await c.end()
  }
}

runStorageContract(
  'postgres',
  async (options): Promise<StorageHarness> => {
    const schema = newSchema()
    const storage = await openPostgresStorage(URL, { ...options, schema, poolSize: 4 })
    const others: InspectableStorage[] = []
    return {
      storage,
      async openAnother() {
        const other = await openPostgresStorage(URL, { ...options, schema, poolSize: 4 })
        others.push(other)
        return other
      },
      async close() {
        for (const o of others) await o.close()
        await storage.close()
        await dropSchema(schema)
      },
    }
  },
  { claimers: 50 },
)

describe('postgres storage: migrations and connection', () => {
  it('upgrades a v1 schema step by step, keeping its data; migrate is idempotent', async () => {
    const schema = newSchema()
    const c = new pg.Client({ connectionString: URL })
    await c.connect()
    try {
      await c.query('BEGIN')
      assert.equal(
        await migratePostgres(c as unknown as pg.PoolClient, schema, POSTGRES_MIGRATIONS.slice(0, 1)),
        1,
      )
      await c.query(
        `INSERT INTO ${schema}.accounts (handle, identity_key, created_at) VALUES ('alice', '\\x01', 5)`,
      )
      await c.query(
        `INSERT INTO ${schema}.devices (device_id, handle, signature_key, credential, created_at, next_seq, mailbox_count)
         VALUES ('alice-d0', 'alice', '\\x02', '\\x03', 5, 7, 2)`,
      )
      await c.query('COMMIT')
      const blobs = await c.query(
        "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'blobs'",
        [schema],
      )
      assert.equal(blobs.rows[0].n, 0)

      const s = await openPostgresStorage(URL, { schema })
      assert.deepEqual(await s.getAccount('alice'), {
        handle: 'alice',
        identityKey: new Uint8Array([1]),
        createdAt: 5,
      })
      await s.createBlob({
        blobId: 'b',
        owner: 'alice',
        declaredSize: 1,
        now: 5,
        expiresAt: 10,
        quotaBytes: 10,
      })
      await s.migrate()
      // v3 rewrote the device table at fill factor 50, keeping its rows and their counters.
      assert.equal((await s.getDevice('alice-d0'))?.handle, 'alice')
      await s.close()
      const counters = await c.query(`SELECT next_seq, mailbox_count FROM ${schema}.devices`)
      assert.deepEqual(counters.rows, [{ next_seq: '7', mailbox_count: '2' }])
      const options = await c.query(
        `SELECT reloptions FROM pg_class WHERE oid = '${schema}.devices'::regclass`,
      )
      assert.deepEqual(options.rows[0].reloptions, ['fillfactor=50'])
      // v4: a payload (ciphertext) is stored out of line with no compression attempt.
      const storage = await c.query(
        `SELECT attstorage FROM pg_attribute WHERE attrelid = '${schema}.payloads'::regclass AND attname = 'payload'`,
      )
      assert.equal(storage.rows[0].attstorage, 'e')
      const versions = await c.query(`SELECT version FROM ${schema}.schema_version ORDER BY version`)
      assert.deepEqual(
        versions.rows.map((r) => r.version),
        POSTGRES_MIGRATIONS.map((m) => m.version),
      )
      assert.equal(POSTGRES_SCHEMA_VERSION, 4)
    } finally {
      await c.end()
      await dropSchema(schema)
    }
  })

  it('refuses a schema written by a newer version', async () => {
    const schema = newSchema()
    try {
      const s = await openPostgresStorage(URL, { schema })
      await s.close()
      const c = new pg.Client({ connectionString: URL })
      await c.connect()
      await c.query(
        `INSERT INTO ${schema}.schema_version (version, name, applied_at) VALUES (99, 'future', 0)`,
      )
      await c.end()
      await assert.rejects(openPostgresStorage(URL, { schema }), (e: unknown) =>
        StorageError.is(e, 'unavailable'),
      )
    } finally {
      await dropSchema(schema)
    }
  })

  it('several processes migrating at once apply each step once', async () => {
    const schema = newSchema()
    try {
      const storages = await Promise.all(
        [1, 2, 3].map(() => openPostgresStorage(URL, { schema, poolSize: 2 })),
      )
      for (const s of storages) await s.close()
      const c = new pg.Client({ connectionString: URL })
      await c.connect()
      const n = await c.query(`SELECT count(*)::int AS n FROM ${schema}.schema_version`)
      await c.end()
      assert.equal(n.rows[0].n, POSTGRES_SCHEMA_VERSION)
    } finally {
      await dropSchema(schema)
    }
  })

  it('a write that fails before its lock query does not hold up the batches after it', async () => {
    const schema = newSchema()
    const s = await openPostgresStorage(URL, { schema, poolSize: 4 })
    const c = new pg.Client({ connectionString: URL })
    await c.connect()
    try {
      const [d0] = await registerUser(s, 'locker')
      const now = Date.now()
      // The payload insert, the first statement of a commit's write, fails.
      await c.query(`ALTER TABLE ${schema}.payloads RENAME TO payloads_away`)
      await assert.rejects(
        s.submitCommit(
          {
            groupId: new Uint8Array([7]),
            epoch: 0n,
            commit: envelope([d0!], 'c', now + 60_000),
            welcome: null,
          },
          now,
        ),
        (e: unknown) => StorageError.is(e, 'unavailable'),
      )
      await c.query(`ALTER TABLE ${schema}.payloads_away RENAME TO payloads`)
      // The failed commit let go of its place in the lock order: the next batch, which waits for
      // it, completes.
      assert.deepEqual(await s.enqueue([envelope([d0!], 'b', now + 60_000)], now), [[1n]])
    } finally {
      await c.end()
      await s.close()
      await dropSchema(schema)
    }
  })

  it('an unreachable server is unavailable; a bad schema name is refused', async () => {
    await assert.rejects(openPostgresStorage('postgres://postgres@127.0.0.1:1/test'), (e: unknown) =>
      StorageError.is(e, 'unavailable'),
    )
    await assert.rejects(openPostgresStorage(URL, { schema: 'x; DROP TABLE y' }), (e: unknown) =>
      StorageError.is(e, 'invalid-argument'),
    )
  })
})

describe('postgres storage: configuration warnings', () => {
  it('warns when autovacuum cannot run, and only then', () => {
    const on = new Map([
      ['autovacuum', 'on'],
      ['track_counts', 'on'],
    ])
    assert.deepEqual(postgresWarnings(on), [])
    for (const off of ['autovacuum', 'track_counts']) {
      const settings = new Map(on)
      settings.set(off, 'off')
      assert.deepEqual(
        postgresWarnings(settings).map((w) => w.code),
        ['postgres-autovacuum-off'],
        off,
      )
    }
    // A setting that cannot be read counts as off.
    assert.equal(postgresWarnings(new Map([['autovacuum', 'on']])).length, 1)
  })

  it("reads this server's own settings", async () => {
    const c = new pg.Client({ connectionString: URL })
    await c.connect()
    const r = await c.query(
      "SELECT count(*)::int AS n FROM pg_settings WHERE name IN ('autovacuum', 'track_counts') AND setting = 'on'",
    )
    await c.end()
    const schema = newSchema()
    const storage = await openPostgresStorage(URL, { schema, poolSize: 2 })
    try {
      const codes = (await storage.configurationWarnings()).map((w) => w.code)
      assert.deepEqual(codes, r.rows[0].n === 2 ? [] : ['postgres-autovacuum-off'])
    } finally {
      await storage.close()
      await dropSchema(schema)
    }
  })
})

describe('openStorage', () => {
  it('opens either backend from its config', async () => {
    const { openStorage } = await import('../../src/storage/open-storage.ts')
    const schema = newSchema()
    try {
      const s = await openStorage({ kind: 'postgres', url: URL, schema })
      assert.equal(await s.getAccount('nobody'), null)
      await s.close()
      const c = new pg.Client({ connectionString: URL })
      await c.connect()
      const n = await c.query(
        'SELECT count(*)::int AS n FROM information_schema.schemata WHERE schema_name = $1',
        [schema],
      )
      await c.end()
      assert.equal(n.rows[0].n, 1)
    } finally {
      await dropSchema(schema)
    }
  })
})

describe('postgres storage: batches in flight', () => {
  it('two batches in flight keep call order within a mailbox (seqs follow the calls)', async () => {
    const schema = newSchema()
    const storage = await openPostgresStorage(URL, { schema, poolSize: 4 })
    try {
      const [mailbox] = await registerUser(storage, 'pipelined')
      const now = Date.now()
      // Each call flushes as its own batch on its own turn, so up to two are in flight at once.
      const calls: Promise<bigint[][]>[] = []
      for (let i = 0; i < 40; i++) {
        calls.push(storage.enqueue([envelope([mailbox!], `p${i}`, now + 3600_000)], now))
        await new Promise((resolve) => setImmediate(resolve))
      }
      const seqs = (await Promise.all(calls)).map((r) => r[0]![0]!)
      for (let i = 1; i < seqs.length; i++)
        assert.ok(seqs[i]! > seqs[i - 1]!, `call ${i} after call ${i - 1}`)
      assert.ok(storage.groupCommitStats.batches > 1, 'the calls ran as several batches')
      const entries = await storage.fetchMailbox(mailbox!, 0n, 100, now)
      assert.deepEqual(
        entries.map((e) => new TextDecoder().decode(e.payload)),
        Array.from({ length: 40 }, (_, i) => `p${i}`),
      )
    } finally {
      await storage.close()
      await dropSchema(schema)
    }
  })
})
