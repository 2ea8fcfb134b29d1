import type { BrowserContext, Page } from 'playwright-core'
import { bundleCaseModule } from './bundle-case-module.ts'
import { CLOSE_TIMEOUT_MS, type LaunchedChromium, launchChromium, withTimeout } from './launch-chromium.ts'
import {
  PAGE_RUNNER_GLOBAL,
  type PageCaseError,
  type PageCaseOutcome,
  type PageGroupListing,
  type PageRunner,
} from './page-protocol.ts'
import { resolveVectorsDir } from './paths.ts'
import { type StaticServer, startStaticServer } from './static-server.ts'

/**
 * Runs a runtime-neutral case module (see `tests/harness/cases.ts`) inside headless Chromium:
 * bundle it, serve it with the vectors from 127.0.0.1, load it in a page, and run its cases one by
 * one from Node, each under its own timeout. `tests/harness/browser.ts` turns the results into
 * node:test tests; `README.md` shows both ways of using it.
 */

export const DEFAULT_LAUNCH_TIMEOUT_MS = 30_000
export const DEFAULT_LOAD_TIMEOUT_MS = 20_000
export const DEFAULT_CASE_TIMEOUT_MS = 30_000
/** How long a page gets to answer after a case timed out before it counts as hung. */
export const RESPONSIVENESS_PROBE_MS = 2_000

export interface CaseModuleOptions {
  /** The case module: an absolute path or a file: URL (e.g. `new URL('./x.cases.ts', import.meta.url)`). */
  readonly entry: string | URL
  /** Its export: CaseGroup[], one CaseGroup, or a (possibly async) function returning either. */
  readonly exportName: string
  readonly caseTimeoutMs?: number
  readonly loadTimeoutMs?: number
  readonly launchTimeoutMs?: number
  /** Where env.log lines and the page's console go; defaults to console.log. */
  readonly log?: (line: string) => void
  /** Defaults to `../shared/vectors` from the repository root, or TACIT_VECTORS. */
  readonly vectorsDir?: string
  /**
   * A browser from `launchChromium()` to share between several sessions (one launch for several
   * modules); the session then leaves it open and its owner closes it. By default each session
   * launches and closes its own.
   */
  readonly chromium?: LaunchedChromium
}

export type BrowserCaseStatus = 'passed' | 'failed' | 'timed-out' | 'not-run'

export interface BrowserCaseResult {
  readonly group: string
  readonly name: string
  readonly status: BrowserCaseStatus
  readonly error?: PageCaseError
  readonly logs: readonly string[]
}

export interface ChromiumCaseSession {
  readonly browserVersion: string
  readonly groups: readonly PageGroupListing[]
  runCase(group: number, testCase: number): Promise<BrowserCaseResult>
  close(): Promise<void>
}

/**
 * esbuild starts each module of the bundle with a `// path/to/file.ts` comment: remembering those
 * lines lets a browser stack frame `bundle.js:75:13` name its source file.
 */
function indexBundleModules(bundle: string): Array<{ readonly line: number; readonly file: string }> {
  const starts: Array<{ line: number; file: string }> = []
  const lines = bundle.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const match = /^\/\/ (\S+\.[cm]?[jt]s)$/.exec(lines[i]!)
    if (match !== null) starts.push({ line: i + 1, file: match[1]! })
  }
  return starts
}

function annotateStack(
  stack: string | undefined,
  modules: ReturnType<typeof indexBundleModules>,
): string | undefined {
  return stack?.replace(/https?:\/\/127\.0\.0\.1:\d+\/bundle\.js:(\d+):(\d+)/g, (frame, line: string) => {
    const n = Number(line)
    let file: string | undefined
    for (const start of modules) {
      if (start.line > n) break
      file = start.file
    }
    return file === undefined ? frame : `bundle.js:${line} (${file})`
  })
}

export class BrowserHarnessError extends Error {
  override readonly name = 'BrowserHarnessError'
}

async function loadPage(page: Page, origin: string, timeoutMs: number, pageErrors: string[]): Promise<void> {
  await page.goto(`${origin}/`, { waitUntil: 'load', timeout: timeoutMs })
  try {
    await page.waitForFunction(
      (name) => {
        const runner = (globalThis as Record<string, unknown>)[name] as { state?: string } | undefined
        return runner !== undefined && runner.state !== 'loading'
      },
      PAGE_RUNNER_GLOBAL,
      { timeout: timeoutMs },
    )
  } catch (error) {
    const seen = pageErrors.length === 0 ? '' : `; page errors: ${pageErrors.join(' | ')}`
    throw new BrowserHarnessError(`the case module did not load within ${timeoutMs} ms${seen}`, {
      cause: error,
    })
  }
  const loadError = await withTimeout(
    page.evaluate((name) => {
      const runner = (globalThis as Record<string, unknown>)[name] as PageRunner
      return runner.state === 'failed' ? (runner.loadError ?? { message: 'unknown load failure' }) : undefined
    }, PAGE_RUNNER_GLOBAL),
    timeoutMs,
    'reading the load state',
  )
  if (loadError !== undefined) {
    throw new BrowserHarnessError(`the case module failed to load in Chromium: ${loadError.message}`)
  }
}

