/**
 * The web client's first end-to-end check, in Debian's Chromium through playwright-core: the real
 * server process serves a fresh production build at `/`; a new browser profile opens it,
 * registers with an invite, and after a reload is asked for its passphrase (a wrong one is
 * refused) and finds its account. On the way: the page runs under the server's CSP without a
 * single violation, the first page's transferred size is measured, and IndexedDB — read raw from
 * the page — holds neither the handle, the invite nor the passphrase.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import type { BrowserContext, Page, Response } from 'playwright-core'
import { type LaunchedChromium, launchChromium } from '../browser/launch-chromium.ts'
import { type E2eServer, startE2eServer } from '../e2e/support/server.ts'
import { buildWebApp, type WebBuild } from './support/web-build.ts'

const SUITE_TIMEOUT_MS = 8 * 60_000
const LAUNCH_TIMEOUT_MS = 60_000
/** Argon2id at its default cost (64 MiB, t = 3) runs in the page, in JavaScript, on a busy machine. */
const STEP_TIMEOUT_MS = 120_000
/** Two derivations at most per test (a wrong passphrase, then the right one). */
const TEST_TIMEOUT_MS = 3 * STEP_TIMEOUT_MS
const PASSPHRASE = 'smoke test passphrase 93c1'
/** The IndexedDB database of the web client's store (DEFAULT_DATABASE_NAME). */
const STORE_DATABASE = 'tacit-store'

/**
 * Runs in the page: every key and value of every object store of the database, flattened to
 * bytes, searched for each needle as UTF-8, hex (both cases) and base64. Anything that is not
 * bytes, a string or a number fails the scan instead of escaping it.
 */
const SCAN_INDEXEDDB = `async function (name, needles) {
  const req = (r) => new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error) })
  const db = await req(indexedDB.open(name))
  const parts = []
  const flatten = (v) => {
    if (v instanceof Uint8Array) parts.push(v)
    else if (v instanceof ArrayBuffer) parts.push(new Uint8Array(v))
    else if (Array.isArray(v)) v.forEach(flatten)
    else if (typeof v === 'string' || typeof v === 'number') parts.push(new TextEncoder().encode(String(v)))
    else throw new Error('unexpected value in IndexedDB: ' + typeof v)
  }
  let rows = 0
  for (const storeName of [...db.objectStoreNames]) {
    const store = db.transaction(storeName, 'readonly').objectStore(storeName)
    const keys = await req(store.getAllKeys())
    const values = await req(store.getAll())
    keys.forEach(flatten)
    values.forEach(flatten)
    rows += values.length
  }
  db.close()
  // Latin-1: one character per byte, so includes() finds byte sequences.
  const haystack = parts.map((p) => Array.from(p, (b) => String.fromCharCode(b)).join('')).join('\u0000')
  const hex = (s) => Array.from(new TextEncoder().encode(s), (b) => b.toString(16).padStart(2, '0')).join('')
  const b64 = (s) => btoa(String.fromCharCode(...new TextEncoder().encode(s))).replace(/=+$/, '')
  const hits = needles.flatMap((n) => [n, hex(n), hex(n).toUpperCase(), b64(n)].filter((f) => haystack.includes(f)).map(() => n))
  return { rows, hits }
}`

