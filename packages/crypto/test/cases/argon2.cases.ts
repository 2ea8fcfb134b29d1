import {
  AssertionError,
  type CaseGroup,
  check,
  checkBytes,
  checkEqual,
  type TestCase,
  type TestEnv,
} from '../../../../tests/harness/cases.ts'
import {
  _computeArgon2,
  ARGON2_KEY_LENGTH,
  type Argon2Variant,
  type Argon2Version,
  DEFAULT_ARGON2_PARAMS,
  decodeArgon2PhcString,
  deriveKeyFromPassphrase,
  encodeArgon2PhcString,
  MAX_ARGON2_ITERATIONS,
  MAX_ARGON2_MEMORY_KIB,
  MAX_ARGON2_PARALLELISM,
  MAX_ARGON2_PASSWORD_BYTES,
  MAX_ARGON2_PHC_STRING_LENGTH,
  MAX_ARGON2_SALT_BYTES,
} from '../../src/argon2.ts'
import { hexToBytes, utf8 } from '../../src/bytes.ts'
import { expectCryptoError } from './_wycheproof.ts'

/**
 * RFC 9106 Argon2 against `../shared/vectors/argon2/argon2-kat.json`: the three §5 vectors
 * (argon2d, argon2i, argon2id with secret and associated data) and the 26 hash/encoded-string
 * cases of the reference implementation's src/test.c. Argon2 does not depend on the crypto
 * backend (it is noble, pure TypeScript), so this group takes no backend.
 *
 * The reference cases are grouped by memory. Each tier asserts how many cases it holds, so a
 * changed file shows, and the tiers together must account for all 26:
 * - 256 KiB: 6 cases, always run.
 * - 64 MiB: 15 and 256 MiB: 3, run in `full` scope. The `light` scope (for running once per
 *   crypto backend and in browsers, where the case list is registered several times) skips them
 *   because they cost about a minute of CPU and test nothing backend-specific.
 * - 1 GiB: 2 argon2i cases, skipped unless TACIT_ARGON2_1GIB=1: each allocates 1 GiB and takes
 *   tens of seconds of CPU, more than a shared test machine should spend on every run
 *   (vectors/README.md: "two need 1 GiB: make them optional").
 *
 * Version 0x10 cases: upstream writes them without "v=" and does not compare their encoded
 * strings (`encoded_checked_upstream: false`); we decode them and check the tag, and do not
 * re-encode them (our encoder, like the reference one, always writes "v="). Counted below.
 */

export type Argon2Scope = 'light' | 'full'

interface Rfc9106Vector {
  readonly rfc9106_section: string
  readonly type: Argon2Variant
  readonly version: number
  readonly memoryKiB: number
  readonly iterations: number
  readonly parallelism: number
  readonly tagLength: number
  readonly password: string
  readonly salt: string
  readonly secret: string
  readonly ad: string
  readonly tag: string
}

interface PhcCase {
  readonly type: Argon2Variant
  readonly version: number
  readonly iterations: number
  readonly memoryKiB: number
  readonly parallelism: number
  readonly password_utf8: string
  readonly salt_utf8: string
  readonly tagLength: number
  readonly tag: string
  readonly encoded: string
  readonly encoded_checked_upstream: boolean
}

interface Argon2Kat {
  readonly rfc9106: readonly Rfc9106Vector[]
  readonly phc_reference: readonly PhcCase[]
}

const KAT_PATH = 'argon2/argon2-kat.json'
const PHC_TOTAL = 26
const ONE_GIB_ENV = 'TACIT_ARGON2_1GIB'

async function readKat(env: TestEnv): Promise<Argon2Kat> {
  const kat = JSON.parse(await env.readVector(KAT_PATH)) as Argon2Kat
  check(Array.isArray(kat.rfc9106) && Array.isArray(kat.phc_reference), `${KAT_PATH}: unexpected shape`)
  return kat
}

function toVersion(value: number): Argon2Version {
  if (value !== 0x10 && value !== 0x13) throw new AssertionError(`unexpected Argon2 version ${value}`)
  return value
}

function oneGibOptedIn(): boolean {
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process
  return proc?.env?.[ONE_GIB_ENV] === '1'
}

