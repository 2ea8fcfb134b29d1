/**
 * What the page and Node say to each other. Types only: imported by the page runner (bundled
 * into the page) and by the Node side, so both agree on the shapes `page.evaluate` carries.
 */

/** The global the page runner installs; Node reaches it through `page.evaluate`. */
export const PAGE_RUNNER_GLOBAL = '__tacitCaseRunner'

/** Where the static server serves `../shared/vectors` (see `static-server.ts`). */
export const VECTORS_URL_PREFIX = '/vectors/'

export interface PageGroupListing {
  readonly name: string
  readonly cases: readonly string[]
}

export interface PageCaseError {
  readonly message: string
  readonly stack?: string
}

export type PageCaseOutcome =
  | { readonly ok: true; readonly logs: readonly string[] }
  | { readonly ok: false; readonly logs: readonly string[]; readonly error: PageCaseError }

export interface PageRunner {
  /** Set once the case module has loaded and its groups are listed, or failed to. */
  readonly state: 'loading' | 'ready' | 'failed'
  readonly loadError?: PageCaseError
  list(): readonly PageGroupListing[]
  run(group: number, testCase: number): Promise<PageCaseOutcome>
}
