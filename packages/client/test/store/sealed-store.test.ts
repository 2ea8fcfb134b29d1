import assert from 'node:assert/strict'
import { copyFileSync } from 'node:fs'
import { after, describe, test } from 'node:test'
import { CryptoError } from '@tacit/crypto/errors'
import Database from 'better-sqlite3'
import { StoreError, type StoreErrorCode } from '../../src/store/errors.ts'
import { decodeHeader } from '../../src/store/format.ts'
import { createMemoryStoreBackend } from '../../src/store/memory-backend.ts'
import {
  createEncryptedStore,
  type EncryptedStore,
  unlockEncryptedStore,
} from '../../src/store/sealed-store.ts'
import { createSqliteStore, openSqliteStore } from '../../src/store/sqlite-store.ts'
import {
  defineNamespace,
  MAX_NAMESPACE_LENGTH,
  MAX_RECORD_KEY_BYTES,
  MAX_RECORD_VALUE_BYTES,
  MAX_RECORDS_PER_NAMESPACE,
  MAX_WRITES_PER_TRANSACTION,
} from '../../src/store/store.ts'
import { fingerprint, makeTempDir, options, recordingBackend, TEST_KDF, utf8 } from './_helpers.ts'

const SESSIONS = defineNamespace('sessions')
const CONTACTS = defineNamespace('contacts')
const PASS = 'correct horse battery staple'

const isCode = (code: StoreErrorCode) => (e: unknown) => StoreError.is(e, code)

const temps: (() => void)[] = []
after(() => {
  for (const cleanup of temps) cleanup()
})

function tempPath(): string {
  const tmp = makeTempDir()
  temps.push(tmp.cleanup)
  return tmp.path
}

async function withStore(fn: (store: EncryptedStore, path: string) => Promise<void>): Promise<void> {
  const path = tempPath()
  const store = await createSqliteStore(path, PASS, options)
  try {
    await fn(store, path)
  } finally {
    await store.lock()
  }
}

/** Raw rows of the SQLite file, read with a second connection. */
function rawRows(path: string): { ns: Buffer; lookup: Buffer; sealed: Buffer }[] {
  const db = new Database(path, { readonly: true })
  try {
    return db.prepare('SELECT ns, lookup, sealed FROM records').all() as {
      ns: Buffer
      lookup: Buffer
      sealed: Buffer
    }[]
  } finally {
    db.close()
  }
}

function editDatabase(path: string, fn: (db: Database.Database) => void): void {
  const db = new Database(path)
  try {
    fn(db)
  } finally {
    db.close()
  }
}

