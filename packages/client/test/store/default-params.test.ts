import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { DEFAULT_ARGON2_PARAMS } from '@tacit/crypto/argon2'
import { nodeBackend } from '@tacit/crypto/node/backend'
import Database from 'better-sqlite3'
import { decodeHeader } from '../../src/store/format.ts'
import { createSqliteStore, openSqliteStore } from '../../src/store/sqlite-store.ts'
import { defineNamespace } from '../../src/store/store.ts'
import { makeTempDir, utf8 } from './_helpers.ts'

// The one store test at the production parameters (Argon2id m = 64 MiB, t = 3, p = 1): two
// derivations of a few seconds each. Every other test uses TEST_KDF. No timing is asserted here;
// the measured unlock time is in docs/decisions/0007-local-store.md (measure-store.ts).

const tmp = makeTempDir()
after(tmp.cleanup)

test('a store made with the default parameters records them in its header and unlocks with them', async () => {
  const ns = defineNamespace('defaults')
  const store = await createSqliteStore(tmp.path, 'default passphrase', { crypto: nodeBackend })
  await store.put(ns, utf8('k'), utf8('v'))
  await store.lock()
  const db = new Database(tmp.path, { readonly: true })
  const header = decodeHeader(new Uint8Array(db.prepare('SELECT blob FROM header').pluck().get() as Buffer))
  db.close()
  assert.deepEqual({ ...header.params }, { ...DEFAULT_ARGON2_PARAMS })
  assert.equal(header.salt.length, 16)
  const reopened = await openSqliteStore(tmp.path, 'default passphrase', { crypto: nodeBackend })
  assert.deepEqual(await reopened.get(ns, utf8('k')), utf8('v'))
  await reopened.lock()
})
