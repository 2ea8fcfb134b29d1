import { type CaseGroup, check, checkBytes, type TestEnv } from '../../../../tests/harness/cases.ts'
import type { AeadName, CryptoBackend } from '../../src/backend.ts'
import { concatBytes } from '../../src/bytes.ts'
import {
  checkUnsupported,
  expectCryptoError,
  hexField,
  numberField,
  readWycheproof,
  Tally,
} from './_wycheproof.ts'

/**
 * Wycheproof AEAD files against `backend.aead`.
 *
 * Exclusions (counted and asserted):
 * - `aes-192`: AES-192-GCM is not part of the interface (no MLS or HPKE suite uses it).
 * - `iv-not-96-bit`: the interface takes 12-byte nonces only (RFC 9180 Nn = 12, RFC 5116 §3.2
 *   recommends 96-bit nonces). These tests are not compared against the vector; instead each one
 *   asserts that seal/open refuse the nonce with `invalid-length`.
 * No AEAD file has `acceptable` cases.
 */

const KEY_BITS: Readonly<Record<number, AeadName>> = { 128: 'AES-128-GCM', 256: 'AES-256-GCM' }

async function runAeadFile(
  backend: CryptoBackend,
  env: TestEnv,
  fileName: string,
  pick: (keyBits: number) => AeadName | undefined,
  expectedExclusions: Readonly<Record<string, number>>,
): Promise<void> {
  const file = await readWycheproof(env, fileName)
  const tally = new Tally(fileName)
  for (const group of file.testGroups) {
    const aead = pick(numberField(group, 'keySize'))
    const ivBits = numberField(group, 'ivSize')
    check(numberField(group, 'tagSize') === 128, `${fileName}: unexpected tag size`)
    for (const test of group.tests) {
      if (aead === undefined) {
        tally.exclude('aes-192')
        continue
      }
      const key = hexField(test, 'key')
      const iv = hexField(test, 'iv')
      const aad = hexField(test, 'aad')
      const msg = hexField(test, 'msg')
      const sealed = concatBytes(hexField(test, 'ct'), hexField(test, 'tag'))
      if (ivBits !== 96) {
        tally.exclude('iv-not-96-bit')
        await tally.assert(test, async () => {
          await expectCryptoError(() => backend.aead.seal(aead, key, iv, aad, msg), ['invalid-length'])
          await expectCryptoError(() => backend.aead.open(aead, key, iv, aad, sealed), ['invalid-length'])
        })
        continue
      }
      await tally.run(test, async () => {
        if (test.result === 'valid') {
          checkBytes(await backend.aead.seal(aead, key, iv, aad, msg), sealed, 'seal')
          checkBytes(await backend.aead.open(aead, key, iv, aad, sealed), msg, 'open')
        } else {
          await expectCryptoError(() => backend.aead.open(aead, key, iv, aad, sealed), ['aead-auth-failed'])
        }
      })
    }
  }
  tally.finish(env, file, expectedExclusions)
}

export function aeadCases(backend: CryptoBackend): CaseGroup {
  return {
    name: `AEAD Wycheproof (${backend.name})`,
    cases: [
      {
        name: 'aes_gcm_test.json: AES-128/256-GCM with 96-bit IVs',
        run: async (env) => {
          for (const aead of ['AES-128-GCM', 'AES-256-GCM'] as const) {
            if (!backend.supports(aead)) {
              await checkUnsupported(
                () =>
                  backend.aead.seal(
                    aead,
                    new Uint8Array(16),
                    new Uint8Array(12),
                    new Uint8Array(),
                    new Uint8Array(),
                  ),
                aead,
              )
              env.log(`aes_gcm_test.json: ${aead} unsupported by ${backend.name} (asserted)`)
              return
            }
          }
          // 103 AES-192 tests; 80 tests with IVs of 0, 8, 16, 32, 48, 64, 80, 120, 128, 160, 256,
          // 512, 1024 or 2056 bits for 128/256-bit keys.
          await runAeadFile(backend, env, 'aes_gcm_test.json', (bits) => KEY_BITS[bits], {
            'aes-192': 103,
            'iv-not-96-bit': 80,
          })
        },
      },
      {
        name: 'chacha20_poly1305_test.json: ChaCha20-Poly1305 (RFC 8439)',
        run: async (env) => {
          if (!backend.supports('ChaCha20-Poly1305')) {
            await checkUnsupported(
              () =>
                backend.aead.seal(
                  'ChaCha20-Poly1305',
                  new Uint8Array(32),
                  new Uint8Array(12),
                  new Uint8Array(),
                  new Uint8Array(),
                ),
              'ChaCha20-Poly1305',
            )
            env.log(`chacha20_poly1305_test.json: unsupported by ${backend.name} (asserted)`)
            return
          }
          await runAeadFile(backend, env, 'chacha20_poly1305_test.json', () => 'ChaCha20-Poly1305', {
            'iv-not-96-bit': 9,
          })
        },
      },
      {
        name: 'AES-GCM and ChaCha20-Poly1305 reject a tampered ciphertext, tag, nonce and AAD',
        run: async () => {
          for (const aead of ['AES-128-GCM', 'AES-256-GCM', 'ChaCha20-Poly1305'] as const) {
            if (!backend.supports(aead)) continue
            const key = backend.randomBytes(aead === 'AES-128-GCM' ? 16 : 32)
            const nonce = backend.randomBytes(12)
            const aad = backend.randomBytes(7)
            const pt = backend.randomBytes(45)
            const sealed = await backend.aead.seal(aead, key, nonce, aad, pt)
            check(sealed.length === pt.length + 16, `${aead}: sealed length`)
            checkBytes(await backend.aead.open(aead, key, nonce, aad, sealed), pt, `${aead}: round trip`)
            for (const index of [0, 20, sealed.length - 1]) {
              const bad = sealed.slice()
              bad[index]! ^= 0x01
              await expectCryptoError(
                () => backend.aead.open(aead, key, nonce, aad, bad),
                ['aead-auth-failed'],
              )
            }
            const badNonce = nonce.slice()
            badNonce[0]! ^= 0x80
            await expectCryptoError(
              () => backend.aead.open(aead, key, badNonce, aad, sealed),
              ['aead-auth-failed'],
            )
            await expectCryptoError(
              () => backend.aead.open(aead, key, nonce, new Uint8Array(), sealed),
              ['aead-auth-failed'],
            )
            await expectCryptoError(
              () => backend.aead.open(aead, key, nonce, aad, sealed.subarray(0, 15)),
              ['invalid-length'],
            )
            await expectCryptoError(
              () => backend.aead.seal(aead, key.subarray(1), nonce, aad, pt),
              ['invalid-length'],
            )
            await expectCryptoError(
              () => backend.aead.seal(aead, key, nonce.subarray(1), aad, pt),
              ['invalid-length'],
            )
          }
        },
      },
    ],
  }
}
