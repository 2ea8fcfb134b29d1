import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { SQLITE_MIGRATIONS, SQLITE_SCHEMA_VERSION } from '../../src/storage/sqlite/migrations.ts'
import {
  migrateSqlite,
  openSqliteStorage,
  SQLITE_PAGE_BYTES,
  type SqliteStorage,
  WRITER_CACHE_KIB,
  WRITER_CHECKPOINT_PAGES,
} from '../../src/storage/sqlite/sqlite-storage.ts'
import { StorageError } from '../../src/storage/storage.ts'
import {
  HOUR,
  type InspectableStorage,
  registerUser,
  runStorageContract,
  type StorageHarness,
  T0,
} from './contract.ts'

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'tacit-sqlite-'))
}

runStorageContract(
  'sqlite',
  async (options): Promise<StorageHarness> => {
    const dir = tempDir()
    const path = join(dir, 'tacit.db')
    const storage = await openSqliteStorage(path, options)
    const others: InspectableStorage[] = []
    return {
      storage,
      async openAnother() {
        const other = await openSqliteStorage(path, options)
        others.push(other)
        return other
      },
      async releaseAcknowledged() {
        // Nothing waits: a payload goes in the transaction that deletes its last mailbox row.
      },
      async close() {
        for (const o of others) await o.close()
        await storage.close()
        rmSync(dir, { recursive: true, force: true })
      },
    }
  },
  { claimers: 50 },
)

