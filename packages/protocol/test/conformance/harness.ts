/**
 * Shared plumbing for the RFC 9420 conformance vectors (mlswg/mls-implementations, 16 files, 785
 * cases). Every vector file has one runner in `runners/`; the `*.test.ts` files next to this one
 * register them. The vectors are read in place from `../shared/vectors/mls/test-vectors/` (never
 * copied into the repository). Every case's cipher suite comes from `suite-source.ts`, which only
 * hands out suites built by Tacit's own provider.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { backendCalls } from './suite-source.ts'

/** The 16 files and the number of cases each holds (the file's array length). */
export const VECTOR_FILES = {
  'tree-math': 10,
  'crypto-basics': 7,
  'secret-tree': 21,
  'message-protection': 7,
  'key-schedule': 7,
  psk_secret: 77,
  'transcript-hashes': 7,
  welcome: 7,
  'tree-operations': 5,
  'tree-validation': 98,
  treekem: 77,
  messages: 300,
  deserialization: 14,
  'passive-client-welcome': 56,
  'passive-client-handling-commit': 91,
  'passive-client-random': 1,
} as const satisfies Record<string, number>

export type VectorFileName = keyof typeof VECTOR_FILES

export const TOTAL_VECTOR_CASES = 785

/**
 * Cases that cannot run, by file, each with the reason written in
 * docs/decisions/0003-mls-conformance.md. The aim is none; the count is asserted per file.
 */
export const EXCLUDED_CASES: Readonly<Record<VectorFileName, readonly { index: number; reason: string }[]>> =
  {
    'tree-math': [],
    'crypto-basics': [],
    'secret-tree': [],
    'message-protection': [],
    'key-schedule': [],
    psk_secret: [],
    'transcript-hashes': [],
    welcome: [],
    'tree-operations': [],
    'tree-validation': [],
    treekem: [],
    messages: [],
    deserialization: [],
    'passive-client-welcome': [],
    'passive-client-handling-commit': [],
    'passive-client-random': [],
  }

const repoRoot = process.env.TACIT_REPO_ROOT ?? fileURLToPath(new URL('../../../../', import.meta.url))

export const VECTOR_DIR = join(repoRoot, '..', 'shared', 'vectors', 'mls', 'test-vectors')

export function loadVectorFile(name: VectorFileName): unknown[] {
  const parsed: unknown = JSON.parse(readFileSync(join(VECTOR_DIR, `${name}.json`), 'utf8'))
  if (!Array.isArray(parsed)) throw new Error(`${name}.json is not an array`)
  return parsed
}

export function fromHex(hex: string): Uint8Array {
  assert.match(hex, /^(?:[0-9a-f]{2})*$/i, 'vector field is not hex')
  return new Uint8Array(Buffer.from(hex, 'hex'))
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

/** Compares bytes as hex so that a failure names the field and shows both values. */
export function assertBytes(actual: Uint8Array | undefined, expectedHex: string, field: string): void {
  assert.ok(actual instanceof Uint8Array, `${field}: no value`)
  assert.equal(toHex(actual), expectedHex.toLowerCase(), field)
}

/**
 * Cases that fail today because of a bug in Tacit's provider (packages/crypto), written down in
 * docs/decisions/0003-mls-conformance.md. Each is run and must fail with exactly this error: when
 * the bug is fixed the test fails, saying to delete the entry. Empty is the goal.
 */
export interface KnownFailure {
  readonly index: number
  readonly error: RegExp
  /** A short name for the bug, as in the decision record. */
  readonly bug: string
}

export const KNOWN_PROVIDER_FAILURES: Readonly<Partial<Record<VectorFileName, readonly KnownFailure[]>>> = {}

export interface RegisterOptions<T> {
  /** Whether a case needs crypto; such a case must make at least one call into our backend. */
  readonly crypto: boolean | ((vector: T) => boolean)
}

/**
 * Registers one test per case of `name`, then a final test that prints and asserts how many ran.
 * `runCase` must check every output field the format defines.
 */
export function registerVectorFile<T>(
  name: VectorFileName,
  options: RegisterOptions<T>,
  runCase: (vector: T, index: number) => Promise<void> | void,
): void {
  const vectors = loadVectorFile(name) as T[]
  const excluded = new Map(EXCLUDED_CASES[name].map((e) => [e.index, e.reason]))
  const knownFailures = new Map((KNOWN_PROVIDER_FAILURES[name] ?? []).map((k) => [k.index, k]))
  let passed = 0
  let failedAsKnown = 0
  test(`${name}.json holds the expected number of cases`, () => {
    assert.equal(vectors.length, VECTOR_FILES[name])
  })
  vectors.forEach((vector, index) => {
    if (excluded.has(index)) return
    const knownFailure = knownFailures.get(index)
    test(`${name} #${index}${knownFailure ? ` (known provider bug: ${knownFailure.bug})` : ''}`, async () => {
      const callsBefore = backendCalls()
      if (knownFailure !== undefined) {
        await assert.rejects(
          async () => runCase(vector, index),
          knownFailure.error,
          `${name} #${index} now passes: delete it from KNOWN_PROVIDER_FAILURES`,
        )
        failedAsKnown++
        return
      }
      await runCase(vector, index)
      if (typeof options.crypto === 'function' ? options.crypto(vector) : options.crypto) {
        assert.ok(backendCalls() > callsBefore, 'the case made calls into the Tacit backend')
      }
      passed++
    })
  })
  test(`${name}: every case ran`, () => {
    const expected = VECTOR_FILES[name]
    console.log(
      `mls-conformance ${name}: ${passed + failedAsKnown}/${expected} run, ${passed} passed, ` +
        `${failedAsKnown} known provider failures, ${excluded.size} excluded`,
    )
    assert.equal(excluded.size, EXCLUDED_CASES[name].length)
    assert.equal(failedAsKnown, knownFailures.size)
    assert.equal(passed, expected - excluded.size - knownFailures.size)
  })
}