describe('encrypted store: records', () => {
  test('put, get, delete and list round-trip; namespaces are separate; list is sorted by key', async () => {
    await withStore(async (store) => {
      const k = (s: string) => utf8(s)
      await store.put(SESSIONS, k('bob'), utf8('session with bob'))
      await store.put(SESSIONS, k('alice'), utf8('session with alice'))
      await store.put(SESSIONS, new Uint8Array(0), new Uint8Array(0)) // empty key and value
      await store.put(CONTACTS, k('bob'), utf8('contact bob'))
      assert.deepEqual(await store.get(SESSIONS, k('bob')), utf8('session with bob'))
      assert.deepEqual(await store.get(CONTACTS, k('bob')), utf8('contact bob'))
      assert.deepEqual(await store.get(SESSIONS, new Uint8Array(0)), new Uint8Array(0))
      assert.equal(await store.get(SESSIONS, k('carol')), undefined)
      const listed = await store.list(SESSIONS)
      assert.deepEqual(
        listed.map((e) => Buffer.from(e.key).toString()),
        ['', 'alice', 'bob'],
      )
      assert.deepEqual(listed[1]?.value, utf8('session with alice'))
      await store.put(SESSIONS, k('bob'), utf8('replaced'))
      assert.deepEqual(await store.get(SESSIONS, k('bob')), utf8('replaced'))
      await store.delete(SESSIONS, k('bob'))
      await store.delete(SESSIONS, k('never there'))
      assert.equal(await store.get(SESSIONS, k('bob')), undefined)
      assert.equal((await store.list(SESSIONS)).length, 2)
      assert.deepEqual(await store.list(defineNamespace('empty')), [])
    })
  })

  test('records survive closing and reopening; binary keys and values of many sizes', async () => {
    const path = tempPath()
    const store = await createSqliteStore(path, PASS, options)
    const entries: [Uint8Array, Uint8Array][] = []
    for (let i = 0; i < 40; i++) {
      entries.push([
        Uint8Array.from({ length: i }, (_, j) => (i * 7 + j) & 0xff),
        new Uint8Array(i * 37).fill(i),
      ])
    }
    await store.transaction(async (tx) => {
      for (const [key, value] of entries) await tx.put(SESSIONS, key, value)
    })
    await store.lock()
    const reopened = await openSqliteStore(path, PASS, options)
    for (const [key, value] of entries) assert.deepEqual(await reopened.get(SESSIONS, key), value)
    assert.equal((await reopened.list(SESSIONS)).length, 40)
    await reopened.lock()
  })

  test('each write seals under a fresh nonce: the same record written twice gives different rows', async () => {
    await withStore(async (store, path) => {
      await store.put(SESSIONS, utf8('k'), utf8('same value'))
      const first = rawRows(path)[0]?.sealed
      await store.put(SESSIONS, utf8('k'), utf8('same value'))
      const second = rawRows(path)[0]?.sealed
      assert.ok(first !== undefined && second !== undefined)
      assert.equal(first.length, second.length)
      assert.notDeepEqual(first, second)
      assert.notDeepEqual(first.subarray(1, 13), second.subarray(1, 13), 'nonces differ')
    })
  })

  test('arrays passed in stay the caller’s: Buffers are copied, not zeroed after the commit', async () => {
    await withStore(async (store) => {
      const key = Buffer.from('buffer key')
      const value = Buffer.from('buffer value')
      await store.put(SESSIONS, key, value)
      assert.equal(key.toString(), 'buffer key')
      assert.equal(value.toString(), 'buffer value')
      const pending = store.put(SESSIONS, key, value)
      value.fill(0x41) // reused by the caller before the write finished
      await pending
      assert.deepEqual(await store.get(SESSIONS, key), utf8('buffer value'))
      const got = await store.get(SESSIONS, key)
      assert.ok(got !== undefined && !Buffer.isBuffer(got), 'values come back as plain Uint8Arrays')
    })
  })

  test('values are padded to 64-byte blocks before sealing', async () => {
    await withStore(async (store, path) => {
      await store.put(SESSIONS, utf8('a'), new Uint8Array(1))
      await store.put(SESSIONS, utf8('b'), new Uint8Array(50))
      const sizes = rawRows(path).map((r) => r.sealed.length)
      // version 1 + nonce 12 + one 64-byte block + tag 16, for both.
      assert.deepEqual(sizes, [93, 93])
    })
  })
})

