import { AssertionError, check, checkRejects, type TestEnv } from '../../../../tests/harness/cases.ts'
import { hexToBytes } from '../../src/bytes.ts'
import { CryptoError } from '../../src/errors.ts'

/**
 * Runtime-neutral helpers for Wycheproof files (testvectors_v1). Every file is read in place,
 * every test is either run or excluded under a named reason, and the counts are both printed and
 * asserted: run = numberOfTests - excluded, and each exclusion count equals the documented number,
 * so a changed file or a changed behaviour makes the test fail instead of silently passing.
 */

export type WycheproofResult = 'valid' | 'invalid' | 'acceptable'

export interface WycheproofTest {
  readonly tcId: number
  readonly comment?: string
  readonly flags: readonly string[]
  readonly result: WycheproofResult
  readonly [field: string]: unknown
}

export interface WycheproofGroup {
  readonly tests: readonly WycheproofTest[]
  readonly [field: string]: unknown
}

export interface WycheproofFile {
  readonly numberOfTests: number
  readonly testGroups: readonly WycheproofGroup[]
}

export async function readWycheproof(env: TestEnv, name: string): Promise<WycheproofFile> {
  const file = JSON.parse(await env.readVector(`wycheproof/testvectors_v1/${name}`)) as WycheproofFile
  check(
    Number.isInteger(file.numberOfTests) && Array.isArray(file.testGroups),
    `${name}: not a Wycheproof file`,
  )
  return file
}

/** Field of a test or group as bytes (hex in the file). */
export function hexField(record: { readonly [field: string]: unknown }, field: string): Uint8Array {
  const value = record[field]
  if (typeof value !== 'string') throw new AssertionError(`field ${field} is not a hex string`)
  return hexToBytes(value)
}

export function numberField(record: { readonly [field: string]: unknown }, field: string): number {
  const value = record[field]
  if (typeof value !== 'number') throw new AssertionError(`field ${field} is not a number`)
  return value
}

/** Counts what ran and what was excluded for one file, then asserts the totals. */
export class Tally {
  readonly #file: string
  readonly #run = { valid: 0, invalid: 0, acceptable: 0 }
  readonly #excluded = new Map<string, number>()
  readonly #outcomes = new Map<string, number>()
  readonly #failures: string[] = []

  constructor(file: string) {
    this.#file = file
  }

  ran(test: WycheproofTest): void {
    this.#run[test.result]++
  }

  exclude(reason: string): void {
    this.#excluded.set(reason, (this.#excluded.get(reason) ?? 0) + 1)
  }

  /** Records the outcome chosen for an `acceptable` case (e.g. "Twist:accepted"). */
  outcome(label: string): void {
    this.#outcomes.set(label, (this.#outcomes.get(label) ?? 0) + 1)
  }

  fail(test: WycheproofTest, why: string): void {
    this.#failures.push(
      `tcId ${test.tcId} (${test.result}${test.flags.length ? ` ${test.flags.join(',')}` : ''}): ${why}`,
    )
  }

  /** Runs `body` for one test, recording an assertion failure instead of stopping the file. */
  async run(test: WycheproofTest, body: () => Promise<void>): Promise<void> {
    this.ran(test)
    await this.assert(test, body)
  }

  /** Runs extra assertions for an excluded test (not counted as run; failures still fail). */
  async assert(test: WycheproofTest, body: () => Promise<void>): Promise<void> {
    try {
      await body()
    } catch (error) {
      this.fail(test, error instanceof Error ? error.message : String(error))
    }
  }

  /**
   * Prints the counts and asserts them: no failures, run + excluded = numberOfTests, each
   * exclusion reason has exactly the documented count, and (when given) each acceptable-case
   * outcome has exactly the documented count.
   */
  finish(
    env: TestEnv,
    file: WycheproofFile,
    expectedExclusions: Readonly<Record<string, number>>,
    expectedOutcomes?: Readonly<Record<string, number>>,
  ): void {
    const run = this.#run.valid + this.#run.invalid + this.#run.acceptable
    let excluded = 0
    for (const n of this.#excluded.values()) excluded += n
    const excludedText = [...this.#excluded].map(([r, n]) => `${r}=${n}`).join(', ') || 'none'
    const outcomeText = [...this.#outcomes].map(([r, n]) => `${r}=${n}`).join(', ')
    env.log(
      `${this.#file}: ran ${run} (valid ${this.#run.valid}, invalid ${this.#run.invalid}, acceptable ${this.#run.acceptable}); excluded ${excluded} (${excludedText})${outcomeText ? `; acceptable outcomes: ${outcomeText}` : ''}`,
    )
    if (this.#failures.length > 0) {
      throw new AssertionError(
        `${this.#file}: ${this.#failures.length} failures; first: ${this.#failures.slice(0, 5).join(' | ')}`,
      )
    }
    check(
      run + excluded === file.numberOfTests,
      `${this.#file}: run ${run} + excluded ${excluded} != ${file.numberOfTests}`,
    )
    const reasons = new Set([...Object.keys(expectedExclusions), ...this.#excluded.keys()])
    for (const reason of reasons) {
      const got = this.#excluded.get(reason) ?? 0
      const want = expectedExclusions[reason] ?? 0
      check(got === want, `${this.#file}: exclusion "${reason}" counted ${got}, documented ${want}`)
    }
    if (expectedOutcomes !== undefined) {
      const labels = new Set([...Object.keys(expectedOutcomes), ...this.#outcomes.keys()])
      for (const label of labels) {
        const got = this.#outcomes.get(label) ?? 0
        const want = expectedOutcomes[label] ?? 0
        check(got === want, `${this.#file}: acceptable outcome "${label}" counted ${got}, documented ${want}`)
      }
    }
  }
}

/** Asserts that `fn` throws CryptoError('unsupported-algorithm'). */
export async function checkUnsupported(fn: () => unknown, what: string): Promise<void> {
  await checkRejects(fn, (e) => CryptoError.is(e, 'unsupported-algorithm'), `${what} must be unsupported`)
}

/** Expects `fn` to throw a CryptoError (any of `codes`, or any code when omitted). */
export async function expectCryptoError(fn: () => unknown, codes?: readonly string[]): Promise<void> {
  await checkRejects(
    fn,
    (e) => CryptoError.is(e) && (codes === undefined || codes.includes(e.code)),
    `expected CryptoError${codes ? ` (${codes.join('|')})` : ''}`,
  )
}
