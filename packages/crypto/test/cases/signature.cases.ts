import {
  type CaseGroup,
  check,
  checkBytes,
  type TestCase,
  type TestEnv,
} from '../../../../tests/harness/cases.ts'
import type { CryptoBackend, SignatureName } from '../../src/backend.ts'
import { hexToBytes, utf8 } from '../../src/bytes.ts'
import { checkUnsupported, expectCryptoError, hexField, readWycheproof, Tally } from './_wycheproof.ts'

/**
 * Wycheproof signature-verification files against `backend.signature.verify`: valid must verify,
 * invalid must not (false, never a throw). ECDSA uses the DER files because the interface's
 * signatures are DER (RFC 9420 §5.1.1 and ts-mls 1.6.4's noble provider, `format: 'der'`).
 * None of these files has `acceptable` cases; nothing is excluded. The vector set has no
 * P-521 ECDSA file; P-521 is covered by crypto-basics.json (suite 5) and the round-trip cases.
 */

const FILES: readonly { file: string; alg: SignatureName; key: 'pk' | 'uncompressed'; sha?: string }[] = [
  { file: 'ed25519_test.json', alg: 'Ed25519', key: 'pk' },
  { file: 'ed448_test.json', alg: 'Ed448', key: 'pk' },
  { file: 'ecdsa_secp256r1_sha256_test.json', alg: 'P-256', key: 'uncompressed', sha: 'SHA-256' },
  { file: 'ecdsa_secp384r1_sha384_test.json', alg: 'P-384', key: 'uncompressed', sha: 'SHA-384' },
]

const ALL: readonly SignatureName[] = ['Ed25519', 'Ed448', 'P-256', 'P-384', 'P-521']

export function signatureCases(backend: CryptoBackend): CaseGroup {
  const cases: TestCase[] = FILES.map(({ file: name, alg, key, sha }) => ({
    name: `${name}: ${alg} verify`,
    run: async (env: TestEnv) => {
      if (!backend.supports(alg)) {
        await checkUnsupported(() => backend.signature.generate(alg), alg)
        env.log(`${name}: ${alg} unsupported by ${backend.name} (asserted)`)
        return
      }
      const file = await readWycheproof(env, name)
      const tally = new Tally(name)
      for (const group of file.testGroups) {
        if (sha !== undefined) check(group.sha === sha, `${name}: unexpected hash ${String(group.sha)}`)
        const publicKey = hexField(group.publicKey as Record<string, unknown>, key)
        for (const test of group.tests) {
          await tally.run(test, async () => {
            const ok = await backend.signature.verify(
              alg,
              publicKey,
              hexField(test, 'msg'),
              hexField(test, 'sig'),
            )
            check(ok === (test.result === 'valid'), `verify returned ${ok}`)
          })
        }
      }
      tally.finish(env, file, {})
    },
  }))

  cases.push({
    name: 'RFC 8032 §7.1 TEST 1: Ed25519 sign from the raw seed is exact',
    run: async () => {
      if (!backend.supports('Ed25519'))
        return checkUnsupported(() => backend.signature.generate('Ed25519'), 'Ed25519')
      const seed = hexToBytes('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60')
      const pub = hexToBytes('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a')
      checkBytes(await backend.signature.publicKeyOf('Ed25519', seed), pub, 'public key')
      checkBytes(
        await backend.signature.sign('Ed25519', seed, new Uint8Array()),
        hexToBytes(
          'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
        ),
        'signature',
      )
    },
  })

  cases.push({
    name: 'sign/verify round trip, publicKeyOf, wrong lengths and malformed keys for every algorithm',
    run: async () => {
      const msg = utf8.encode('tacit signature round trip')
      for (const alg of ALL) {
        if (!backend.supports(alg)) {
          await checkUnsupported(() => backend.signature.generate(alg), alg)
          continue
        }
        const kp = await backend.signature.generate(alg)
        checkBytes(
          await backend.signature.publicKeyOf(alg, kp.privateKey),
          kp.publicKey,
          `${alg} publicKeyOf`,
        )
        const sig = await backend.signature.sign(alg, kp.privateKey, msg)
        check(await backend.signature.verify(alg, kp.publicKey, msg, sig), `${alg} verifies`)
        // A second signature with the same (now cached) key must also verify.
        check(
          await backend.signature.verify(
            alg,
            kp.publicKey,
            msg,
            await backend.signature.sign(alg, kp.privateKey, msg),
          ),
          `${alg} cached key`,
        )
        const other = msg.slice()
        other[0]! ^= 1
        check(
          !(await backend.signature.verify(alg, kp.publicKey, other, sig)),
          `${alg} rejects another message`,
        )
        check(
          !(await backend.signature.verify(alg, kp.publicKey, msg, sig.subarray(1))),
          `${alg} rejects a cut signature`,
        )
        check(
          !(await backend.signature.verify(alg, kp.publicKey.subarray(1), msg, sig)),
          `${alg} short key gives false`,
        )
        await expectCryptoError(
          () => backend.signature.sign(alg, kp.privateKey.subarray(1), msg),
          ['invalid-length'],
        )
        if (alg.startsWith('P-')) {
          // An all-zero scalar is outside [1, n-1].
          await expectCryptoError(
            () => backend.signature.sign(alg, new Uint8Array(kp.privateKey.length), msg),
            ['invalid-key'],
          )
        }
      }
    },
  })

  return { name: `Signatures (${backend.name})`, cases }
}