describe('encrypted store: transactions', () => {
  test('several writes apply together; reads inside see the transaction’s own writes', async () => {
    await withStore(async (store) => {
      await store.put(SESSIONS, utf8('old'), utf8('1'))
      const result = await store.transaction(async (tx) => {
        await tx.put(SESSIONS, utf8('a'), utf8('A'))
        await tx.put(CONTACTS, utf8('b'), utf8('B'))
        await tx.delete(SESSIONS, utf8('old'))
        assert.deepEqual(await tx.get(SESSIONS, utf8('a')), utf8('A'))
        assert.equal(await tx.get(SESSIONS, utf8('old')), undefined)
        assert.deepEqual(
          (await tx.list(SESSIONS)).map((e) => Buffer.from(e.key).toString()),
          ['a'],
        )
        // Not visible outside before the commit.
        assert.equal(await store.get(SESSIONS, utf8('a')), undefined)
        return 'done'
      })
      assert.equal(result, 'done')
      assert.deepEqual(await store.get(SESSIONS, utf8('a')), utf8('A'))
      assert.deepEqual(await store.get(CONTACTS, utf8('b')), utf8('B'))
      assert.equal(await store.get(SESSIONS, utf8('old')), undefined)
    })
  })

  test('a throw inside the function rolls everything back and is rethrown as is', async () => {
    await withStore(async (store, path) => {
      await store.put(SESSIONS, utf8('keep'), utf8('original'))
      const before = rawRows(path)
      const boom = new Error('boom')
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.put(SESSIONS, utf8('keep'), utf8('changed'))
          await tx.put(SESSIONS, utf8('new'), utf8('new'))
          await tx.put(CONTACTS, utf8('x'), utf8('x'))
          await tx.delete(SESSIONS, utf8('keep'))
          throw boom
        }),
        (e) => e === boom,
      )
      assert.deepEqual(rawRows(path), before)
      assert.deepEqual(await store.get(SESSIONS, utf8('keep')), utf8('original'))
      assert.equal(await store.get(SESSIONS, utf8('new')), undefined)
      assert.deepEqual(await store.list(CONTACTS), [])
    })
  })

  test('a transaction object used after its function returned fails with transaction-closed', async () => {
    await withStore(async (store) => {
      let leaked: Parameters<Parameters<typeof store.transaction>[0]>[0] | undefined
      await store.transaction((tx) => {
        leaked = tx
      })
      assert.ok(leaked !== undefined)
      await assert.rejects(leaked.put(SESSIONS, utf8('late'), utf8('x')), isCode('transaction-closed'))
      await assert.rejects(leaked.get(SESSIONS, utf8('late')), isCode('transaction-closed'))
    })
  })

  test('concurrent transactions run one at a time (read-modify-write loses no update)', async () => {
    await withStore(async (store) => {
      const counter = utf8('counter')
      const increment = () =>
        store.transaction(async (tx) => {
          const current = await tx.get(SESSIONS, counter)
          const n = current === undefined ? 0 : current[0]!
          await tx.put(SESSIONS, counter, Uint8Array.of(n + 1))
        })
      await Promise.all(Array.from({ length: 20 }, increment))
      assert.deepEqual(await store.get(SESSIONS, counter), Uint8Array.of(20))
    })
  })
})

