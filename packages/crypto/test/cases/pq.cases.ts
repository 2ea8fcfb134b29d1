import { type CaseGroup, check, checkBytes, checkEqual } from '../../../../tests/harness/cases.ts'
import type { CryptoBackend } from '../../src/backend.ts'
import { hexToBytes } from '../../src/bytes.ts'
import { mlKem768, xWing } from '../../src/pq.ts'
import { createXWing } from '../../src/xwing.ts'
import { expectCryptoError, hexField, readWycheproof, Tally } from './_wycheproof.ts'

/**
 * ML-KEM-768 (Wycheproof) and X-Wing (draft vectors) through `pq.ts`, which both backends share
 * (@noble/post-quantum); the backend parameter only names the group. Policy: `invalid` means
 * the call must throw a CryptoError (a wrong seed, key or ciphertext length, a public key that
 * fails the FIPS 203 §7.2 modulus check, a decapsulation key that fails the §7.3 hash check).
 * The `Strcmp` and `MalleableCiphertext` valid cases are implicit-rejection keys: decapsulation
 * must return the vector's K. No acceptable cases; nothing is excluded.
 */

interface XWingVector {
  seed: string
  eseed: string
  ss: string
  sk: string
  pk: string
  ct: string
}

export function pqCases(backend: CryptoBackend): CaseGroup {
  return {
    name: `ML-KEM-768 and X-Wing (${backend.name})`,
    cases: [
      {
        name: 'mlkem_768_test.json: keygen from seed, decapsulate',
        run: async (env) => {
          const name = 'mlkem_768_test.json'
          const file = await readWycheproof(env, name)
          const tally = new Tally(name)
          for (const group of file.testGroups) {
            for (const test of group.tests) {
              await tally.run(test, async () => {
                const attempt = () => {
                  const { publicKey, secretKey } = mlKem768.generate(hexField(test, 'seed'))
                  return { publicKey, k: mlKem768.decapsulate(hexField(test, 'c'), secretKey) }
                }
                if (test.result === 'invalid') return expectCryptoError(attempt, ['invalid-length'])
                const { publicKey, k } = attempt()
                checkBytes(publicKey, hexField(test, 'ek'), 'ek')
                checkBytes(k, hexField(test, 'K'), 'K')
              })
            }
          }
          tally.finish(env, file, {})
        },
      },
      {
        name: 'mlkem_768_encaps_test.json: encapsulate with fixed m; modulus check',
        run: async (env) => {
          const name = 'mlkem_768_encaps_test.json'
          const file = await readWycheproof(env, name)
          const tally = new Tally(name)
          for (const group of file.testGroups) {
            for (const test of group.tests) {
              await tally.run(test, async () => {
                const attempt = () => mlKem768.encapsulate(hexField(test, 'ek'), hexField(test, 'm'))
                if (test.result === 'invalid')
                  return expectCryptoError(attempt, ['invalid-length', 'invalid-public-key'])
                const { cipherText, sharedSecret } = attempt()
                checkBytes(cipherText, hexField(test, 'c'), 'c')
                checkBytes(sharedSecret, hexField(test, 'K'), 'K')
              })
            }
          }
          tally.finish(env, file, {})
        },
      },
      {
        name: 'mlkem_768_keygen_seed_test.json: expanded keys from seed',
        run: async (env) => {
          const name = 'mlkem_768_keygen_seed_test.json'
          const file = await readWycheproof(env, name)
          const tally = new Tally(name)
          for (const group of file.testGroups) {
            for (const test of group.tests) {
              await tally.run(test, async () => {
                const { publicKey, secretKey } = mlKem768.generate(hexField(test, 'seed'))
                checkBytes(publicKey, hexField(test, 'ek'), 'ek')
                checkBytes(secretKey, hexField(test, 'dk'), 'dk')
                checkBytes(mlKem768.publicKeyOf(secretKey), publicKey, 'publicKeyOf')
              })
            }
          }
          tally.finish(env, file, {})
        },
      },
      {
        name: 'mlkem_768_semi_expanded_decaps_test.json: decapsulation-key validation',
        run: async (env) => {
          const name = 'mlkem_768_semi_expanded_decaps_test.json'
          const file = await readWycheproof(env, name)
          const tally = new Tally(name)
          for (const group of file.testGroups) {
            for (const test of group.tests) {
              await tally.run(test, async () => {
                const attempt = () => mlKem768.decapsulate(hexField(test, 'c'), hexField(test, 'dk'))
                if (test.result === 'invalid')
                  return expectCryptoError(attempt, ['invalid-length', 'invalid-key'])
                checkBytes(attempt(), hexField(test, 'K'), 'K')
              })
            }
          }
          tally.finish(env, file, {})
        },
      },
      {
        name: 'xwing/test-vectors.json: keygen, encapsulate with eseed, decapsulate',
        run: async (env) => {
          const vectors = JSON.parse(await env.readVector('xwing/test-vectors.json')) as XWingVector[]
          checkEqual(vectors.length, 3, 'X-Wing vector count')
          for (const v of vectors) {
            const h = hexToBytes
            const { publicKey, secretKey } = xWing.generate(h(v.seed))
            checkBytes(secretKey, h(v.sk), 'sk')
            checkBytes(publicKey, h(v.pk), 'pk')
            checkBytes(xWing.publicKeyOf(secretKey), h(v.pk), 'publicKeyOf')
            const pkBefore = publicKey.slice()
            const { cipherText, sharedSecret } = xWing.encapsulate(publicKey, h(v.eseed))
            checkBytes(cipherText, h(v.ct), 'ct')
            checkBytes(sharedSecret, h(v.ss), 'ss')
            // Regression: noble 0.5.2 wipes the public key it was given (see pq.ts).
            checkBytes(publicKey, pkBefore, 'encapsulate leaves the caller public key intact')
            checkBytes(xWing.decapsulate(h(v.ct), h(v.sk)), h(v.ss), 'decapsulate')
          }
          env.log(`xwing/test-vectors.json: ran ${vectors.length} of 3`)
        },
      },
      {
        name: 'xwing/test-vectors.json through the backend X-Wing (X25519 from the backend)',
        run: async (env) => {
          const vectors = JSON.parse(await env.readVector('xwing/test-vectors.json')) as XWingVector[]
          checkEqual(vectors.length, 3, 'X-Wing vector count')
          const ours = createXWing(backend)
          for (const v of vectors) {
            const h = hexToBytes
            const { publicKey, secretKey } = await ours.generate(h(v.seed))
            checkBytes(secretKey, h(v.sk), 'sk')
            checkBytes(publicKey, h(v.pk), 'pk')
            checkBytes(await ours.publicKeyOf(secretKey), h(v.pk), 'publicKeyOf')
            const { cipherText, sharedSecret } = await ours.encapsulate(publicKey, h(v.eseed))
            checkBytes(cipherText, h(v.ct), 'ct')
            checkBytes(sharedSecret, h(v.ss), 'ss')
            checkBytes(await ours.decapsulate(h(v.ct), h(v.sk)), h(v.ss), 'decapsulate')
          }
          env.log(`xwing/test-vectors.json (backend X-Wing): ran ${vectors.length} of 3`)
        },
      },
      {
        name: 'backend X-Wing agrees with noble XWing on random seeds and randomness, both directions',
        run: async () => {
          const ours = createXWing(backend)
          for (let i = 0; i < 8; i++) {
            const seed = backend.randomBytes(32)
            const a = await ours.generate(seed)
            const b = xWing.generate(seed)
            checkBytes(a.publicKey, b.publicKey, 'same public key')
            const eseed = backend.randomBytes(64)
            const ea = await ours.encapsulate(a.publicKey, eseed)
            const eb = xWing.encapsulate(b.publicKey, eseed)
            checkBytes(ea.cipherText, eb.cipherText, 'same ciphertext')
            checkBytes(ea.sharedSecret, eb.sharedSecret, 'same shared secret')
            checkBytes(xWing.decapsulate(ea.cipherText, seed), ea.sharedSecret, 'noble opens ours')
            const fresh = xWing.encapsulate(b.publicKey)
            checkBytes(await ours.decapsulate(fresh.cipherText, seed), fresh.sharedSecret, 'ours opens noble')
          }
          await expectCryptoError(() => ours.encapsulate(new Uint8Array(1215)), ['invalid-length'])
          await expectCryptoError(
            () => ours.decapsulate(new Uint8Array(1119), new Uint8Array(32)),
            ['invalid-length'],
          )
          await expectCryptoError(() => ours.generate(new Uint8Array(31)), ['invalid-length'])
        },
      },
      {
        name: 'X-Wing and ML-KEM round trip with CSPRNG randomness; wrong lengths give invalid-length',
        run: async () => {
          for (const kem of [xWing, mlKem768]) {
            const { publicKey, secretKey } = kem.generate(backend.randomBytes(kem.seedLength))
            for (let i = 0; i < 3; i++) {
              const e = kem.encapsulate(publicKey, backend.randomBytes(kem.encapsulationRandomnessLength))
              checkBytes(
                kem.decapsulate(e.cipherText, secretKey),
                e.sharedSecret,
                `${kem.name} round trip ${i}`,
              )
            }
            const e = kem.encapsulate(publicKey)
            const bad = e.cipherText.slice()
            bad[5]! ^= 1
            check(
              kem.decapsulate(bad, secretKey).some((b, i) => b !== e.sharedSecret[i]),
              `${kem.name} tampered ct`,
            )
            await expectCryptoError(() => kem.encapsulate(publicKey.subarray(1)), ['invalid-length'])
            await expectCryptoError(
              () => kem.decapsulate(e.cipherText.subarray(1), secretKey),
              ['invalid-length'],
            )
            await expectCryptoError(
              () => kem.decapsulate(e.cipherText, secretKey.subarray(1)),
              ['invalid-length'],
            )
            await expectCryptoError(
              () => kem.generate(new Uint8Array(kem.seedLength + 1)),
              ['invalid-length'],
            )
            await expectCryptoError(() => kem.encapsulate(publicKey, new Uint8Array(3)), ['invalid-length'])
          }
        },
      },
    ],
  }
}
