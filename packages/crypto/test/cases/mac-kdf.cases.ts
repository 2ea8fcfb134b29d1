import {
  type CaseGroup,
  check,
  checkBytes,
  type TestCase,
  type TestEnv,
} from '../../../../tests/harness/cases.ts'
import type { CryptoBackend, HashName } from '../../src/backend.ts'
import { equalBytes } from '../../src/bytes.ts'
import {
  checkUnsupported,
  expectCryptoError,
  hexField,
  numberField,
  readWycheproof,
  Tally,
} from './_wycheproof.ts'

/**
 * Wycheproof HMAC and HKDF files against `backend.hash`.
 *
 * HMAC: groups with tagSize < 8 * HashLen hold truncated tags; the policy is to compare the
 * tag against the same-length prefix of our full HMAC (valid: equal; invalid: different). For
 * full-length groups `hmacVerify` is also checked (true for valid, false for invalid).
 * HKDF: extract then expand; the `SizeTooLarge` invalid cases must throw `limit-exceeded`.
 * Neither family has `acceptable` cases; nothing is excluded.
 */

const HASHES: readonly { hash: HashName; suffix: string; length: number }[] = [
  { hash: 'SHA-256', suffix: 'sha256', length: 32 },
  { hash: 'SHA-384', suffix: 'sha384', length: 48 },
  { hash: 'SHA-512', suffix: 'sha512', length: 64 },
]

export function macKdfCases(backend: CryptoBackend): CaseGroup {
  const cases: TestCase[] = []
  for (const { hash, suffix, length } of HASHES) {
    cases.push({
      name: `hmac_${suffix}_test.json: HMAC-${hash} (truncated tags compare the prefix)`,
      run: async (env: TestEnv) => {
        if (!backend.supports(hash)) {
          await checkUnsupported(() => backend.hash.hmac(hash, new Uint8Array(32), new Uint8Array()), hash)
          return
        }
        const name = `hmac_${suffix}_test.json`
        const file = await readWycheproof(env, name)
        const tally = new Tally(name)
        for (const group of file.testGroups) {
          const tagBytes = numberField(group, 'tagSize') / 8
          for (const test of group.tests) {
            await tally.run(test, async () => {
              const key = hexField(test, 'key')
              const msg = hexField(test, 'msg')
              const tag = hexField(test, 'tag')
              const full = await backend.hash.hmac(hash, key, msg)
              check(full.length === length, 'HMAC length')
              const matches = tag.length === tagBytes && equalBytes(full.subarray(0, tagBytes), tag)
              check(matches === (test.result === 'valid'), `prefix comparison gave ${matches}`)
              if (tagBytes === length) {
                const verified = await backend.hash.hmacVerify(hash, key, msg, tag)
                check(verified === (test.result === 'valid'), `hmacVerify gave ${verified}`)
              }
            })
          }
        }
        tally.finish(env, file, {})
      },
    })
    cases.push({
      name: `hkdf_${suffix}_test.json: HKDF-${hash} extract + expand (RFC 5869)`,
      run: async (env: TestEnv) => {
        if (!backend.supports(hash)) {
          await checkUnsupported(
            () => backend.hash.hkdfExtract(hash, new Uint8Array(), new Uint8Array()),
            hash,
          )
          return
        }
        const name = `hkdf_${suffix}_test.json`
        const file = await readWycheproof(env, name)
        const tally = new Tally(name)
        for (const group of file.testGroups) {
          for (const test of group.tests) {
            await tally.run(test, async () => {
              const size = numberField(test, 'size')
              const prk = await backend.hash.hkdfExtract(hash, hexField(test, 'salt'), hexField(test, 'ikm'))
              check(prk.length === length, 'PRK length')
              if (test.result === 'valid') {
                checkBytes(
                  await backend.hash.hkdfExpand(hash, prk, hexField(test, 'info'), size),
                  hexField(test, 'okm'),
                  'okm',
                )
              } else {
                await expectCryptoError(
                  () => backend.hash.hkdfExpand(hash, prk, hexField(test, 'info'), size),
                  ['limit-exceeded'],
                )
              }
            })
          }
        }
        tally.finish(env, file, {})
      },
    })
  }
  return { name: `HMAC and HKDF Wycheproof (${backend.name})`, cases }
}