describe('encrypted store: passphrase', () => {
  test('a wrong passphrase fails with wrong-passphrase and leaves the files byte for byte unchanged', async () => {
    const path = tempPath()
    const store = await createSqliteStore(path, PASS, options)
    await store.put(SESSIONS, utf8('k'), utf8('v'))
    await store.lock()
    const before = fingerprint(path)
    assert.equal(before['-wal'], 'absent', 'a cleanly closed store leaves no WAL')
    await assert.rejects(openSqliteStore(path, 'wrong horse', options), isCode('wrong-passphrase'))
    await assert.rejects(openSqliteStore(path, utf8('wrong bytes'), options), isCode('wrong-passphrase'))
    assert.deepEqual(fingerprint(path), before)
    // Over a backend left open after the failure: still nothing written.
    const { openSqliteStoreBackend } = await import('../../src/store/sqlite-backend.ts')
    const backend = openSqliteStoreBackend(path, { create: false })
    await assert.rejects(unlockEncryptedStore(backend, 'wrong', options), isCode('wrong-passphrase'))
    assert.deepEqual(fingerprint(path).db, before.db)
    await backend.close()
    assert.deepEqual(fingerprint(path), before)
    const reopened = await openSqliteStore(path, PASS, options)
    assert.deepEqual(await reopened.get(SESSIONS, utf8('k')), utf8('v'))
    await reopened.lock()
  })

  test('after an unclean shutdown (WAL holding commits) a wrong passphrase changes neither the file nor the WAL', async () => {
    const path = tempPath()
    const crashed = tempPath()
    const store = await createSqliteStore(path, PASS, options)
    for (let i = 0; i < 30; i++) await store.put(SESSIONS, Uint8Array.of(i), utf8(`value ${i}`))
    // The files of an open, idle store are what a crash leaves: every commit is fsynced, the
    // WAL holds frames not yet checkpointed into the file.
    for (const suffix of ['', '-wal', '-shm']) copyFileSync(`${path}${suffix}`, `${crashed}${suffix}`)
    await store.lock()
    const before = fingerprint(crashed)
    assert.notEqual(before['-wal'], 'absent')
    await assert.rejects(openSqliteStore(crashed, 'wrong', options), isCode('wrong-passphrase'))
    const after = fingerprint(crashed)
    // -shm is SQLite's shared-memory WAL index, rebuilt by any reader; it holds no data.
    assert.equal(after.db, before.db, 'store file unchanged')
    assert.equal(after['-wal'], before['-wal'], 'WAL unchanged')
    const reopened = await openSqliteStore(crashed, PASS, options)
    assert.equal((await reopened.list(SESSIONS)).length, 30)
    await reopened.put(SESSIONS, utf8('after recovery'), utf8('written'))
    await reopened.lock()
    const again = await openSqliteStore(crashed, PASS, options)
    assert.deepEqual(await again.get(SESSIONS, utf8('after recovery')), utf8('written'))
    assert.equal((await again.list(SESSIONS)).length, 31)
    await again.lock()
  })

  test('opening a missing file, another database, or creating over a store fails clearly and writes nothing', async () => {
    const path = tempPath()
    await assert.rejects(openSqliteStore(path, PASS, options), isCode('not-initialized'))
    assert.equal(fingerprint(path).db, 'absent', 'no file was created')
    editDatabase(path, (db) => db.exec('CREATE TABLE other (x)'))
    await assert.rejects(openSqliteStore(path, PASS, options), isCode('not-a-store'))
    await assert.rejects(createSqliteStore(path, PASS, options), isCode('not-a-store'))
    const storePath = tempPath()
    const store = await createSqliteStore(storePath, PASS, options)
    await store.lock()
    const before = fingerprint(storePath)
    await assert.rejects(createSqliteStore(storePath, 'another', options), isCode('already-initialized'))
    assert.deepEqual(fingerprint(storePath), before)
  })

  test('change of passphrase: the old one stops working, the new one opens the same records', async () => {
    const path = tempPath()
    const store = await createSqliteStore(path, PASS, options)
    await store.put(SESSIONS, utf8('k'), utf8('v'))
    await assert.rejects(
      store.changePassphrase('not it', 'new pass', { kdfParams: TEST_KDF }),
      isCode('wrong-passphrase'),
    )
    await store.changePassphrase(PASS, 'new pass', { kdfParams: { ...TEST_KDF, iterations: 2 } })
    // The open store keeps working under the same store key.
    await store.put(SESSIONS, utf8('k2'), utf8('v2'))
    await store.lock()
    await assert.rejects(openSqliteStore(path, PASS, options), isCode('wrong-passphrase'))
    const reopened = await openSqliteStore(path, 'new pass', options)
    assert.deepEqual(await reopened.get(SESSIONS, utf8('k')), utf8('v'))
    assert.deepEqual(await reopened.get(SESSIONS, utf8('k2')), utf8('v2'))
    await reopened.lock()
    const db = new Database(path, { readonly: true })
    const header = decodeHeader(new Uint8Array(db.prepare('SELECT blob FROM header').pluck().get() as Buffer))
    db.close()
    assert.equal(header.params.iterations, 2, 'the new header carries the new parameters')
  })

  test('after a change of passphrase the old wrapped key is gone from the file and the WAL', async () => {
    const path = tempPath()
    const store = await createSqliteStore(path, PASS, options)
    const readHeader = () => {
      const db = new Database(path, { readonly: true })
      try {
        return new Uint8Array(db.prepare('SELECT blob FROM header').pluck().get() as Buffer)
      } finally {
        db.close()
      }
    }
    const oldHeader = decodeHeader(readHeader())
    await store.changePassphrase(PASS, 'next', { kdfParams: TEST_KDF })
    const { readFileSync, existsSync } = await import('node:fs')
    const haystacks = [path, `${path}-wal`].filter(existsSync).map((f) => readFileSync(f))
    for (const haystack of haystacks) {
      assert.equal(haystack.indexOf(Buffer.from(oldHeader.wrappedKey)), -1, 'old wrapped key')
      assert.equal(haystack.indexOf(Buffer.from(oldHeader.salt)), -1, 'old salt')
    }
    await store.lock()
  })

  test('an altered header: parameters changed → wrong-passphrase; out of bounds → corrupt-header before any KDF', async () => {
    const path = tempPath()
    await (await createSqliteStore(path, PASS, options)).lock()
    const setHeaderByte = (offset: number, value: number) =>
      editDatabase(path, (db) => {
        const blob = Buffer.from(db.prepare('SELECT blob FROM header').pluck().get() as Buffer)
        blob[offset] = value
        db.prepare('UPDATE header SET blob = ?').run(blob)
      })
    // Offset 17 is the low byte of t (magic 8, version 1, kdf 1, m 4, t 4): t = 1 → 2.
    setHeaderByte(17, 2)
    await assert.rejects(openSqliteStore(path, PASS, options), isCode('wrong-passphrase'))
    setHeaderByte(17, 1)
    await (await openSqliteStore(path, PASS, options)).lock()
    // m = 0xff000040 KiB: far above MAX_ARGON2_MEMORY_KIB; refused without allocating anything.
    setHeaderByte(10, 0xff)
    await assert.rejects(openSqliteStore(path, PASS, options), isCode('corrupt-header'))
    setHeaderByte(10, 0)
    setHeaderByte(8, 2) // format version
    await assert.rejects(openSqliteStore(path, PASS, options), isCode('unsupported-version'))
  })

  test('passphrase bounds: empty, too long, and bad KDF parameters are refused before any write', async () => {
    const backend = createMemoryStoreBackend()
    await assert.rejects(createEncryptedStore(backend, '', options), isCode('invalid-argument'))
    await assert.rejects(createEncryptedStore(backend, 'x'.repeat(1025), options), isCode('limit-exceeded'))
    await assert.rejects(
      createEncryptedStore(backend, PASS, {
        ...options,
        kdfParams: { memoryKiB: 4, iterations: 1, parallelism: 1 },
      }),
      (e) => StoreError.is(e, 'invalid-argument') && CryptoError.is(e.cause, 'limit-exceeded'),
    )
    assert.equal(await backend.readHeader(), undefined)
    await assert.rejects(unlockEncryptedStore(backend, PASS, options), isCode('not-initialized'))
  })
})

