import type { Argon2Params } from '@tacit/crypto/argon2'
import { webCryptoBackend } from '@tacit/crypto/web/backend'
import {
  AssertionError,
  type CaseGroup,
  check,
  checkEqual,
  checkRejects,
} from '../../../../tests/harness/cases.ts'
import { StoreError } from '../../src/store/errors.ts'
import { deleteIndexedDbStore, openIndexedDbStoreBackend } from '../../src/store/indexeddb-backend.ts'
import { createEncryptedStore, unlockEncryptedStore } from '../../src/store/sealed-store.ts'
import { defineNamespace } from '../../src/store/store.ts'
import { backendContractCases } from './backend-contract-cases.ts'

/**
 * The browser entry of the store tests (run by `browser.test.ts` in Chromium): the backend
 * contract on IndexedDB, the sealed store on IndexedDB (persistence across reopen, a wrong
 * passphrase that changes nothing), and a raw scan of the database for known plaintexts.
 */

/** Small Argon2id parameters, as in `_helpers.ts` (the default costs seconds per derivation). */
const TEST_KDF: Argon2Params = { memoryKiB: 64, iterations: 1, parallelism: 1 }
const options = { crypto: webCryptoBackend, kdfParams: TEST_KDF }
const encoder = new TextEncoder()

function freshName(label: string): string {
  const suffix = [...crypto.getRandomValues(new Uint8Array(8))].map((b) => b.toString(16).padStart(2, '0'))
  return `tacit-test-${label}-${suffix.join('')}`
}

async function databaseNames(): Promise<string[]> {
  return (await indexedDB.databases()).map((d) => d.name ?? '')
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result)
    r.onerror = () => reject(r.error)
  })
}

/** Every byte IndexedDB holds for `name`: each object store's keys and values, flattened. */
async function dumpDatabase(name: string): Promise<Uint8Array[]> {
  const db = await request(indexedDB.open(name))
  try {
    const chunks: Uint8Array[] = []
    const flatten = (value: unknown): void => {
      if (value instanceof Uint8Array) chunks.push(value)
      else if (value instanceof ArrayBuffer) chunks.push(new Uint8Array(value))
      else if (Array.isArray(value)) value.forEach(flatten)
      else if (typeof value === 'string') chunks.push(encoder.encode(value))
      else if (typeof value === 'number') chunks.push(encoder.encode(String(value)))
      // Anything else would escape the scan: fail rather than pass by not looking.
      else throw new AssertionError(`unexpected value type in IndexedDB: ${typeof value}`)
    }
    for (const storeName of [...db.objectStoreNames]) {
      const store = db.transaction(storeName, 'readonly').objectStore(storeName)
      const [keys, values] = await Promise.all([request(store.getAllKeys()), request(store.getAll())])
      flatten(storeName)
      keys.forEach(flatten)
      values.forEach(flatten)
    }
    return chunks
  } finally {
    db.close()
  }
}

function hexOf(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')
}

function base64Of(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/=+$/, '')
}

interface Needle {
  readonly label: string
  readonly bytes: Uint8Array
}

/** Every form in which a secret might land in the database. */
function forms(label: string, bytes: Uint8Array): Needle[] {
  const hex = hexOf(bytes)
  return [
    { label: `${label} (raw/UTF-8)`, bytes },
    { label: `${label} (hex)`, bytes: encoder.encode(hex) },
    { label: `${label} (HEX)`, bytes: encoder.encode(hex.toUpperCase()) },
    { label: `${label} (base64)`, bytes: encoder.encode(base64Of(bytes)) },
  ]
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer
    return true
  }
  return false
}

function findNeedles(chunks: readonly Uint8Array[], needles: readonly Needle[]): string[] {
  // One haystack, so a needle split across a key and its value is found too.
  const haystack = concat(chunks)
  return needles.filter((n) => contains(haystack, n.bytes)).map((n) => n.label)
}

const PASSPHRASE = 'idb scan passphrase 7d2e01'
const SECRETS = {
  handle: 'alice-handle-4b9d2f',
  message: 'meet me at the old lighthouse at 21:40',
  namespace: 'client.secret-namespace-91c3',
  recordKey: 'conversation-id-5a0e77c1',
  keyMaterial: new Uint8Array(32).map((_, i) => (i * 37 + 11) & 0xff),
}

function secretNeedles(): Needle[] {
  return [
    ...forms('handle', encoder.encode(SECRETS.handle)),
    ...forms('message', encoder.encode(SECRETS.message)),
    ...forms('namespace name', encoder.encode(SECRETS.namespace)),
    ...forms('record key', encoder.encode(SECRETS.recordKey)),
    ...forms('key material', SECRETS.keyMaterial),
    ...forms('passphrase', encoder.encode(PASSPHRASE)),
  ]
}

