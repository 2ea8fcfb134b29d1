/**
 * Runtime-neutral test cases: the same case list runs under node:test (see `node.ts`) and inside
 * headless Chromium (see `tests/browser/`). Cases use the small assertion helpers below instead of
 * node:assert so that they bundle for the browser unchanged.
 */

export interface TestEnv {
  /** Which runtime runs the case. */
  readonly runtime: 'node' | 'browser'
  /** Reads a file under `../shared/vectors/` (path relative to that folder) as text. */
  readVector(path: string): Promise<string>
  /** Prints a line (counts of vectors run and the like). */
  log(line: string): void
}

export interface TestCase {
  readonly name: string
  run(env: TestEnv): Promise<void> | void
}

export interface CaseGroup {
  readonly name: string
  readonly cases: readonly TestCase[]
}

export class AssertionError extends Error {
  override readonly name = 'AssertionError'
}

export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message)
}

export function checkEqual<T>(actual: T, expected: T, message: string): void {
  if (!Object.is(actual, expected)) {
    throw new AssertionError(`${message}: expected ${String(expected)}, got ${String(actual)}`)
  }
}

function toHex(bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += b.toString(16).padStart(2, '0')
  return s
}

export function checkBytes(actual: Uint8Array, expected: Uint8Array, message: string): void {
  const a = toHex(actual)
  const e = toHex(expected)
  if (a !== e) throw new AssertionError(`${message}: expected ${e.slice(0, 64)}…, got ${a.slice(0, 64)}…`)
}

/** Awaits `fn` and checks that it throws an error accepted by `accept`; returns that error. */
export async function checkRejects(
  fn: () => unknown,
  accept: (error: unknown) => boolean,
  message: string,
): Promise<unknown> {
  try {
    await fn()
  } catch (error) {
    if (!accept(error)) {
      throw new AssertionError(`${message}: threw an unexpected error: ${String(error)}`)
    }
    return error
  }
  throw new AssertionError(`${message}: did not throw`)
}