describe('encrypted store: tampering is detected', () => {
  test('a flipped bit in a sealed row → corrupt-record', async () => {
    await withStore(async (store, path) => {
      await store.put(SESSIONS, utf8('k'), utf8('value'))
      editDatabase(path, (db) => {
        const row = db.prepare('SELECT ns, lookup, sealed FROM records').get() as {
          ns: Buffer
          lookup: Buffer
          sealed: Buffer
        }
        const sealed = Buffer.from(row.sealed)
        sealed[sealed.length - 20]! ^= 0x01
        db.prepare('UPDATE records SET sealed = ? WHERE ns = ? AND lookup = ?').run(
          sealed,
          row.ns,
          row.lookup,
        )
      })
      await assert.rejects(store.get(SESSIONS, utf8('k')), isCode('corrupt-record'))
      await assert.rejects(store.list(SESSIONS), isCode('corrupt-record'))
    })
  })

  test('two rows swapped (sealed values exchanged) → corrupt-record for both', async () => {
    await withStore(async (store, path) => {
      await store.put(SESSIONS, utf8('alice'), utf8('for alice'))
      await store.put(SESSIONS, utf8('bob'), utf8('for bob'))
      editDatabase(path, (db) => {
        const rows = db.prepare('SELECT ns, lookup, sealed FROM records').all() as {
          ns: Buffer
          lookup: Buffer
          sealed: Buffer
        }[]
        assert.equal(rows.length, 2)
        const update = db.prepare('UPDATE records SET sealed = ? WHERE ns = ? AND lookup = ?')
        update.run(rows[1]!.sealed, rows[0]!.ns, rows[0]!.lookup)
        update.run(rows[0]!.sealed, rows[1]!.ns, rows[1]!.lookup)
      })
      await assert.rejects(store.get(SESSIONS, utf8('alice')), isCode('corrupt-record'))
      await assert.rejects(store.get(SESSIONS, utf8('bob')), isCode('corrupt-record'))
    })
  })

  test('a row moved to another namespace or another lookup key → corrupt-record', async () => {
    await withStore(async (store, path) => {
      await store.put(SESSIONS, utf8('k'), utf8('session'))
      await store.put(CONTACTS, utf8('k'), utf8('contact'))
      await store.put(CONTACTS, utf8('other'), utf8('other'))
      // Copy the SESSIONS row's sealed bytes over the CONTACTS row with the same record key.
      editDatabase(path, (db) => {
        const rows = db.prepare('SELECT ns, lookup, sealed FROM records').all() as {
          ns: Buffer
          lookup: Buffer
          sealed: Buffer
        }[]
        const byNs = new Map<string, typeof rows>()
        for (const r of rows) byNs.set(r.ns.toString('hex'), [...(byNs.get(r.ns.toString('hex')) ?? []), r])
        const single = [...byNs.values()].find((g) => g.length === 1)![0]!
        const pair = [...byNs.values()].find((g) => g.length === 2)!
        // Re-address the lone SESSIONS row into the CONTACTS namespace under a new lookup key.
        db.prepare('UPDATE records SET ns = ?, lookup = ? WHERE ns = ? AND lookup = ?').run(
          pair[0]!.ns,
          Buffer.alloc(32, 0xaa),
          single.ns,
          single.lookup,
        )
      })
      assert.equal(await store.get(SESSIONS, utf8('k')), undefined) // deletion is not detectable
      await assert.rejects(store.list(CONTACTS), isCode('corrupt-record'))
    })
  })
})

