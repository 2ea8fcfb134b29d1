import {
  type CaseGroup,
  check,
  checkBytes,
  type TestCase,
  type TestEnv,
} from '../../../../tests/harness/cases.ts'
import type { CryptoBackend, DhName } from '../../src/backend.ts'
import { CryptoError } from '../../src/errors.ts'
import { checkUnsupported, expectCryptoError, hexField, readWycheproof, Tally } from './_wycheproof.ts'

/**
 * Wycheproof key-agreement files against `backend.dh.sharedSecret`.
 *
 * X25519/X448 `acceptable` policy — one rule for every flag (Twist, NonCanonicalPublic,
 * SpecialPublicKey, SmallPublicKey, LowOrderPublic, ZeroSharedSecret, EdgeCaseShared,
 * EdgeCaseMultiplication, Ktv): if the vector's shared secret is all zero we MUST reject with
 * `invalid-public-key` (RFC 7748 §6.1, RFC 9180 §7.1.4, and MLS relies on it); otherwise we MUST
 * accept and return exactly `shared` (RFC 7748 §5 decodes twist points and non-canonical u by
 * masking/reducing). The outcome count per flag is asserted, so a behaviour change shows.
 *
 * NIST ECDH uses the `_ecpoint` files: the interface takes SEC1 points, not SPKI DER.
 * `acceptable` CompressedPublic/CompressedPoint: policy reject (RFC 9180 §7.1.1 and RFC 9420
 * use the uncompressed form only). Private keys are hex of the integer (sometimes with a sign
 * byte or shorter); they are normalised to the curve's Nsk bytes. The vector set has no P-521
 * ECDH file; P-521 is covered by the HPKE vectors (DHKEM(P-521)).
 */

const X_OUTCOMES: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  'x25519_test.json': {
    'Twist:accepted': 216,
    'Twist:rejected': 5,
    'EdgeCaseMultiplication:accepted': 170,
    'EdgeCaseMultiplication:rejected': 5,
    'SpecialPublicKey:accepted': 38,
    'SpecialPublicKey:rejected': 12,
    'LowOrderPublic:rejected': 31,
    'ZeroSharedSecret:rejected': 31,
    'NonCanonicalPublic:accepted': 13,
    'NonCanonicalPublic:rejected': 6,
    'SmallPublicKey:rejected': 8,
    'EdgeCaseShared:accepted': 8,
    'Ktv:accepted': 1,
  },
  'x448_test.json': {
    'Twist:accepted': 230,
    'Twist:rejected': 4,
    'EdgeCaseMultiplication:accepted': 193,
    'EdgeCaseMultiplication:rejected': 3,
    'SpecialPublicKey:accepted': 29,
    'SpecialPublicKey:rejected': 5,
    'LowOrderPublic:accepted': 3,
    'LowOrderPublic:rejected': 11,
    'ZeroSharedSecret:rejected': 11,
    'SmallPublicKey:rejected': 6,
    'NonCanonicalPublic:accepted': 4,
    'NonCanonicalPublic:rejected': 1,
    'EdgeCaseShared:accepted': 3,
  },
}

const SCALAR_LENGTH: Readonly<Record<'P-256' | 'P-384', number>> = { 'P-256': 32, 'P-384': 48 }

/** Wycheproof ECDH private keys are integers; make them Nsk big-endian bytes. */
function normaliseScalar(bytes: Uint8Array, length: number): Uint8Array {
  let start = 0
  while (start < bytes.length - length && bytes[start] === 0) start++
  const trimmed = bytes.subarray(start)
  const out = new Uint8Array(length)
  out.set(trimmed, length - trimmed.length)
  return out
}

function isZero(bytes: Uint8Array): boolean {
  return bytes.every((b) => b === 0)
}

async function unsupported(
  backend: CryptoBackend,
  env: TestEnv,
  alg: DhName,
  name: string,
): Promise<boolean> {
  if (backend.supports(alg)) return false
  await checkUnsupported(() => backend.dh.generate(alg), alg)
  env.log(`${name}: ${alg} unsupported by ${backend.name} (asserted)`)
  return true
}

