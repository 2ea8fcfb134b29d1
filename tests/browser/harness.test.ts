import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { BundleError } from './bundle-case-module.ts'
import { PASSING_LOG_LINE } from './fixtures/harness.cases.ts'
import { type LaunchedChromium, launchChromium } from './launch-chromium.ts'
import { BrowserHarnessError, DEFAULT_LAUNCH_TIMEOUT_MS, runCaseModuleInChromium } from './run-case-module.ts'

// Tests of the harness itself: a fixture module with passing, failing and hanging cases runs in
// Chromium, and every result is asserted here (the fixture's failures are expected). One browser
// is shared by the sessions of this file.

const FIXTURE = new URL('./fixtures/harness.cases.ts', import.meta.url)
let chromium: LaunchedChromium

before(async () => {
  chromium = await launchChromium(DEFAULT_LAUNCH_TIMEOUT_MS)
})

after(async () => {
  await chromium?.close()
})

test('runs each case in Chromium and reports pass, failure, timeout and logs per case', async () => {
  const logs: string[] = []
  const results = await runCaseModuleInChromium({
    entry: FIXTURE,
    exportName: 'harnessFixtureGroups',
    caseTimeoutMs: 1_500,
    chromium,
    log: (line) => logs.push(line),
  })
  const byName = new Map(results.map((r) => [r.name, r]))
  assert.equal(results.length, 6)
  assert.equal(byName.get('runs in the browser with WebCrypto and logs a line')?.status, 'passed')
  assert.deepEqual(byName.get('runs in the browser with WebCrypto and logs a line')?.logs, [PASSING_LOG_LINE])
  assert.ok(logs.includes(`[chromium] ${PASSING_LOG_LINE}`), 'env.log is forwarded to Node')
  assert.equal(byName.get('reads a vector file from the static server')?.status, 'passed')
  assert.equal(byName.get('refuses a path outside the vectors folder')?.status, 'passed')
  const failed = byName.get('fails with its own message')
  assert.equal(failed?.status, 'failed')
  assert.match(failed?.error?.message ?? '', /AssertionError: deliberate failure: expected 3, got 2/)
  assert.match(failed?.error?.stack ?? '', /bundle\.js:\d+ \(tests\/browser\/fixtures\/harness\.cases\.ts\)/)
  assert.equal(byName.get('never settles')?.status, 'timed-out')
  assert.equal(byName.get('still runs after a case that timed out')?.status, 'passed')
  assert.ok(chromium.browser.isConnected(), 'a shared browser stays open after its session')
})

test('a missing or wrong export is a load failure with its reason', async () => {
  await assert.rejects(
    runCaseModuleInChromium({ entry: FIXTURE, exportName: 'noSuchExport', chromium, log: () => undefined }),
    (error: unknown) =>
      error instanceof BrowserHarnessError && /no export named 'noSuchExport'/.test(error.message),
  )
  await assert.rejects(
    runCaseModuleInChromium({ entry: FIXTURE, exportName: 'notCaseGroups', chromium, log: () => undefined }),
    (error: unknown) =>
      error instanceof BrowserHarnessError && /did not give CaseGroup values/.test(error.message),
  )
})

test('a module that imports node: builtins does not bundle for the browser', async () => {
  await assert.rejects(
    runCaseModuleInChromium({ entry: new URL('../harness/node.ts', import.meta.url), exportName: 'nodeEnv' }),
    (error: unknown) => error instanceof BundleError && /node:/.test(error.message),
  )
})