async function writeSecrets(name: string): Promise<void> {
  const backend = await openIndexedDbStoreBackend(name, { create: true })
  const store = await createEncryptedStore(backend, PASSPHRASE, options)
  const ns = defineNamespace(SECRETS.namespace)
  await store.transaction(async (tx) => {
    await tx.put(ns, encoder.encode(SECRETS.recordKey), encoder.encode(SECRETS.message))
    await tx.put(ns, encoder.encode(SECRETS.handle), SECRETS.keyMaterial)
    await tx.put(
      defineNamespace('client.account'),
      encoder.encode('me'),
      encoder.encode(`{"handle":"${SECRETS.handle}"}`),
    )
  })
  await store.lock()
}

function indexedDbCases(): CaseGroup {
  return {
    name: 'IndexedDB store',
    cases: [
      {
        name: 'opening without create where there is no store fails with not-initialized and creates nothing',
        async run() {
          const name = freshName('missing')
          await checkRejects(
            () => openIndexedDbStoreBackend(name, { create: false }),
            (e) => StoreError.is(e, 'not-initialized'),
            'opening a missing store',
          )
          check(!(await databaseNames()).includes(name), 'no database was left behind')
        },
      },
      {
        name: 'rows written through one connection are there after closing and reopening',
        async run() {
          const name = freshName('persist')
          try {
            const first = await openIndexedDbStoreBackend(name, { create: true })
            const ns = new Uint8Array(32).fill(3)
            await first.apply([{ kind: 'put', namespace: ns, lookup: ns, sealed: new Uint8Array([9, 9]) }], {
              expected: undefined,
              next: new Uint8Array([1]),
            })
            await first.close()
            const second = await openIndexedDbStoreBackend(name, { create: false })
            checkEqual((await second.readHeader())?.[0], 1, 'header after reopening')
            checkEqual((await second.readRow(ns, ns))?.length, 2, 'row after reopening')
            await second.close()
          } finally {
            await deleteIndexedDbStore(name)
          }
        },
      },
      {
        name: 'the sealed store over IndexedDB: reopens with the passphrase; a wrong one changes nothing',
        async run() {
          const name = freshName('sealed')
          try {
            await writeSecrets(name)
            const before = await dumpDatabase(name)
            const backend = await openIndexedDbStoreBackend(name, { create: false })
            await checkRejects(
              () => unlockEncryptedStore(backend, 'not the passphrase', options),
              (e) => StoreError.is(e, 'wrong-passphrase'),
              'a wrong passphrase',
            )
            const after = await dumpDatabase(name)
            checkEqual(hexOf(concat(after)), hexOf(concat(before)), 'database after a wrong passphrase')
            const store = await unlockEncryptedStore(backend, PASSPHRASE, options)
            const got = await store.get(defineNamespace(SECRETS.namespace), encoder.encode(SECRETS.recordKey))
            checkEqual(got && new TextDecoder().decode(got), SECRETS.message, 'record after reopening')
            checkEqual((await store.list(defineNamespace(SECRETS.namespace))).length, 2, 'records listed')
            await store.lock()
          } finally {
            await deleteIndexedDbStore(name)
          }
        },
      },
      {
        name: 'read raw, the database holds none of the plaintexts, keys, names or the passphrase',
        async run(env) {
          const name = freshName('scan')
          try {
            await writeSecrets(name)
            const chunks = await dumpDatabase(name)
            const needles = secretNeedles()
            const found = findNeedles(chunks, needles)
            checkEqual(found.join(', '), '', 'plaintexts found in IndexedDB')
            env.log(
              `scanned ${chunks.length} IndexedDB keys and values for ${needles.length} needles: none found`,
            )
          } finally {
            await deleteIndexedDbStore(name)
          }
        },
      },
      {
        name: 'control: the same scan finds every needle in an unsealed IndexedDB database',
        async run() {
          // Shows the scan can see what it looks for: the same needles written as raw rows.
          const name = freshName('control')
          try {
            const backend = await openIndexedDbStoreBackend(name, { create: true })
            const needles = secretNeedles()
            await backend.apply(
              needles.map((n, i) => ({
                kind: 'put' as const,
                namespace: new Uint8Array(32).fill(i),
                lookup: new Uint8Array(32),
                sealed: n.bytes,
              })),
            )
            await backend.close()
            const found = findNeedles(await dumpDatabase(name), needles)
            checkEqual(found.length, needles.length, 'needles found in the unsealed control')
          } finally {
            await deleteIndexedDbStore(name)
          }
        },
      },
    ],
  }
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
  let offset = 0
  for (const c of chunks) {
    out.set(c, offset)
    offset += c.length
  }
  return out
}

/** Exported for the harness: every IndexedDB case group. */
export function indexedDbCaseGroups(): CaseGroup[] {
  const contract = backendContractCases('indexeddb', async () => {
    const name = freshName('contract')
    const backend = await openIndexedDbStoreBackend(name, { create: true })
    return { backend, cleanup: () => deleteIndexedDbStore(name) }
  })
  return [contract, indexedDbCases()]
}