describe('web client smoke test in Chromium', { timeout: SUITE_TIMEOUT_MS }, () => {
  let build: WebBuild | null = null
  let server: E2eServer | null = null
  let chromium: LaunchedChromium | null = null
  let context: BrowserContext | null = null
  let page: Page
  const cspViolations: string[] = []
  const pageErrors: string[] = []
  const handle = `smoke${randomBytes(3).toString('hex')}`
  let invite = ''

  before(async () => {
    build = await buildWebApp()
    server = await startE2eServer({ extraArgs: ['--web-dir', build.dir, '--rate-limit-address', 'off'] })
    invite = await server.invite()
    chromium = await launchChromium(LAUNCH_TIMEOUT_MS)
    context = await chromium.browser.newContext()
    page = await context.newPage()
    page.setDefaultTimeout(STEP_TIMEOUT_MS)
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text())
    })
    page.on('pageerror', (e) => pageErrors.push(e.message))
  })

  after(async () => {
    await context?.close().catch(() => undefined)
    await chromium?.close()
    await server?.stop()
    build?.remove()
  })

  it(
    'serves the app at / under a strict CSP and measures the first page',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const transferred = new Map<string, number>()
      const onResponse = async (r: Response) => {
        const sizes = await r
          .request()
          .sizes()
          .catch(() => null)
        if (sizes !== null) transferred.set(new URL(r.url()).pathname, sizes.responseBodySize)
      }
      page.on('response', onResponse)
      const response = await page.goto(server!.url, { waitUntil: 'load' })
      assert.ok(response)
      assert.equal(response.status(), 200)
      const csp = (await response.allHeaders())['content-security-policy'] ?? ''
      assert.match(csp, /default-src 'none'/)
      assert.match(csp, /script-src 'self'(;|$)/)
      await page.locator('form[data-screen="onboarding"]').waitFor()
      page.off('response', onResponse)
      // What the browser fetched before the first screen: the page, the shell and whatever chunks
      // it requested meanwhile (the SDK chunk is requested at start-up, in the background).
      const lines = [...transferred.entries()].map(([path, bytes]) => `${path} ${bytes} B`)
      console.log(`[web] transferred before the onboarding screen:\n  ${lines.join('\n  ')}`)
      assert.ok(transferred.has('/'), 'the page itself was fetched')
    },
  )

  it('registers with an invite', { timeout: TEST_TIMEOUT_MS }, async () => {
    await page.getByLabel('Invite code').fill(invite)
    await page.locator('input[name="handle"]').fill(handle)
    const passwords = page.locator('input[type="password"]')
    await passwords.nth(0).fill(PASSPHRASE)
    await passwords.nth(1).fill(PASSPHRASE)
    await page.getByRole('button', { name: 'Create account' }).click()
    await page.getByRole('heading', { name: 'Conversations' }).waitFor()
    await page.getByText(handle).first().waitFor()
    assert.equal(await page.locator('form[data-screen="onboarding"]').count(), 0, 'onboarding is done')
  })

  it('keeps nothing readable in IndexedDB', { timeout: TEST_TIMEOUT_MS }, async () => {
    const needles = [handle, invite, PASSPHRASE]
    // A string, not a function: tsx's helpers (`__name`) do not exist in the page.
    const found = (await page.evaluate(
      `(${SCAN_INDEXEDDB})(${JSON.stringify(STORE_DATABASE)}, ${JSON.stringify(needles)})`,
    )) as {
      rows: number
      hits: string[]
    }
    assert.ok(found.rows > 5, `the store holds the account's records (${found.rows} rows)`)
    assert.deepEqual(found.hits, [], 'plaintexts found in IndexedDB')
    // Control: the same scan over a database holding the needles as plain bytes finds each one.
    await page.evaluate(`new Promise((resolve, reject) => {
      const needles = ${JSON.stringify(needles)};
      const r = indexedDB.open('smoke-control', 1);
      r.onupgradeneeded = () => r.result.createObjectStore('plain');
      r.onerror = () => reject(r.error);
      r.onsuccess = () => {
        try {
          const tx = r.result.transaction('plain', 'readwrite');
          needles.forEach((n, i) => tx.objectStore('plain').put(new TextEncoder().encode(n), i));
          tx.oncomplete = () => { r.result.close(); resolve(); };
          tx.onerror = () => reject(tx.error);
        } catch (e) {
          reject(e);
        }
      };
    })`)
    const control = (await page.evaluate(
      `(${SCAN_INDEXEDDB})('smoke-control', ${JSON.stringify(needles)})`,
    )) as {
      hits: string[]
    }
    assert.deepEqual([...new Set(control.hits)].sort(), [...needles].sort(), 'the scan finds plain needles')
    await page.evaluate(
      `new Promise((resolve) => { indexedDB.deleteDatabase('smoke-control').onsuccess = resolve })`,
    )
  })

  it(
    'after a reload asks for the passphrase, refuses a wrong one, and opens the account',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      await page.reload({ waitUntil: 'load' })
      const unlockForm = page.locator('form[data-screen="unlock"]')
      await unlockForm.waitFor()
      assert.equal(
        await page.locator('form[data-screen="onboarding"]').count(),
        0,
        'no onboarding after a reload',
      )
      const field = unlockForm.locator('input[type="password"]')
      await field.fill('not the passphrase')
      await page.getByRole('button', { name: 'Unlock', exact: true }).click()
      await page.getByRole('alert').first().waitFor()
      assert.equal(await unlockForm.count(), 1, 'still locked after a wrong passphrase')
      await field.fill(PASSPHRASE)
      await page.getByRole('button', { name: 'Unlock', exact: true }).click()
      await page.getByRole('heading', { name: 'Conversations' }).waitFor()
      await page.getByText(handle).first().waitFor()
      assert.equal(await unlockForm.count(), 0, 'unlocked')
    },
  )

  it('ran without a CSP violation or an uncaught error', { timeout: TEST_TIMEOUT_MS }, () => {
    assert.deepEqual(cspViolations, [])
    assert.deepEqual(pageErrors, [])
  })
})