/** Checks one reference case: tag, decoded string, re-encoded string (v19), and our KDF API. */
async function checkPhcCase(
  c: PhcCase,
): Promise<{ encoding: 'encoded-compared' | 'encoded-v16-decoded-only'; viaApi: boolean }> {
  const version = toVersion(c.version)
  const params = { memoryKiB: c.memoryKiB, iterations: c.iterations, parallelism: c.parallelism }
  const password = utf8.encode(c.password_utf8)
  const salt = utf8.encode(c.salt_utf8)
  // The public API is exactly the Argon2id v0x13 cases with a 32-byte tag and no K or X: those
  // go through deriveKeyFromPassphrase (async), the others through _computeArgon2 (sync).
  const viaApi = c.type === 'argon2id' && version === 0x13 && c.tagLength === ARGON2_KEY_LENGTH
  const tag = viaApi
    ? await deriveKeyFromPassphrase(c.password_utf8, salt, params)
    : await _computeArgon2(c.type, { password, salt, params, version, outputLength: c.tagLength })
  checkBytes(tag, hexToBytes(c.tag), `${c.encoded}: tag`)

  const decoded = decodeArgon2PhcString(c.encoded)
  checkEqual(decoded.variant, c.type, 'decoded variant')
  checkEqual(decoded.version, version, 'decoded version')
  checkEqual(decoded.params.memoryKiB, c.memoryKiB, 'decoded m')
  checkEqual(decoded.params.iterations, c.iterations, 'decoded t')
  checkEqual(decoded.params.parallelism, c.parallelism, 'decoded p')
  checkBytes(decoded.salt, salt, 'decoded salt')
  checkBytes(decoded.hash, tag, 'decoded hash')

  if (version === 0x13) {
    check(c.encoded_checked_upstream, 'v19 strings are compared upstream')
    checkEqual(encodeArgon2PhcString(decoded), c.encoded, 're-encoded string')
    return { encoding: 'encoded-compared', viaApi }
  }
  check(!c.encoded.includes('$v='), 'v16 strings carry no v=')
  return { encoding: 'encoded-v16-decoded-only', viaApi }
}

interface Tier {
  readonly label: string
  readonly memoryKiB: number
  readonly count: number
  readonly runs: (scope: Argon2Scope) => string | undefined
}

/** Returns undefined when the tier runs, or the reason it is skipped. */
const TIERS: readonly Tier[] = [
  { label: '256 KiB', memoryKiB: 256, count: 6, runs: () => undefined },
  {
    label: '64 MiB',
    memoryKiB: 64 * 1024,
    count: 15,
    runs: (scope) => (scope === 'full' ? undefined : 'light scope (about 40 s of CPU, backend-independent)'),
  },
  {
    label: '256 MiB',
    memoryKiB: 256 * 1024,
    count: 3,
    runs: (scope) => (scope === 'full' ? undefined : 'light scope (about 30 s of CPU, backend-independent)'),
  },
  {
    label: '1 GiB',
    memoryKiB: 1024 * 1024,
    count: 2,
    runs: () => (oneGibOptedIn() ? undefined : `1 GiB each; set ${ONE_GIB_ENV}=1 to run`),
  },
]

