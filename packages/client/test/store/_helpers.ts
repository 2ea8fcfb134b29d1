import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Argon2Params } from '@tacit/crypto/argon2'
import type { CryptoBackend } from '@tacit/crypto/backend'
import { nodeBackend } from '@tacit/crypto/node/backend'

/**
 * Small Argon2id parameters so that each test derives in milliseconds. Production code never
 * sees these: the default is DEFAULT_ARGON2_PARAMS, exercised once in default-params.test.ts.
 */
export const TEST_KDF: Argon2Params = { memoryKiB: 64, iterations: 1, parallelism: 1 }

export const options = { crypto: nodeBackend, kdfParams: TEST_KDF }

/** A fresh folder under the OS temp folder; `cleanup` removes it. */
export function makeTempDir(): { dir: string; path: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tacit-store-'))
  return { dir, path: join(dir, 'store.db'), cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** The store file and its WAL and shared-memory companions. */
export function storeFiles(path: string): string[] {
  return [path, `${path}-wal`, `${path}-shm`]
}

/** SHA-256 of each of the three files ('absent' when missing), to show nothing was written. */
export function fingerprint(path: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const file of storeFiles(path)) {
    out[file.slice(path.length) || 'db'] = existsSync(file)
      ? createHash('sha256').update(readFileSync(file)).digest('hex')
      : 'absent'
  }
  return out
}

export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text)
}

/**
 * A CryptoBackend that forwards to node:crypto and remembers every key array the store passes
 * to it (AEAD keys, HMAC keys, HKDF input keys): `keys` are the arrays themselves (to check that
 * `lock` zeroed them), `copies` what they held when first seen (to look for them on disk).
 */
export function recordingBackend(): { crypto: CryptoBackend; keys: Uint8Array[]; copies: Uint8Array[] } {
  const keys: Uint8Array[] = []
  const copies: Uint8Array[] = []
  const remember = (key: Uint8Array) => {
    if (keys.includes(key)) return
    keys.push(key)
    // The store zeroes its keys (the KEK at once, the rest on lock): keep what they held.
    copies.push(key.slice())
  }
  const crypto: CryptoBackend = {
    ...nodeBackend,
    hash: {
      ...nodeBackend.hash,
      hmac: (hash, key, data) => {
        remember(key)
        return nodeBackend.hash.hmac(hash, key, data)
      },
      hkdfExtract: (hash, salt, ikm) => {
        remember(ikm)
        return nodeBackend.hash.hkdfExtract(hash, salt, ikm)
      },
    },
    aead: {
      seal: (aead, key, nonce, aad, plaintext) => {
        remember(key)
        return nodeBackend.aead.seal(aead, key, nonce, aad, plaintext)
      },
      open: (aead, key, nonce, aad, ciphertext) => {
        remember(key)
        return nodeBackend.aead.open(aead, key, nonce, aad, ciphertext)
      },
    },
  }
  return { crypto, keys, copies }
}
