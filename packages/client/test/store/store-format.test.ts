import assert from 'node:assert/strict'
import { createDecipheriv, createHmac, hkdfSync } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { deriveKeyFromPassphrase } from '@tacit/crypto/argon2'
import { StoreError } from '../../src/store/errors.ts'
import { createMemoryStoreBackend } from '../../src/store/memory-backend.ts'
import { unlockEncryptedStore } from '../../src/store/sealed-store.ts'
import { defineNamespace } from '../../src/store/store.ts'
import { options } from './_helpers.ts'

/**
 * Format version 1 must keep loading (fixtures/store-v1.json, written once by
 * make-store-fixture.ts), and docs/protocol/local-store.md must be enough to read it: the second
 * test decrypts the fixture with node:crypto and the spec alone, without src/store.
 */

interface Fixture {
  readonly passphrase: string
  readonly header: string
  readonly rows: readonly { ns: string; lookup: string; sealed: string }[]
  readonly records: readonly { namespace: string; key: string; value: string }[]
}

const fixture = JSON.parse(
  readFileSync(new URL('fixtures/store-v1.json', import.meta.url), 'utf8'),
) as Fixture
const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'))

test('the version 1 fixture unlocks and reads back every record through the store', async () => {
  const backend = createMemoryStoreBackend()
  await backend.apply(
    fixture.rows.map((r) => ({
      kind: 'put',
      namespace: hex(r.ns),
      lookup: hex(r.lookup),
      sealed: hex(r.sealed),
    })),
    { expected: undefined, next: hex(fixture.header) },
  )
  await assert.rejects(unlockEncryptedStore(backend, 'not the passphrase', options), (e) =>
    StoreError.is(e, 'wrong-passphrase'),
  )
  const store = await unlockEncryptedStore(backend, fixture.passphrase, options)
  assert.equal(fixture.records.length, fixture.rows.length)
  for (const r of fixture.records) {
    assert.deepEqual(await store.get(defineNamespace(r.namespace), hex(r.key)), hex(r.value))
  }
  const contacts = fixture.records.filter((r) => r.namespace === 'client.contacts')
  assert.equal((await store.list(defineNamespace('client.contacts'))).length, contacts.length)
  await store.lock()
})

test('docs/protocol/local-store.md alone (with node:crypto) reads the fixture', async () => {
  // §3 header.
  const h = Buffer.from(fixture.header, 'hex')
  assert.equal(h.subarray(0, 8).toString('latin1'), 'TACITSTR')
  assert.equal(h[8], 1)
  assert.equal(h[9], 1)
  const params = {
    memoryKiB: h.readUInt32BE(10),
    iterations: h.readUInt32BE(14),
    parallelism: h.readUInt32BE(18),
  }
  const s = h[22]!
  assert.equal(h.length, 83 + s)
  const salt = h.subarray(23, 23 + s)
  const wrapNonce = h.subarray(23 + s, 35 + s)
  const wrapped = h.subarray(35 + s)
  const wrapAad = Buffer.concat([Buffer.from('tacit-store-v1 wrap'), h.subarray(0, 23 + s)])
  // §2 keys.
  const kek = await deriveKeyFromPassphrase(
    Buffer.from(fixture.passphrase.normalize('NFC'), 'utf8'),
    salt,
    params,
  )
  const gcmOpen = (key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array) => {
    const d = createDecipheriv('aes-256-gcm', key, nonce)
    d.setAAD(aad)
    d.setAuthTag(sealed.subarray(sealed.length - 16))
    return Buffer.concat([d.update(sealed.subarray(0, sealed.length - 16)), d.final()])
  }
  const storeKey = gcmOpen(kek, wrapNonce, wrapAad, wrapped)
  assert.equal(storeKey.length, 32)
  // RFC 5869 via node:crypto's hkdf (extract then expand) with the spec's salt and labels.
  const expand = (info: string) =>
    new Uint8Array(hkdfSync('sha256', storeKey, Buffer.from('tacit-store-v1'), Buffer.from(info), 32))
  const recordKey = expand('tacit-store-v1 record aead key')
  const lookupKey = expand('tacit-store-v1 lookup hmac key')
  // §4 rows.
  const hmac = (data: Uint8Array) => createHmac('sha256', lookupKey).update(data).digest()
  for (const r of fixture.records) {
    const name = Buffer.from(r.namespace, 'utf8')
    const key = Buffer.from(r.key, 'hex')
    const nsTag = hmac(Buffer.concat([Buffer.of(0), name]))
    const lookup = hmac(Buffer.concat([Buffer.of(1, name.length >> 8, name.length & 0xff), name, key]))
    const row = fixture.rows.find(
      (x) => x.ns === nsTag.toString('hex') && x.lookup === lookup.toString('hex'),
    )
    assert.ok(row, `row for ${r.namespace}/${r.key} at the address the spec gives`)
    const sealed = Buffer.from(row.sealed, 'hex')
    assert.equal(sealed[0], 1)
    const aad = Buffer.concat([Buffer.from('tacit-store-v1 record'), Buffer.of(1), nsTag, lookup])
    const plaintext = gcmOpen(recordKey, sealed.subarray(1, 13), aad, sealed.subarray(13))
    assert.equal(plaintext.length % 64, 0)
    const keyLength = plaintext.readUInt32BE(0)
    const valueLength = plaintext.readUInt32BE(4)
    assert.equal(plaintext.subarray(8, 8 + keyLength).toString('hex'), r.key)
    assert.equal(plaintext.subarray(8 + keyLength, 8 + keyLength + valueLength).toString('hex'), r.value)
    assert.ok(
      plaintext.subarray(8 + keyLength + valueLength).every((b) => b === 0),
      'zero padding',
    )
  }
})