export function dhCases(backend: CryptoBackend): CaseGroup {
  const cases: TestCase[] = []
  for (const [name, alg] of [
    ['x25519_test.json', 'X25519'],
    ['x448_test.json', 'X448'],
  ] as const) {
    cases.push({
      name: `${name}: ${alg}; all-zero shared secrets rejected`,
      run: async (env) => {
        if (await unsupported(backend, env, alg, name)) return
        const file = await readWycheproof(env, name)
        const tally = new Tally(name)
        for (const group of file.testGroups) {
          for (const test of group.tests) {
            await tally.run(test, async () => {
              const shared = hexField(test, 'shared')
              const run = () =>
                backend.dh.sharedSecret(alg, hexField(test, 'private'), hexField(test, 'public'))
              if (test.result === 'invalid') {
                await expectCryptoError(run)
              } else if (test.result === 'acceptable' && isZero(shared)) {
                await expectCryptoError(run, ['invalid-public-key'])
                for (const flag of test.flags) tally.outcome(`${flag}:rejected`)
              } else {
                checkBytes(await run(), shared, 'shared')
                if (test.result === 'acceptable')
                  for (const flag of test.flags) tally.outcome(`${flag}:accepted`)
              }
            })
          }
        }
        tally.finish(env, file, {}, X_OUTCOMES[name])
      },
    })
  }
  for (const [name, alg] of [
    ['ecdh_secp256r1_ecpoint_test.json', 'P-256'],
    ['ecdh_secp384r1_ecpoint_test.json', 'P-384'],
  ] as const) {
    cases.push({
      name: `${name}: ECDH ${alg} on SEC1 points; compressed points rejected`,
      run: async (env) => {
        if (await unsupported(backend, env, alg, name)) return
        const file = await readWycheproof(env, name)
        const tally = new Tally(name)
        for (const group of file.testGroups) {
          for (const test of group.tests) {
            await tally.run(test, async () => {
              const priv = normaliseScalar(hexField(test, 'private'), SCALAR_LENGTH[alg])
              const run = () => backend.dh.sharedSecret(alg, priv, hexField(test, 'public'))
              if (test.result === 'valid') {
                checkBytes(await run(), hexField(test, 'shared'), 'shared')
              } else {
                await expectCryptoError(run, ['invalid-public-key', 'invalid-length'])
                if (test.result === 'acceptable')
                  for (const flag of test.flags) tally.outcome(`${flag}:rejected`)
              }
            })
          }
        }
        tally.finish(env, file, {}, { 'CompressedPublic:rejected': 1, 'CompressedPoint:rejected': 1 })
      },
    })
  }
  cases.push({
    name: 'key agreement is symmetric and publicKeyOf matches generate, for every curve',
    run: async () => {
      for (const alg of ['X25519', 'X448', 'P-256', 'P-384', 'P-521'] as const) {
        if (!backend.supports(alg)) {
          await checkUnsupported(() => backend.dh.generate(alg), alg)
          continue
        }
        const a = await backend.dh.generate(alg)
        const b = await backend.dh.generate(alg)
        checkBytes(await backend.dh.publicKeyOf(alg, a.privateKey), a.publicKey, `${alg} publicKeyOf`)
        const ab = await backend.dh.sharedSecret(alg, a.privateKey, b.publicKey)
        checkBytes(await backend.dh.sharedSecret(alg, b.privateKey, a.publicKey), ab, `${alg} symmetric`)
        await expectCryptoError(
          () => backend.dh.sharedSecret(alg, a.privateKey, b.publicKey.subarray(1)),
          ['invalid-length'],
        )
        const e = await expectCryptoErrorValue(() =>
          backend.dh.sharedSecret(alg, a.privateKey.subarray(1), b.publicKey),
        )
        check(e.code === 'invalid-length', `${alg} short private key: ${e.code}`)
      }
    },
  })
  return { name: `Key agreement (${backend.name})`, cases }
}

async function expectCryptoErrorValue(fn: () => unknown): Promise<CryptoError> {
  try {
    await fn()
  } catch (error) {
    if (CryptoError.is(error)) return error
    throw error
  }
  throw new Error('did not throw')
}