export function argon2Cases(scope: Argon2Scope = 'light'): CaseGroup {
  const cases: TestCase[] = [
    {
      name: 'RFC 9106 §5.1–5.3: argon2d, argon2i, argon2id with secret and associated data',
      run: async (env) => {
        const kat = await readKat(env)
        checkEqual(kat.rfc9106.length, 3, 'RFC 9106 §5 vector count')
        for (const v of kat.rfc9106) {
          const input = {
            password: hexToBytes(v.password),
            salt: hexToBytes(v.salt),
            secret: hexToBytes(v.secret),
            associatedData: hexToBytes(v.ad),
            params: { memoryKiB: v.memoryKiB, iterations: v.iterations, parallelism: v.parallelism },
            outputLength: v.tagLength,
            version: toVersion(v.version),
          }
          const expected = hexToBytes(v.tag)
          checkBytes(await _computeArgon2(v.type, input), expected, `§${v.rfc9106_section} sync`)
          checkBytes(
            await _computeArgon2(v.type, input, { async: true }),
            expected,
            `§${v.rfc9106_section} async`,
          )
        }
        env.log(`${KAT_PATH}: RFC 9106 §5 ran 3 of 3`)
      },
    },
    {
      name: `reference cases: the tiers below account for all ${PHC_TOTAL}`,
      run: async (env) => {
        const kat = await readKat(env)
        checkEqual(kat.phc_reference.length, PHC_TOTAL, 'reference case count')
        for (const tier of TIERS) {
          const n = kat.phc_reference.filter((c) => c.memoryKiB === tier.memoryKiB).length
          checkEqual(n, tier.count, `cases at ${tier.label}`)
        }
        const sum = TIERS.reduce((s, t) => s + t.count, 0)
        checkEqual(sum, PHC_TOTAL, 'tiers sum')
      },
    },
  ]
  for (const tier of TIERS) {
    cases.push({
      name: `reference cases at ${tier.label} (${tier.count})`,
      run: async (env) => {
        const kat = await readKat(env)
        const selected = kat.phc_reference.filter((c) => c.memoryKiB === tier.memoryKiB)
        checkEqual(selected.length, tier.count, `cases at ${tier.label}`)
        const skipped = tier.runs(scope)
        if (skipped !== undefined) {
          env.log(`${KAT_PATH}: ${tier.label}: ran 0, skipped ${selected.length} (${skipped})`)
          return
        }
        const outcomes = { 'encoded-compared': 0, 'encoded-v16-decoded-only': 0 }
        let viaApi = 0
        for (const c of selected) {
          const result = await checkPhcCase(c)
          outcomes[result.encoding]++
          if (result.viaApi) viaApi++
        }
        const argon2id = selected.filter((c) => c.type === 'argon2id').length
        checkEqual(viaApi, argon2id, 'argon2id cases through deriveKeyFromPassphrase')
        const v16 = selected.filter((c) => c.version === 0x10).length
        checkEqual(outcomes['encoded-v16-decoded-only'], v16, 'v16 cases decoded only')
        checkEqual(outcomes['encoded-compared'], selected.length - v16, 'v19 strings compared')
        env.log(
          `${KAT_PATH}: ${tier.label}: ran ${selected.length} (${outcomes['encoded-compared']} with the encoded string compared, ${v16} v16 decoded only; ${viaApi} through deriveKeyFromPassphrase)`,
        )
      },
    })
  }
  cases.push(
    {
      name: 'DEFAULT_ARGON2_PARAMS are DESIGN §3 (m = 64 MiB, t = 3, p = 1) and frozen',
      run: () => {
        checkEqual(DEFAULT_ARGON2_PARAMS.memoryKiB, 65536, 'm')
        checkEqual(DEFAULT_ARGON2_PARAMS.iterations, 3, 't')
        checkEqual(DEFAULT_ARGON2_PARAMS.parallelism, 1, 'p')
        check(Object.isFrozen(DEFAULT_ARGON2_PARAMS), 'frozen')
      },
    },
    {
      name: 'passphrase strings are NFC-normalised: composed and decomposed é give one key',
      run: async () => {
        const salt = new Uint8Array(16).fill(7)
        const params = { memoryKiB: 64, iterations: 1, parallelism: 1 }
        const composed = await deriveKeyFromPassphrase('caf\u00e9', salt, params)
        const decomposed = await deriveKeyFromPassphrase('cafe\u0301', salt, params)
        checkBytes(decomposed, composed, 'NFC')
        checkEqual(composed.length, ARGON2_KEY_LENGTH, 'key length')
        const other = await deriveKeyFromPassphrase('cafe', salt, params)
        check(
          other.some((b, i) => b !== composed[i]),
          'a different passphrase gives a different key',
        )
      },
    },
    {
      name: 'bounds: each out-of-range input is refused with its code before any work',
      run: async () => {
        const salt = new Uint8Array(16)
        const ok = { memoryKiB: 64, iterations: 1, parallelism: 1 }
        const derive = (p: unknown, s: Uint8Array = salt, pw: string | Uint8Array = 'pw') =>
          deriveKeyFromPassphrase(pw, s, p as typeof ok)
        await expectCryptoError(
          () => derive({ ...ok, memoryKiB: MAX_ARGON2_MEMORY_KIB + 1 }),
          ['limit-exceeded'],
        )
        await expectCryptoError(() => derive({ ...ok, memoryKiB: 7 }), ['limit-exceeded']) // RFC 9106 §3.1: m ≥ 8p
        await expectCryptoError(() => derive({ ...ok, parallelism: 2, memoryKiB: 15 }), ['limit-exceeded'])
        await expectCryptoError(() => derive({ ...ok, iterations: 0 }), ['limit-exceeded'])
        await expectCryptoError(
          () => derive({ ...ok, iterations: MAX_ARGON2_ITERATIONS + 1 }),
          ['limit-exceeded'],
        )
        await expectCryptoError(() => derive({ ...ok, parallelism: 0 }), ['limit-exceeded'])
        await expectCryptoError(
          () => derive({ ...ok, parallelism: MAX_ARGON2_PARALLELISM + 1 }),
          ['limit-exceeded'],
        )
        await expectCryptoError(() => derive({ ...ok, iterations: 1.5 }), ['invalid-type'])
        await expectCryptoError(() => derive({ ...ok, memoryKiB: '64' }), ['invalid-type'])
        await expectCryptoError(() => derive(null), ['invalid-type'])
        await expectCryptoError(() => derive(ok, new Uint8Array(7)), ['invalid-length'])
        await expectCryptoError(
          () => derive(ok, new Uint8Array(MAX_ARGON2_SALT_BYTES + 1)),
          ['invalid-length'],
        )
        await expectCryptoError(() => derive(ok, 'salt' as unknown as Uint8Array), ['invalid-type'])
        await expectCryptoError(
          () => derive(ok, salt, 'x'.repeat(MAX_ARGON2_PASSWORD_BYTES + 1)),
          ['limit-exceeded'],
        )
        await expectCryptoError(
          () =>
            _computeArgon2('argon2id', { password: new Uint8Array(1), salt, params: ok, outputLength: 3 }),
          ['invalid-length'],
        )
        await expectCryptoError(
          () => _computeArgon2('argon2x' as Argon2Variant, { password: new Uint8Array(1), salt, params: ok }),
          ['unsupported-algorithm'],
        )
        await expectCryptoError(
          () =>
            _computeArgon2('argon2id', {
              password: new Uint8Array(1),
              salt,
              params: ok,
              version: 0x12 as Argon2Version,
            }),
          ['unsupported-algorithm'],
        )
        // The maximum itself is accepted by the check (not run: it would allocate 1 GiB).
        const atMax = 'x'.repeat(MAX_ARGON2_PASSWORD_BYTES)
        checkEqual((await derive(ok, salt, atMax)).length, 32, 'password at the maximum')
      },
    },
    {
      name: 'PHC strings: malformed, padded, non-canonical and oversized strings are refused',
      run: async () => {
        const good = '$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4'
        const bad = [
          '$argon2x$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4', // unknown variant
          '$argon2id$v=18$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4', // unknown version
          '$argon2id$v=19$m=256,t=2$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4', // missing p
          '$argon2id$v=19$m=0256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4', // leading zero
          '$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ=$nf65EOgLrQMR/uIPnA4', // padding
          '$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHR$nf65EOgLrQMR/uIPnA4', // non-canonical last char
          '$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4$', // trailing field
          '$argon2id$v=19$m=256,t=2,p=1$c29tZXNh$nf65EOgLrQMR/uIPnA4', // 6-byte salt (< 8)
        ]
        check(decodeArgon2PhcString(good).hash.length > 0, 'the good string decodes')
        for (const s of bad)
          await expectCryptoError(() => decodeArgon2PhcString(s), ['invalid-type', 'invalid-length'])
        await expectCryptoError(
          () => decodeArgon2PhcString(`$argon2id$v=19$m=2048,t=2,p=1$${'A'.repeat(600)}$AAAA`),
          ['limit-exceeded'],
        )
        check(MAX_ARGON2_PHC_STRING_LENGTH < 600, 'the oversized case is over the limit')
        await expectCryptoError(
          () => decodeArgon2PhcString('$argon2id$v=19$m=4294967295,t=2,p=1$c29tZXNhbHQ$AAAA'),
          ['limit-exceeded'],
        )
      },
    },
  )
  return { name: `argon2 (RFC 9106, ${scope})`, cases }
}
