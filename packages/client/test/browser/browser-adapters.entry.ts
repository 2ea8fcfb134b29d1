import type { CryptoBackend } from '@tacit/crypto/backend'
import { webCryptoBackend } from '@tacit/crypto/web/backend'
import { ProtocolError } from '@tacit/protocol/errors'
import { createFileEncryptor, type FileSecrets } from '@tacit/protocol/files/encryptor'
import { FILE_CHUNK_BYTES } from '@tacit/protocol/files/format'
import { encryptChunks } from '@tacit/protocol/files/stream'
import {
  AssertionError,
  type CaseGroup,
  check,
  checkBytes,
  checkEqual,
  checkRejects,
} from '../../../../tests/harness/cases.ts'
import { browserFiles, sourceOfBlob } from '../../src/browser/browser-files.ts'
import { createBrowserStore, unlockBrowserStore } from '../../src/browser/browser-store.ts'
import { browserStoreExists, deleteBrowserStore } from '../../src/browser/store-presence.ts'
import { acquireTabLock } from '../../src/browser/tab-lock.ts'
import { StoreError } from '../../src/store/errors.ts'
import { defineNamespace } from '../../src/store/store.ts'

/**
 * The browser adapters of `src/browser/` in Chromium (run by `browser.test.ts`): files as Blobs
 * (a source read from any offset; a download handed over only once verified), the one-tab lock,
 * and the store opener (create, presence, unlock, delete).
 */

const TEST_KDF = { memoryKiB: 64, iterations: 1, parallelism: 1 }

/** Deterministic bytes that differ from chunk to chunk (a misplaced chunk changes the result). */
function patterned(size: number): Uint8Array {
  const out = new Uint8Array(size)
  for (let i = 0; i < size; i++) out[i] = (i * 31 + (i >>> 16) * 7) & 0xff
  return out
}

async function collect(pieces: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const p of pieces) parts.push(p)
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

async function encryptBlob(backend: CryptoBackend, plaintext: Uint8Array) {
  const encryptor = await createFileEncryptor(backend, { size: plaintext.length })
  const blob = await collect(encryptChunks(encryptor, [plaintext]))
  const secrets: FileSecrets = await encryptor.finish()
  return { blob, secrets }
}

/** A BlobReader over bytes in memory, served in uneven pieces as a network would. */
function readerOf(blob: Uint8Array) {
  return async function* (offset: number) {
    for (let at = offset; at < blob.length; at += 10_007)
      yield blob.slice(at, Math.min(at + 10_007, blob.length))
  }
}