/** Bundles, serves and loads the case module; the caller runs cases and must `close()`. */
export async function openCaseModuleInChromium(options: CaseModuleOptions): Promise<ChromiumCaseSession> {
  const log = options.log ?? ((line: string) => console.log(line))
  const caseTimeoutMs = options.caseTimeoutMs ?? DEFAULT_CASE_TIMEOUT_MS
  const loadTimeoutMs = options.loadTimeoutMs ?? DEFAULT_LOAD_TIMEOUT_MS
  const bundle = await bundleCaseModule(options.entry, options.exportName)
  const modules = indexBundleModules(bundle)

  let server: StaticServer | undefined
  let chromium: LaunchedChromium | undefined
  let context: BrowserContext | undefined
  const closeAll = async (): Promise<void> => {
    // A shared browser belongs to its owner: only this session's context is closed.
    const closeBrowser = options.chromium === undefined ? chromium?.close() : context?.close()
    await withTimeout(closeBrowser ?? Promise.resolve(), 2 * CLOSE_TIMEOUT_MS, 'closing Chromium').catch(
      () => undefined,
    )
    await server?.close().catch(() => undefined)
  }

  try {
    server = await startStaticServer(bundle, options.vectorsDir ?? resolveVectorsDir())
    chromium =
      options.chromium ?? (await launchChromium(options.launchTimeoutMs ?? DEFAULT_LAUNCH_TIMEOUT_MS))
    const browser = chromium.browser
    context = await withTimeout(browser.newContext(), loadTimeoutMs, 'opening a browser context')
    const page = await withTimeout(context.newPage(), loadTimeoutMs, 'opening a page')
    const pageErrors: string[] = []
    let broken: string | undefined
    page.on('console', (message) => log(`[chromium console.${message.type()}] ${message.text()}`))
    page.on('pageerror', (error) => {
      pageErrors.push(error.message)
      log(`[chromium page error] ${error.message}`)
    })
    page.on('crash', () => {
      broken = 'the Chromium page crashed'
    })
    await loadPage(page, server.origin, loadTimeoutMs, pageErrors)
    // Functions passed to page.evaluate run in the page: they may use only their arguments.
    const listing = await withTimeout(
      page.evaluate((name) => {
        const runner = (globalThis as Record<string, unknown>)[name] as PageRunner
        return runner.list()
      }, PAGE_RUNNER_GLOBAL),
      loadTimeoutMs,
      'listing the cases',
    )

    const runCase = async (groupIndex: number, caseIndex: number): Promise<BrowserCaseResult> => {
      const group = listing[groupIndex]
      const name = group?.cases[caseIndex]
      if (group === undefined || name === undefined) {
        throw new BrowserHarnessError(`no case ${groupIndex}/${caseIndex} in this session`)
      }
      const base = { group: group.name, name }
      if (broken !== undefined)
        return { ...base, status: 'not-run', logs: [], error: { message: `not run: ${broken}` } }

      const evaluation = page.evaluate(
        ([runnerName, g, c]) => {
          const runner = (globalThis as Record<string, unknown>)[runnerName] as PageRunner
          return runner.run(g, c)
        },
        [PAGE_RUNNER_GLOBAL, groupIndex, caseIndex] as const,
      )
      // A case that outlives its timeout may still settle later, or reject when the browser closes.
      evaluation.catch(() => undefined)
      let outcome: PageCaseOutcome
      try {
        outcome = await withTimeout(evaluation, caseTimeoutMs, `case "${name}"`)
      } catch (error) {
        if (broken === undefined) {
          const alive = await withTimeout(
            page.evaluate(() => true),
            RESPONSIVENESS_PROBE_MS,
            'probe',
          ).catch(() => false)
          if (!alive) broken = `the page stopped responding during "${name}"`
        }
        const timedOut = error instanceof Error && error.message.startsWith(`case "${name}" took longer`)
        return {
          ...base,
          status: timedOut ? 'timed-out' : 'failed',
          logs: [],
          error: { message: timedOut ? `timed out after ${caseTimeoutMs} ms in Chromium` : String(error) },
        }
      }
      for (const line of outcome.logs) log(`[chromium] ${line}`)
      if (outcome.ok) return { ...base, status: 'passed', logs: outcome.logs }
      const stack = annotateStack(outcome.error.stack, modules)
      const error =
        stack === undefined ? { message: outcome.error.message } : { message: outcome.error.message, stack }
      return { ...base, status: 'failed', logs: outcome.logs, error }
    }

    return {
      browserVersion: chromium.version,
      groups: listing,
      runCase,
      close: closeAll,
    }
  } catch (error) {
    await closeAll()
    throw error
  }
}

/** Opens a session, runs every case in order, closes; the results are in listing order. */
export async function runCaseModuleInChromium(options: CaseModuleOptions): Promise<BrowserCaseResult[]> {
  const session = await openCaseModuleInChromium(options)
  try {
    const results: BrowserCaseResult[] = []
    for (const [g, group] of session.groups.entries()) {
      for (let c = 0; c < group.cases.length; c++) results.push(await session.runCase(g, c))
    }
    return results
  } finally {
    await session.close()
  }
}