describe('encrypted store: limits and misuse', () => {
  test('namespace, key, value and per-transaction limits have their codes', async () => {
    await withStore(async (store) => {
      assert.throws(() => defineNamespace(''), isCode('invalid-argument'))
      assert.throws(() => defineNamespace('Upper'), isCode('invalid-argument'))
      assert.throws(() => defineNamespace('a'.repeat(MAX_NAMESPACE_LENGTH + 1)), isCode('invalid-argument'))
      assert.equal(defineNamespace('a'.repeat(MAX_NAMESPACE_LENGTH)).length, MAX_NAMESPACE_LENGTH)
      await assert.rejects(store.get('Bad Name' as typeof SESSIONS, utf8('k')), isCode('invalid-argument'))
      await assert.rejects(store.get(SESSIONS, 'text' as unknown as Uint8Array), isCode('invalid-argument'))
      await assert.rejects(
        store.get(SESSIONS, new Uint8Array(MAX_RECORD_KEY_BYTES + 1)),
        isCode('limit-exceeded'),
      )
      await assert.rejects(
        store.delete(SESSIONS, new Uint8Array(MAX_RECORD_KEY_BYTES + 1)),
        isCode('limit-exceeded'),
      )
      await store.put(SESSIONS, new Uint8Array(MAX_RECORD_KEY_BYTES), utf8('max key'))
      await assert.rejects(
        store.put(SESSIONS, utf8('big'), new Uint8Array(MAX_RECORD_VALUE_BYTES + 1)),
        isCode('limit-exceeded'),
      )
      await assert.rejects(
        store.transaction(async (tx) => {
          for (let i = 0; i <= MAX_WRITES_PER_TRANSACTION; i++)
            await tx.put(SESSIONS, utf8(`k${i}`), new Uint8Array(1))
        }),
        isCode('limit-exceeded'),
      )
      // Nothing of the refused transaction was written.
      assert.equal((await store.list(SESSIONS)).length, 1)
    })
  })

  test(`a namespace never holds more than MAX_RECORDS_PER_NAMESPACE (${MAX_RECORDS_PER_NAMESPACE}) records`, async () => {
    // A backend that reports a full namespace, so the check runs without writing 100,000 rows.
    const inner = createMemoryStoreBackend()
    let full = false
    const backend = {
      ...inner,
      countRows: async (ns: Uint8Array) => (full ? MAX_RECORDS_PER_NAMESPACE : inner.countRows(ns)),
    }
    const store = await createEncryptedStore(backend, PASS, options)
    await store.put(SESSIONS, utf8('existing'), utf8('1'))
    full = true
    await assert.rejects(store.put(SESSIONS, utf8('one more'), utf8('2')), isCode('limit-exceeded'))
    // Replacing and deleting existing records is still allowed at the limit.
    await store.put(SESSIONS, utf8('existing'), utf8('3'))
    await store.transaction(async (tx) => {
      await tx.delete(SESSIONS, utf8('existing'))
    })
    assert.equal(await store.get(SESSIONS, utf8('one more')), undefined)
    await store.lock()
  })

  test('lock zeroes the keys it held, closes the file, and every later call fails with locked', async () => {
    const { crypto, keys } = recordingBackend()
    const path = tempPath()
    const store = await createSqliteStore(path, PASS, { crypto, kdfParams: TEST_KDF })
    await store.put(SESSIONS, utf8('k'), utf8('v'))
    assert.ok(await store.get(SESSIONS, utf8('k')))
    // KEK (wrap), store key (HKDF input), record key (AEAD), lookup key (HMAC).
    assert.ok(keys.length >= 4, `saw ${keys.length} keys`)
    assert.ok(
      keys.some((k) => k.some((b) => b !== 0)),
      'keys are live before lock',
    )
    const pending = store.get(SESSIONS, utf8('k'))
    await store.lock()
    assert.deepEqual(await pending, utf8('v'), 'a read running at lock time completes first')
    assert.equal(store.locked, true)
    for (const key of keys)
      assert.ok(
        key.every((b) => b === 0),
        'every key array is zero after lock',
      )
    await assert.rejects(store.get(SESSIONS, utf8('k')), isCode('locked'))
    await assert.rejects(store.put(SESSIONS, utf8('k'), utf8('v')), isCode('locked'))
    await assert.rejects(store.list(SESSIONS), isCode('locked'))
    await store.lock() // idempotent
    assert.equal(fingerprint(path)['-wal'], 'absent', 'the file was closed (WAL checkpointed and removed)')
  })

  test('the same sealed layer runs over the in-memory backend', async () => {
    const backend = createMemoryStoreBackend()
    const store = await createEncryptedStore(backend, PASS, options)
    await store.put(SESSIONS, utf8('k'), utf8('v'))
    await assert.rejects(unlockEncryptedStore(backend, 'wrong', options), isCode('wrong-passphrase'))
    const second = await unlockEncryptedStore(backend, PASS, options)
    assert.deepEqual(await second.get(SESSIONS, utf8('k')), utf8('v'))
    await store.lock()
    // lock closed the backend the two share.
    await assert.rejects(unlockEncryptedStore(backend, PASS, options), isCode('locked'))
  })
})
