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
  type PostgresStorage,
  type PostgresStorageOptions,
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

/** Two forced rotations retire the generation that was current before them (decision 0019). */
async function retireEveryGeneration(storage: PostgresStorage): Promise<void> {
  await storage.rotatePayloads(Date.now(), 0)
  await storage.rotatePayloads(Date.now(), 0)
}

runStorageContract(
  'postgres',
  async (options): Promise<StorageHarness> => {
    const schema = newSchema()
    // No rotation timer: payload generations move only when a test says so.
    const opened = { ...options, schema, poolSize: 4, payloadGenerationMs: 0 }
    const storage = await openPostgresStorage(URL, opened)
    const others: InspectableStorage[] = []
    return {
      storage,
      async openAnother() {
        const other = await openPostgresStorage(URL, opened)
        others.push(other)
        return other
      },
      async releaseAcknowledged() {
        await retireEveryGeneration(storage)
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
      // v4: a payload (ciphertext) is stored out of line with no compression attempt; v5 kept
      // that for the partitioned table and every partition of it.
      const storage = await c.query(
        `SELECT DISTINCT attstorage FROM pg_attribute
          WHERE attname = 'payload' AND (attrelid = '${schema}.payloads'::regclass
            OR attrelid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = '${schema}.payloads'::regclass))`,
      )
      assert.deepEqual(storage.rows, [{ attstorage: 'e' }])
      const versions = await c.query(`SELECT version FROM ${schema}.schema_version ORDER BY version`)
      assert.deepEqual(
        versions.rows.map((r) => r.version),
        POSTGRES_MIGRATIONS.map((m) => m.version),
      )
      assert.equal(POSTGRES_SCHEMA_VERSION, 5)
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

describe('postgres storage: payload generations (decision 0019)', () => {
  const text = (e: { payload: Uint8Array }): string => new TextDecoder().decode(e.payload)

  async function generations(c: pg.Client, schema: string): Promise<{ current: number; tables: string[] }> {
    const g = await c.query(`SELECT current FROM ${schema}.payload_generation`)
    const t = await c.query(
      `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = '${schema}.payloads'::regclass`,
    )
    return { current: Number(g.rows[0].current), tables: t.rows.map((r) => r.relname as string).sort() }
  }

  /** A storage on a fresh schema and a plain client beside it; both closed, the schema dropped. */
  async function withStorageAndClient(
    options: Omit<PostgresStorageOptions, 'schema'>,
    body: (s: PostgresStorage, c: pg.Client, schema: string) => Promise<void>,
  ): Promise<void> {
    const schema = newSchema()
    const s = await openPostgresStorage(URL, { ...options, schema })
    const c = new pg.Client({ connectionString: URL })
    await c.connect()
    try {
      await body(s, c, schema)
    } finally {
      await c.end()
      await s.close()
      await dropSchema(schema)
    }
  }

  /** Polls `done` every 20 ms, failing after 10 s. */
  async function waitFor(done: () => Promise<boolean>, what: string): Promise<void> {
    const deadline = Date.now() + 10_000
    while (!(await done())) {
      assert.ok(Date.now() < deadline, `${what} within 10 s`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  it('retiring a generation keeps what mailboxes hold and drops what was acknowledged', () =>
    withStorageAndClient({ payloadGenerationMs: 0 }, async (s, c, schema) => {
      const [d0, d1] = await registerUser(s, 'alice', 2)
      const now = Date.now()
      const later = now + 3600_000
      const [[shared0, shared1], [acked], [pending]] = (await s.enqueue(
        [
          envelope([d0!, d1!], 'shared', later),
          envelope([d0!], 'acked', later),
          envelope([d1!], 'pending', later),
        ],
        now,
      )) as [[bigint, bigint], [bigint], [bigint]]
      assert.equal(await s.ack(d0!, [acked]), 1)
      // Acknowledged, unreachable, but still in its generation's partition until that is retired.
      assert.equal(await s.countRows('payloads'), 3)
      assert.deepEqual((await s.fetchMailbox(d0!, 0n, 10, now)).map(text), ['shared'])

      const before = await generations(c, schema)
      assert.deepEqual(await s.rotatePayloads(now, 0), { rotated: true, retired: 0, kept: 0 })
      assert.deepEqual(await s.rotatePayloads(now, 0), { rotated: true, retired: 1, kept: 2 })
      const after = await generations(c, schema)
      assert.equal(after.current, before.current + 2)
      assert.ok(!after.tables.includes(`payloads_g${before.current}`), 'the old partition is dropped')
      assert.equal(await s.countRows('payloads'), 2)
      const kept = await c.query(`SELECT generation FROM ${schema}.payloads_kept`)
      assert.deepEqual(kept.rows, [{ generation: '0' }, { generation: '0' }])

      // The kept payloads are delivered as before, under the same seqs.
      assert.deepEqual(
        (await s.fetchMailbox(d0!, 0n, 10, now)).map((e) => [e.seq, text(e)]),
        [[shared0, 'shared']],
      )
      assert.deepEqual(
        (await s.fetchMailbox(d1!, 0n, 10, now)).map((e) => [e.seq, text(e)]),
        [
          [shared1, 'shared'],
          [pending, 'pending'],
        ],
      )
      // A kept payload goes with its last reference, in the acknowledging batch.
      assert.equal(await s.ack(d0!, [shared0]), 1)
      assert.equal(await s.countRows('payloads'), 2)
      assert.equal(await s.ack(d1!, [shared1, pending]), 2)
      assert.equal(await s.countRows('payloads'), 0)
      // Not yet due: nothing rotates.
      assert.deepEqual(await s.rotatePayloads(now + 1, 5_000), { rotated: false, retired: 0, kept: 0 })
    }))

  it('two processes rotating under load lose and duplicate nothing', async () => {
    const schema = newSchema()
    const a = await openPostgresStorage(URL, { schema, poolSize: 4, payloadGenerationMs: 0 })
    const b = await openPostgresStorage(URL, { schema, poolSize: 4, payloadGenerationMs: 0 })
    try {
      const devices = await registerUser(a, 'load', 4)
      const now = Date.now()
      const later = now + 3600_000
      /** What each mailbox must still hold: seq → text. */
      const expected = new Map(devices.map((d) => [d, new Map<bigint, string>()]))
      for (let round = 0; round < 12; round++) {
        const sends = Array.from({ length: 8 }, (_, i) => {
          const to = [devices[i % 4]!, devices[(i + round) % 4]!].filter((d, j, all) => all.indexOf(d) === j)
          const body = `r${round}-m${i}`
          return (i % 2 === 0 ? a : b).enqueue([envelope(to, body, later)], now).then(([seqs]) => {
            for (const [j, d] of to.entries()) expected.get(d)!.set(seqs![j]!, body)
          })
        })
        // Each acknowledges half of what a mailbox holds, while both rotate.
        const acks = devices.map(async (d, i) => {
          const held = [...expected.get(d)!.keys()].filter((_, j) => j % 2 === round % 2)
          const n = await (i % 2 === 0 ? b : a).ack(d, held)
          assert.equal(n, held.length)
          for (const seq of held) expected.get(d)!.delete(seq)
        })
        await Promise.all([...sends, ...acks, a.rotatePayloads(now, 0), b.rotatePayloads(now, 0)])
      }
      await retireEveryGeneration(a)
      const distinct = new Set<string>()
      for (const d of devices) {
        const held = await b.fetchMailbox(d, 0n, 1000, now)
        assert.deepEqual(
          held.map((e) => [e.seq, text(e)]),
          [...expected.get(d)!].sort(([x], [y]) => (x < y ? -1 : 1)),
        )
        for (const e of held) distinct.add(text(e))
      }
      assert.equal(await a.countRows('payloads'), distinct.size, 'only what a mailbox holds is stored')
      for (const d of devices) await a.ack(d, [...expected.get(d)!.keys()])
      assert.equal(await a.countRows('payloads'), 0)
    } finally {
      await a.close()
      await b.close()
      await dropSchema(schema)
    }
  })

  it('upgrading from v4 moves stored payloads to the kept partition', async () => {
    const schema = newSchema()
    const c = new pg.Client({ connectionString: URL })
    await c.connect()
    try {
      await c.query('BEGIN')
      await migratePostgres(c as unknown as pg.PoolClient, schema, POSTGRES_MIGRATIONS.slice(0, 4))
      await c.query('COMMIT')
      const s4 = await openPostgresStorage(URL, { schema, migrate: false, payloadGenerationMs: 0 })
      const [d0] = await registerUser(s4, 'old')
      // The v4 storage code is gone; write its rows as it did.
      await c.query(
        `WITH p AS (INSERT INTO ${schema}.payloads (payload, received_at, expires_at)
                      VALUES ('\\x6f6c64', 5, 9999999999999) RETURNING id)
         INSERT INTO ${schema}.mailbox (device_id, seq, payload_id) SELECT $1, 1, id FROM p`,
        [d0],
      )
      await c.query(`UPDATE ${schema}.devices SET next_seq = 2, mailbox_count = 1 WHERE device_id = $1`, [d0])
      await s4.close()

      const s = await openPostgresStorage(URL, { schema, payloadGenerationMs: 0 })
      try {
        const [entry] = await s.fetchMailbox(d0!, 0n, 10, 6)
        assert.deepEqual([entry?.seq, text(entry!), entry?.receivedAt], [1n, 'old', 5])
        assert.equal(
          Number((await c.query(`SELECT count(*) AS n FROM ${schema}.payloads_kept`)).rows[0].n),
          1,
        )
        // New payloads take ids after the old ones: the sequence moved with the table.
        const [[seq]] = (await s.enqueue([envelope([d0!], 'new', 9999999999999)], 6)) as [[bigint]]
        assert.equal(seq, 2n)
        const ids = await c.query(`SELECT id FROM ${schema}.payloads ORDER BY id`)
        assert.equal(ids.rows.length, 2)
        assert.ok(BigInt(ids.rows[1].id) > BigInt(ids.rows[0].id))
        assert.equal(await s.ack(d0!, [1n]), 1)
        assert.equal(
          Number((await c.query(`SELECT count(*) AS n FROM ${schema}.payloads_kept`)).rows[0].n),
          0,
        )
      } finally {
        await s.close()
      }
    } finally {
      await c.end()
      await dropSchema(schema)
    }
  })

  it('a generation a failed turn left detached is dropped by the next turn', () =>
    withStorageAndClient({ payloadGenerationMs: 0 }, async (s, c, schema) => {
      await s.rotatePayloads(Date.now(), 0)
      const { current } = await generations(c, schema)
      // As if a turn had detached the next generation to retire and died before its DROP.
      await c.query(`ALTER TABLE ${schema}.payloads DETACH PARTITION ${schema}.payloads_g${current - 1}`)
      assert.deepEqual(await s.rotatePayloads(Date.now(), 0), { rotated: true, retired: 1, kept: 0 })
      const left = await c.query('SELECT to_regclass($1) AS t', [`${schema}.payloads_g${current - 1}`])
      assert.equal(left.rows[0].t, null)
    }))

  it('a failed rotation is reported by event name and tried again', () => {
    const events: string[] = []
    const options = { payloadGenerationMs: 20, onBackgroundError: (event: string) => events.push(event) }
    return withStorageAndClient(options, async (_, c, schema) => {
      await c.query(`ALTER TABLE ${schema}.payload_generation RENAME TO payload_generation_away`)
      await waitFor(async () => events.length > 0, 'a reported failure')
      assert.ok(events.every((e) => e === 'storage.rotation-failed'))
      await c.query(`ALTER TABLE ${schema}.payload_generation_away RENAME TO payload_generation`)
      const before = (await generations(c, schema)).current
      await waitFor(async () => (await generations(c, schema)).current > before + 1, 'rotation again')
    })
  })

  it('a storage opened without background work leaves rotation to the others', () =>
    withStorageAndClient({ payloadGenerationMs: 20, backgroundWork: false }, async (_, c, schema) => {
      const start = (await generations(c, schema)).current
      // With a timer, a 20 ms generation turns over within a few ticks of 5 ms.
      await new Promise((resolve) => setTimeout(resolve, 200))
      assert.equal((await generations(c, schema)).current, start, 'no rotation of its own')
      const server = await openPostgresStorage(URL, { schema, payloadGenerationMs: 20 })
      try {
        await waitFor(async () => (await generations(c, schema)).current > start, 'the server rotating')
      } finally {
        await server.close()
      }
    }))

  it('the storage rotates on its own timer, keeping three partitions, and stops on close', () =>
    withStorageAndClient({ payloadGenerationMs: 40 }, async (s, c, schema) => {
      await waitFor(async () => (await generations(c, schema)).current >= 6, 'generation 6')
      await s.close()
      const stopped = await generations(c, schema)
      // The previous, the current and the next generation; older ones were retired.
      const live = [stopped.current - 1, stopped.current, stopped.current + 1].map((g) => `payloads_g${g}`)
      assert.deepEqual(stopped.tables, ['payloads_kept', ...live].sort())
      await new Promise((resolve) => setTimeout(resolve, 200))
      assert.equal((await generations(c, schema)).current, stopped.current, 'no rotation after close')
    }))
})