function filesCases(): CaseGroup {
  return {
    name: 'browser files',
    cases: [
      {
        name: 'a Blob source reads from any offset in pieces of at most one chunk',
        async run() {
          const bytes = patterned(2 * FILE_CHUNK_BYTES + 123)
          const file = new File([bytes as Uint8Array<ArrayBuffer>], 'menu.pdf', {
            type: 'application/pdf',
            lastModified: 1_700_000_000_000,
          })
          const source = sourceOfBlob(file)
          checkEqual(source.size, bytes.length, 'size')
          checkEqual(source.name, 'menu.pdf', 'name')
          checkEqual(source.type, 'application/pdf', 'type')
          const pieces: Uint8Array[] = []
          for await (const p of source.read(FILE_CHUNK_BYTES - 5)) pieces.push(p)
          check(
            pieces.every((p) => p.length <= FILE_CHUNK_BYTES),
            'pieces are at most one chunk',
          )
          checkBytes(
            await collect(source.read(FILE_CHUNK_BYTES - 5)),
            bytes.subarray(FILE_CHUNK_BYTES - 5),
            'tail',
          )
          check(
            sourceOfBlob(new File([bytes.subarray(1) as Uint8Array<ArrayBuffer>], 'menu.pdf')).identity !==
              source.identity,
            'another file, another identity',
          )
          const named = browserFiles()
          const key = named.add(file, 'other.pdf')
          checkEqual(
            (await named.platform.openSource(key)).name,
            'other.pdf',
            'a registered file under its name',
          )
          await checkRejects(
            () => named.platform.openSource('never-added'),
            (e) => e instanceof Error && /usage/.test(e.message),
            'an unknown name',
          )
        },
      },
      {
        name: 'a verified download is handed over once, byte for byte',
        async run() {
          const plaintext = patterned(3 * FILE_CHUNK_BYTES + 999)
          const { blob, secrets } = await encryptBlob(webCryptoBackend, plaintext)
          const files = browserFiles()
          const progress: number[] = []
          await files.platform.decryptTo(webCryptoBackend, 'download:1', secrets, readerOf(blob), {
            onProgress: (done) => progress.push(done),
          })
          checkEqual(progress.at(-1), plaintext.length, 'progress ends at the size')
          const got = files.take('download:1')
          if (got === undefined) throw new AssertionError('no download handed over')
          checkBytes(new Uint8Array(await got.arrayBuffer()), plaintext, 'downloaded bytes')
          checkEqual(files.take('download:1'), undefined, 'handed over only once')
        },
      },
      {
        name: 'a tampered or cut blob throws and hands over nothing',
        async run() {
          const plaintext = patterned(FILE_CHUNK_BYTES + 10)
          const { blob, secrets } = await encryptBlob(webCryptoBackend, plaintext)
          const files = browserFiles()
          const flipped = blob.slice()
          flipped[FILE_CHUNK_BYTES / 2] = flipped[FILE_CHUNK_BYTES / 2]! ^ 1
          const cut = blob.slice(0, blob.length - 100)
          for (const [label, bad] of [
            ['flipped bit', flipped],
            ['cut tail', cut],
          ] as const) {
            await checkRejects(
              () => files.platform.decryptTo(webCryptoBackend, label, secrets, readerOf(bad), {}),
              // What client.downloadFile turns into ClientError('file-tampered').
              (e) => ProtocolError.is(e, 'decrypt-failed') || ProtocolError.is(e, 'verification-failed'),
              label,
            )
            checkEqual(files.take(label), undefined, `${label}: nothing handed over`)
          }
        },
      },
    ],
  }
}

function tabLockCases(): CaseGroup {
  return {
    name: 'one tab per account',
    cases: [
      {
        name: 'a second holder is refused until the first releases',
        async run() {
          const name = `tacit-test-lock-${Math.floor(performance.now())}`
          const first = await acquireTabLock(name)
          check(first !== null, 'the first holder gets the lock')
          checkEqual(await acquireTabLock(name), null, 'a second holder is refused')
          first.release()
          // The Web Locks API releases once the holder's callback settles: give it a turn.
          await new Promise((resolve) => setTimeout(resolve, 0))
          const again = await acquireTabLock(name)
          check(again !== null, 'free again after release')
          again.release()
        },
      },
    ],
  }
}

function storeOpenerCases(): CaseGroup {
  return {
    name: 'browser store opener',
    cases: [
      {
        name: 'create, check presence, unlock with the right passphrase only, delete',
        async run() {
          const name = `tacit-test-opener-${Math.floor(performance.now())}`
          try {
            checkEqual(await browserStoreExists(name), false, 'no store before creation')
            const store = await createBrowserStore('opener passphrase', {
              crypto: webCryptoBackend,
              name,
              kdfParams: TEST_KDF,
            })
            const ns = defineNamespace('test.opener')
            await store.put(ns, new Uint8Array([1]), new Uint8Array([42]))
            await store.lock()
            checkEqual(await browserStoreExists(name), true, 'present after creation')
            await checkRejects(
              () => unlockBrowserStore('wrong passphrase', { crypto: webCryptoBackend, name }),
              (e) => StoreError.is(e, 'wrong-passphrase'),
              'a wrong passphrase',
            )
            await checkRejects(
              () => createBrowserStore('another', { crypto: webCryptoBackend, name, kdfParams: TEST_KDF }),
              (e) => StoreError.is(e, 'already-initialized'),
              'creating over an existing store',
            )
            const reopened = await unlockBrowserStore('opener passphrase', { crypto: webCryptoBackend, name })
            checkEqual((await reopened.get(ns, new Uint8Array([1])))?.[0], 42, 'record after reopening')
            await reopened.lock()
          } finally {
            await deleteBrowserStore(name)
          }
          checkEqual(await browserStoreExists(name), false, 'gone after delete')
        },
      },
    ],
  }
}

export function browserAdapterCaseGroups(): CaseGroup[] {
  return [filesCases(), tabLockCases(), storeOpenerCases()]
}
