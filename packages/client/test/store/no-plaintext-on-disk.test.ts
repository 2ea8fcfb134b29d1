import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { after, test } from 'node:test'
import Database from 'better-sqlite3'
import { createSqliteStore } from '../../src/store/sqlite-store.ts'
import { defineNamespace } from '../../src/store/store.ts'
import { makeTempDir, recordingBackend, storeFiles, TEST_KDF, utf8 } from './_helpers.ts'

/**
 * Writes known plaintexts, key bytes and handles into a store and searches the raw bytes of the
 * database, its WAL and its shared-memory file for each of them — raw, as UTF-8, as hex (both
 * cases) and as base64 — while the store is open and again after it is locked. A control run
 * over an unencrypted SQLite file shows the search finds every needle when it is there.
 */

const temps: (() => void)[] = []
after(() => {
  for (const cleanup of temps) cleanup()
})

const PASSPHRASE = 'scan-test passphrase 4f1c9e'

interface Needle {
  readonly label: string
  readonly bytes: Uint8Array
}

/** Every form in which a secret might land on disk. */
function forms(label: string, bytes: Uint8Array): Needle[] {
  const hex = Buffer.from(bytes).toString('hex')
  return [
    { label: `${label} (raw/UTF-8)`, bytes },
    { label: `${label} (hex)`, bytes: utf8(hex) },
    { label: `${label} (HEX)`, bytes: utf8(hex.toUpperCase()) },
    { label: `${label} (base64)`, bytes: utf8(Buffer.from(bytes).toString('base64').replace(/=+$/, '')) },
  ]
}

function findNeedles(files: readonly string[], needles: readonly Needle[]): string[] {
  const found: string[] = []
  for (const file of files) {
    if (!existsSync(file)) continue
    const haystack = readFileSync(file)
    for (const needle of needles) {
      if (haystack.indexOf(needle.bytes) !== -1)
        found.push(`${needle.label} in ${file.slice(file.lastIndexOf('/') + 1)}`)
    }
  }
  return found
}

const handles = ['alice@example.org', 'bob.handle-7f3a9c', 'carol+devices@tacit.test']
const texts = [
  'the eagle lands at midnight',
  '{"type":"text","body":"meet me at the old mill"}',
  'Grüße aus Zürich ✓',
]
const namespaces = ['client.contacts', 'client.m.3f9a0c1d2e']

function makeSecrets() {
  return {
    identityKey: new Uint8Array(randomBytes(32)),
    groupSecret: new Uint8Array(randomBytes(48)),
    deviceId: new Uint8Array(randomBytes(16)),
  }
}

test('the store file, WAL and SHM hold none of the plaintexts, keys, handles or namespace names', async () => {
  const tmp = makeTempDir()
  temps.push(tmp.cleanup)
  const { crypto, copies } = recordingBackend()
  const secrets = makeSecrets()
  const store = await createSqliteStore(tmp.path, PASSPHRASE, { crypto, kdfParams: TEST_KDF })
  const contacts = defineNamespace(namespaces[0]!)
  const messages = defineNamespace(namespaces[1]!)
  await store.transaction(async (tx) => {
    for (const [i, handle] of handles.entries()) {
      await tx.put(contacts, utf8(handle), utf8(`${handle} verified; ${texts[i]}`))
    }
    for (const [i, text] of texts.entries()) await tx.put(messages, Uint8Array.of(i), utf8(text))
    await tx.put(contacts, secrets.deviceId, secrets.identityKey)
    await tx.put(messages, utf8('group-secret'), secrets.groupSecret)
  })
  // Updates and deletes too: their old versions must not linger in clear anywhere either.
  await store.put(contacts, utf8(handles[0]!), utf8(`${handles[0]} updated: ${texts[2]}`))
  await store.delete(messages, Uint8Array.of(0))

  const needles: Needle[] = []
  for (const h of handles) needles.push(...forms(`handle ${h}`, utf8(h)))
  for (const t of texts) needles.push(...forms(`text "${t.slice(0, 12)}…"`, utf8(t)))
  for (const n of namespaces) needles.push(...forms(`namespace ${n}`, utf8(n)))
  needles.push(...forms('passphrase', utf8(PASSPHRASE)))
  needles.push(...forms('identity key', secrets.identityKey))
  needles.push(...forms('group secret', secrets.groupSecret))
  needles.push(...forms('device id', secrets.deviceId))
  // KEK, store key, record key, lookup key: whatever key the store handed to the crypto backend.
  assert.ok(copies.length >= 4, `saw ${copies.length} internal keys`)
  for (const [i, key] of copies.entries()) needles.push(...forms(`internal key ${i}`, key))

  const files = storeFiles(tmp.path)
  assert.ok(existsSync(`${tmp.path}-wal`), 'the WAL exists while the store is open')
  assert.deepEqual(findNeedles(files, needles), [], 'while open')
  await store.lock()
  assert.deepEqual(findNeedles(files, needles), [], 'after lock')
  // 3 handles, 3 texts, 2 namespaces, the passphrase, 3 secrets and the internal keys, 4 forms each.
  assert.equal(needles.length, 4 * (12 + copies.length))

  // Control: the same search over an unencrypted SQLite file (and a plain file) finds them all.
  const plainPath = `${tmp.dir}/plain.db`
  const db = new Database(plainPath)
  db.exec('CREATE TABLE t (v BLOB)')
  const insert = db.prepare('INSERT INTO t (v) VALUES (?)')
  for (const needle of needles) insert.run(Buffer.from(needle.bytes))
  db.close()
  const plainFile = `${tmp.dir}/plain.bin`
  writeFileSync(plainFile, Buffer.concat(needles.map((n) => n.bytes)))
  assert.equal(findNeedles([plainPath], needles).length, needles.length, 'control: SQLite file')
  assert.equal(findNeedles([plainFile], needles).length, needles.length, 'control: plain file')
})