describe('sqlite storage: migrations and files', () => {
  it('upgrades a v1 database step by step, keeping its data', async () => {
    const dir = tempDir()
    try {
      const path = join(dir, 'tacit.db')
      const v1 = new Database(path)
      assert.equal(migrateSqlite(v1, SQLITE_MIGRATIONS.slice(0, 1)), 1)
      v1.prepare("INSERT INTO accounts (handle, identity_key, created_at) VALUES ('alice', x'01', 5)").run()
      v1.prepare(
        "INSERT INTO devices (device_id, handle, signature_key, credential, created_at) VALUES ('d0', 'alice', x'02', x'03', 5)",
      ).run()
      assert.deepEqual(v1.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'blobs'").get(), {
        n: 0,
      })
      v1.close()

      const s = await openSqliteStorage(path)
      assert.deepEqual(await s.getAccount('alice'), {
        handle: 'alice',
        identityKey: new Uint8Array([1]),
        createdAt: 5,
      })
      // The v2 tables work on the upgraded file.
      await s.createBlob({
        blobId: 'b',
        owner: 'alice',
        declaredSize: 1,
        now: 5,
        expiresAt: 10,
        quotaBytes: 10,
      })
      await s.migrate()
      await s.close()
      const check = new Database(path, { readonly: true })
      const versions = check.prepare('SELECT version FROM schema_version ORDER BY version').all()
      check.close()
      assert.deepEqual(
        versions.map((v) => (v as { version: number }).version),
        SQLITE_MIGRATIONS.map((m) => m.version),
      )
      assert.equal(SQLITE_SCHEMA_VERSION, 3)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('upgrades v2 mailboxes to payload reference counts (migration 3), which acks and sweeps then use', async () => {
    const dir = tempDir()
    try {
      const path = join(dir, 'tacit.db')
      const v2 = new Database(path)
      assert.equal(migrateSqlite(v2, SQLITE_MIGRATIONS.slice(0, 2)), 2)
      v2.prepare("INSERT INTO accounts (handle, identity_key, created_at) VALUES ('alice', x'01', 5)").run()
      const device = v2.prepare(
        "INSERT INTO devices (device_id, handle, signature_key, credential, created_at, next_seq, mailbox_count) VALUES (?, 'alice', x'02', x'03', 5, ?, ?)",
      )
      device.run('d0', 3, 2)
      device.run('d1', 2, 1)
      device.run('d2', 2, 1)
      const payload = v2.prepare(
        'INSERT INTO payloads (id, payload, received_at, expires_at) VALUES (?, ?, 5, ?)',
      )
      payload.run(1, Buffer.from('shared'), 1e12) // to d0 and d1
      payload.run(2, Buffer.from('own'), 1e12) // to d0
      payload.run(3, Buffer.from('old'), 10) // to d2, expired at 10
      const row = v2.prepare('INSERT INTO mailbox (device_id, seq, payload_id) VALUES (?, ?, ?)')
      row.run('d0', 1, 1)
      row.run('d1', 1, 1)
      row.run('d0', 2, 2)
      row.run('d2', 1, 3)
      v2.close()

      const s = await openSqliteStorage(path)
      const check = new Database(path, { readonly: true })
      const refs = check.prepare('SELECT id, refs, recipients FROM payloads ORDER BY id').all()
      assert.deepEqual(refs, [
        { id: 1, refs: 2, recipients: '[["d0",1],["d1",1]]' },
        { id: 2, refs: 1, recipients: '[["d0",2]]' },
        { id: 3, refs: 1, recipients: '[["d2",1]]' },
      ])
      assert.deepEqual(
        check.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'mailbox_by_payload'").get(),
        { n: 0 },
      )
      check.close()

      // The shared payload stays until its last mailbox row is acknowledged.
      assert.equal(await s.ack('d0', [1n]), 1)
      assert.equal(await s.countRows('payloads'), 3)
      assert.equal(await s.ack('d1', [1n]), 1)
      assert.equal(await s.countRows('payloads'), 2)
      const left = await s.fetchMailbox('d0', 0n, 10, 100)
      assert.deepEqual(
        left.map((e) => [e.seq, new TextDecoder().decode(e.payload)]),
        [[2n, 'own']],
      )
      // The expired one is found from its payload row and swept with its mailbox row.
      assert.equal((await s.sweepExpired(100)).envelopes, 1)
      assert.equal(await s.countRows('payloads'), 1)
      assert.equal(await s.countRows('mailbox'), 1)
      await s.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('refuses a database written by a newer schema', async () => {
    const dir = tempDir()
    try {
      const path = join(dir, 'tacit.db')
      const db = new Database(path)
      migrateSqlite(db)
      db.prepare("INSERT INTO schema_version (version, name, applied_at) VALUES (99, 'future', 0)").run()
      db.close()
      await assert.rejects(openSqliteStorage(path), (e: unknown) => StorageError.is(e, 'unavailable'))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('an unopenable path is unavailable', async () => {
    await assert.rejects(
      openSqliteStorage(join(tmpdir(), 'tacit-no-such-dir', 'x', 'tacit.db')),
      (e: unknown) => StorageError.is(e, 'unavailable'),
    )
  })

  it('creates a database with 16 KiB pages, and opens one with 4 KiB pages as it is', async () => {
    const dir = tempDir()
    try {
      const fresh = join(dir, 'fresh.db')
      const s = await openSqliteStorage(fresh)
      await s.close()
      const a = new Database(fresh, { readonly: true })
      assert.equal(a.pragma('page_size', { simple: true }), SQLITE_PAGE_BYTES)
      a.close()

      const old = join(dir, 'old.db')
      const v1 = new Database(old)
      v1.pragma('page_size = 4096')
      migrateSqlite(v1)
      v1.close()
      const t = await openSqliteStorage(old)
      assert.equal(await t.getAccount('nobody'), null)
      await t.close()
      const b = new Database(old, { readonly: true })
      assert.equal(b.pragma('page_size', { simple: true }), 4096)
      b.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('uses WAL; the writer commits with synchronous=FULL, its own page cache and checkpoint limit', async () => {
    const dir = tempDir()
    try {
      const path = join(dir, 'tacit.db')
      const s = await openSqliteStorage(path)
      const settings = s.writerSettings
      await s.close()
      assert.deepEqual(settings, {
        cacheKiB: WRITER_CACHE_KIB,
        checkpointPages: WRITER_CHECKPOINT_PAGES,
        synchronous: 'FULL',
      })
      const db = new Database(path)
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal')
      db.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("the writer lets the WAL pass SQLite's default 1,000 pages before it checkpoints", async () => {
    await withLargeWal('wal', async ({ enqueueLarge, walFrames }) => {
      for (let i = 0; i < 400; i++) await enqueueLarge()
      // The WAL still holds every frame since the start: with SQLite's default limit a commit
      // would have checkpointed it at 1,000 and the next one started it again from frame 0.
      const frames = walFrames()
      assert.ok(frames > 1_500, `WAL frames: ${frames}`)
      assert.ok(frames < WRITER_CHECKPOINT_PAGES)
    })
  })

  it("a write on the main connection does not checkpoint the writer's WAL", async () => {
    await withLargeWal('backstop', async ({ storage, enqueueLarge, walFrames }) => {
      for (let i = 0; i < 400; i++) await enqueueLarge()
      // An invite is written by the main connection, synchronously, on the event loop. With
      // SQLite's default limit there its COMMIT would checkpoint the whole WAL, and the writer's
      // next batch would start the WAL again from frame 0.
      await storage.createInvite(new Uint8Array(randomBytes(32)), T0, T0 + HOUR)
      await enqueueLarge()
      const frames = walFrames()
      assert.ok(frames > 1_500, `WAL frames: ${frames}`)
    })
  })
})

/**
 * A storage on a temporary file with one registered device, `synchronous` NORMAL (the same
 * pages, without an fsync per commit), and a second connection that reads the WAL's size.
 */
async function withLargeWal(
  handle: string,
  body: (wal: {
    storage: SqliteStorage
    /** One batch of its own: a transaction of several pages (a 40 KiB payload alone takes three). */
    enqueueLarge: () => Promise<unknown>
    /**
     * Frames in the WAL, as a passive checkpoint by the second connection reports them. That
     * checkpoint copies the frames into the database file, so a test reads this last.
     */
    walFrames: () => number
  }) => Promise<void>,
): Promise<void> {
  const dir = tempDir()
  try {
    const path = join(dir, 'tacit.db')
    const storage = await openSqliteStorage(path, { synchronous: 'NORMAL' })
    const db = new Database(path)
    try {
      const [device] = await registerUser(storage, handle)
      await body({
        storage,
        enqueueLarge: () =>
          storage.enqueue(
            [{ mailboxes: [device!], payload: new Uint8Array(40_000), expiresAt: T0 + HOUR }],
            T0,
          ),
        walFrames: () => (db.pragma('wal_checkpoint(PASSIVE)') as { log: number }[])[0]!.log,
      })
    } finally {
      db.close()
      await storage.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

describe('openStorage', () => {
  it('opens the embedded backend from its config', async () => {
    const { openStorage } = await import('../../src/storage/open-storage.ts')
    const dir = tempDir()
    try {
      const s = await openStorage({ kind: 'sqlite', path: join(dir, 'tacit.db') })
      assert.equal(await s.getAccount('nobody'), null)
      await s.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('sqlite storage: claims from several processes', () => {
  it('4 processes, 52 claims, 20 one-time packages: none handed out twice', async () => {
    const dir = tempDir()
    try {
      const path = join(dir, 'tacit.db')
      const s = await openSqliteStorage(path)
      const code = new Uint8Array(32).fill(7)
      await s.createInvite(code, 0, 10)
      const device = {
        deviceId: 'd0',
        handle: 'alice',
        signatureKey: new Uint8Array(32),
        credential: new Uint8Array(1),
        createdAt: 0,
      }
      await s.registerAccount({
        codeHash: code,
        account: { handle: 'alice', identityKey: new Uint8Array(32), createdAt: 0 },
        device,
        now: 0,
      })
      const kp = (name: string, lastResort: boolean) => ({
        ref: new TextEncoder().encode(name),
        keyPackage: new TextEncoder().encode(name),
        lastResort,
      })
      await s.uploadKeyPackages({
        deviceId: 'd0',
        oneTime: Array.from({ length: 20 }, (_, i) => kp(`p${i}`, false)),
        lastResort: kp('last', true),
        maxOneTime: 20,
      })
      const script = fileURLToPath(new URL('./claim-process.ts', import.meta.url))
      const children = [0, 1, 2, 3].map(() => {
        const child = spawn(process.execPath, ['--import', 'tsx', script, path, 'alice', '13'], {
          stdio: ['pipe', 'pipe', 'inherit'],
          timeout: 60_000,
        })
        let out = ''
        const ready = new Promise<void>((resolve) => {
          child.stdout.on('data', (d: Buffer) => {
            out += d.toString()
            if (out.startsWith('ready\n')) resolve()
          })
        })
        const done = new Promise<{ keyPackage: string; lastResort: boolean }[]>((resolve, reject) => {
          child.once('error', reject)
          child.once('exit', (code) =>
            code === 0 ? resolve(JSON.parse(out.slice('ready\n'.length))) : reject(new Error(`exit ${code}`)),
          )
        })
        return { child, ready, done }
      })
      await Promise.all(children.map((c) => c.ready))
      for (const c of children) c.child.stdin.end('go\n')
      const results = await Promise.all(children.map((c) => c.done))
      const all = results.flat()
      assert.equal(all.length, 52)
      const oneTime = all.filter((c) => !c.lastResort).map((c) => c.keyPackage)
      assert.equal(oneTime.length, 20)
      assert.equal(new Set(oneTime).size, 20)
      assert.ok(all.filter((c) => c.lastResort).every((c) => c.keyPackage === 'last'))
      assert.equal(await s.countKeyPackages('d0'), 0)
      await s.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
