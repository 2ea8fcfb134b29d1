/**
 * Writes `fixtures/store-v1.json`: a small store of format version 1 (header and sealed rows, as
 * hex) with the passphrase and the records it holds. `store-format.test.ts` must keep loading it
 * (STYLE.md: a stored-state fixture from every release must still load), and reads it a second
 * time with an independent reader written from docs/protocol/local-store.md alone.
 *
 *   node --import tsx packages/client/test/store/make-store-fixture.ts
 *
 * Nonces and keys are random, so each run writes a different (equally valid) file; commit one.
 */
import { writeFileSync } from 'node:fs'
import { nodeBackend } from '@tacit/crypto/node/backend'
import type { RowWrite, StoreBackend } from '../../src/store/backend.ts'
import { createMemoryStoreBackend } from '../../src/store/memory-backend.ts'
import { createEncryptedStore } from '../../src/store/sealed-store.ts'
import { defineNamespace } from '../../src/store/store.ts'
import { TEST_KDF } from './_helpers.ts'

const PASSPHRASE = 'fixture passphrase ü'
const RECORDS: { namespace: string; key: string; value: string }[] = [
  { namespace: 'client.account', key: 'self', value: '{"handle":"alice@example.org"}' },
  { namespace: 'client.contacts', key: 'bob@example.org', value: 'verified' },
  { namespace: 'client.contacts', key: '', value: '' },
  { namespace: 'client.m.0011223344', key: '00000001', value: 'x'.repeat(100) },
]

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const rows: { ns: string; lookup: string; sealed: string }[] = []
const inner = createMemoryStoreBackend()
const capture: StoreBackend = {
  ...inner,
  apply: async (writes: readonly RowWrite[], header) => {
    for (const w of writes) {
      if (w.kind === 'put') rows.push({ ns: hex(w.namespace), lookup: hex(w.lookup), sealed: hex(w.sealed) })
    }
    await inner.apply(writes, header)
  },
}
const store = await createEncryptedStore(capture, PASSPHRASE, { crypto: nodeBackend, kdfParams: TEST_KDF })
await store.transaction(async (tx) => {
  for (const r of RECORDS)
    await tx.put(defineNamespace(r.namespace), Buffer.from(r.key), Buffer.from(r.value))
})
const header = await inner.readHeader()
await store.lock()
const fixture = {
  description: 'Tacit local store, format version 1 (docs/protocol/local-store.md). Byte fields are hex.',
  passphrase: PASSPHRASE,
  header: hex(header!),
  rows,
  records: RECORDS.map((r) => ({
    namespace: r.namespace,
    key: hex(Buffer.from(r.key)),
    value: hex(Buffer.from(r.value)),
  })),
}
writeFileSync(new URL('fixtures/store-v1.json', import.meta.url), `${JSON.stringify(fixture, null, 2)}\n`)
console.log(`wrote fixtures/store-v1.json: ${rows.length} rows`)
