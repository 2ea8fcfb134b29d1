import { after, describe, test } from 'node:test'
import {
  type BrowserCaseResult,
  type CaseModuleOptions,
  DEFAULT_CASE_TIMEOUT_MS,
  openCaseModuleInChromium,
} from '../browser/run-case-module.ts'

/** Extra node:test time per case above the harness's own case timeout (so the harness reports it). */
const NODE_TEST_MARGIN_MS = 10_000

function failureOf(result: BrowserCaseResult): Error {
  const message = result.error?.message ?? `case ${result.status}`
  const error = new Error(`[chromium] ${message}`)
  // The browser's stack (bundle line numbers) is more useful than this frame.
  error.stack = `${error.message}\n${result.error?.stack ?? '    (no stack from the browser)'}`
  return error
}

/**
 * Registers a runtime-neutral case module to run inside headless Chromium, as one node:test test
 * per browser case (named `[chromium] <case>`), so pass and fail counts are per case. If Chromium
 * or the bundle cannot be set up, one failing test says why.
 */
export function registerCaseModuleInChromium(options: CaseModuleOptions & { readonly title: string }): void {
  const perCase = (options.caseTimeoutMs ?? DEFAULT_CASE_TIMEOUT_MS) + NODE_TEST_MARGIN_MS
  describe(`[chromium] ${options.title}`, async () => {
    let session: Awaited<ReturnType<typeof openCaseModuleInChromium>>
    try {
      session = await openCaseModuleInChromium(options)
    } catch (error) {
      test('[chromium] set-up', () => {
        throw error
      })
      return
    }
    after(() => session.close())
    console.log(`[chromium] ${session.browserVersion}`)
    if (session.groups.every((group) => group.cases.length === 0)) {
      test('[chromium] the case module lists cases', () => {
        throw new Error(`export '${options.exportName}' gave no cases`)
      })
    }
    for (const [g, group] of session.groups.entries()) {
      describe(`[chromium] ${group.name}`, () => {
        for (const [c, name] of group.cases.entries()) {
          test(`[chromium] ${name}`, { timeout: perCase }, async () => {
            const result = await session.runCase(g, c)
            if (result.status !== 'passed') throw failureOf(result)
          })
        }
      })
    }
  })
}
