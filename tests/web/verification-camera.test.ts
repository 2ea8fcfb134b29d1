/**
 * Scanning the other person's verification QR code with the camera, in Debian's Chromium against
 * the real server process. Chromium's camera is its fake capture device playing a YUV4MPEG2 video
 * (`support/fake-camera.ts`) whose frames show a QR code rendered from the `qrcode` package's
 * module matrix: the page gets it through `getUserMedia` exactly as from a webcam, and the web
 * client decodes the frames itself (`packages/web/src/ui/qr-scan.ts`). Chromium reads the video
 * file at every capture start, so each scan below writes the code it should see first.
 *
 * Two browser users, alice and bob, start a chat; bob scans, in turn: a QR code that is not a
 * Tacit code (ignored, still looking), his own code, alice's code with a wrong second half, and
 * finally alice's real code — only the last marks alice verified. Alice's code reaches the test
 * from her screen ("Show your code as text"), as a person would read it, and the code drawn on
 * her screen is checked to be the same.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { BrowserContext, Page } from 'playwright-core'
import type { LaunchedChromium } from '../browser/launch-chromium.ts'
import { type E2eServer, startE2eServer } from '../e2e/support/server.ts'
import { launchChromiumWithCamera } from './support/camera-chromium.ts'
import { qrModules, writeQrCodeVideo } from './support/fake-camera.ts'
import {
  DESKTOP,
  navigate,
  register,
  STEP_TIMEOUT_MS,
  safetyNumberShown,
  startConversation,
} from './support/pages.ts'
import { buildWebApp, type WebBuild } from './support/web-build.ts'

const SUITE_TIMEOUT_MS = 12 * 60_000
const TEST_TIMEOUT_MS = 5 * 60_000
const LAUNCH_TIMEOUT_MS = 60_000
/** docs/protocol/verification.md §3: "TACV", version, two 32-byte fingerprints. */
const CODE_BYTES = 69
const FINGERPRINT_BYTES = 32

describe(
  'verification by scanning a QR code with the camera (Chromium, fake camera)',
  {
    timeout: SUITE_TIMEOUT_MS,
  },
  () => {
    let build: WebBuild | null = null
    let server: E2eServer | null = null
    let chromium: LaunchedChromium | null = null
    let work = ''
    let video = ''
    const contexts: BrowserContext[] = []
    let alice: Page
    let bob: Page
    const pageErrors: string[] = []
    const cspViolations: string[] = []

    async function newPage(): Promise<Page> {
      const context = await chromium!.browser.newContext({ viewport: DESKTOP })
      contexts.push(context)
      const page = await context.newPage()
      page.setDefaultTimeout(STEP_TIMEOUT_MS)
      page.on('pageerror', (e) => pageErrors.push(e.message))
      page.on('console', (m) => {
        if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) cspViolations.push(m.text())
      })
      return page
    }

    /** The verification code a page shows as text ("Show your code as text"), as bytes. */
    async function codeShown(page: Page): Promise<Uint8Array> {
      await page.getByText('Show your code as text').click()
      const hex = (await page.locator('.tc-code-text [data-code]').getAttribute('data-code')) ?? ''
      assert.match(hex, new RegExp(`^[0-9a-f]{${2 * CODE_BYTES}}$`))
      return Uint8Array.from(Buffer.from(hex, 'hex'))
    }

    /** Bob starts the camera with `payload`'s code in front of it. */
    async function startScan(payload: Uint8Array): Promise<void> {
      writeQrCodeVideo(video, payload)
      await bob.getByRole('button', { name: 'Scan their code' }).click()
      await bob.getByLabel('Camera view: point it at their code').waitFor()
    }

    async function verifiedTag(page: Page): Promise<string> {
      return ((await page.locator('h3 .tc-tag').textContent()) ?? '').trim()
    }

    before(async () => {
      work = mkdtempSync(join(tmpdir(), 'tacit-web-camera-'))
      video = join(work, 'camera.y4m')
      // Something to play until a scan writes the code it should see.
      writeQrCodeVideo(video, new TextEncoder().encode('placeholder'))
      build = await buildWebApp()
      server = await startE2eServer({ extraArgs: ['--web-dir', build.dir] })
      chromium = await launchChromiumWithCamera(video, LAUNCH_TIMEOUT_MS)
      alice = await newPage()
      bob = await newPage()
      // The page may use the camera without a prompt only where the test says so.
      await bob.context().grantPermissions(['camera'], { origin: server.url })
    })

    after(async () => {
      for (const c of contexts) await c.close().catch(() => undefined)
      await chromium?.close()
      await server?.stop()
      build?.remove()
      if (work !== '') rmSync(work, { recursive: true, force: true })
    })

    it('registers alice and bob, who start a chat', { timeout: TEST_TIMEOUT_MS }, async () => {
      await register(alice, {
        url: server!.url,
        invite: await server!.invite(),
        handle: 'alice',
        passphrase: 'alice camera passphrase',
      })
      await register(bob, {
        url: server!.url,
        invite: await server!.invite(),
        handle: 'bob',
        passphrase: 'bob camera passphrase',
      })
      await startConversation(alice, 'bob')
    })

    it(
      "refuses another QR code, bob's own code and a code with a wrong half; accepts alice's",
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        await navigate(alice, 'Verify')
        await alice.getByRole('list', { name: 'Contacts' }).getByRole('button', { name: /^bob/ }).click()
        const aliceSees = await safetyNumberShown(alice, 'bob')
        const aliceCode = await codeShown(alice)
        // The code drawn on alice's screen is the one her text shows (same modules, same size).
        const drawn = await alice
          .getByRole('img', { name: 'Your verification code for bob' })
          .getAttribute('viewBox')
        const expected = qrModules(aliceCode).size + 8
        assert.equal(drawn, `0 0 ${expected} ${expected}`)

        await navigate(bob, 'Verify')
        await bob
          .getByRole('list', { name: 'Contacts' })
          .getByRole('button', { name: /^alice/ })
          .click()
        assert.equal(await safetyNumberShown(bob, 'alice'), aliceSees)
        const bobCode = await codeShown(bob)
        assert.notDeepEqual(bobCode, aliceCode)
        assert.equal(await verifiedTag(bob), 'not verified')

        // 1. A QR code that is not a Tacit code: read, ignored, the camera keeps looking.
        await startScan(new TextEncoder().encode('https://example.org/not-a-verification-code'))
        await bob.locator('.tc-scanner output', { hasText: 'not a Tacit verification code' }).waitFor()
        await bob.getByRole('button', { name: 'Stop scanning' }).click()
        await bob.locator('.tc-scanner').waitFor({ state: 'detached' })
        assert.equal(await verifiedTag(bob), 'not verified')

        // 2. Bob's own code (his screen seen in a mirror): refused.
        await startScan(bobCode)
        assert.equal(await bob.locator('.tc-verify .tc-error').count(), 0)
        const refused = bob.locator('.tc-verify .tc-error', { hasText: 'NOT verified' })
        await refused.waitFor()
        await bob.locator('.tc-scanner').waitFor({ state: 'detached' })
        assert.equal(await verifiedTag(bob), 'not verified')

        // 3. Alice's fingerprint with a wrong second half (the one she should hold for bob): refused.
        const forged = Uint8Array.from(aliceCode)
        forged.set(randomBytes(FINGERPRINT_BYTES), CODE_BYTES - FINGERPRINT_BYTES)
        await startScan(forged)
        // Starting the camera cleared the last refusal: this one is the forged code's.
        assert.equal(await refused.count(), 0)
        await refused.waitFor()
        await bob.locator('.tc-scanner').waitFor({ state: 'detached' })
        assert.equal(await verifiedTag(bob), 'not verified')

        // 4. Alice's real code: verified, by the camera alone.
        await startScan(aliceCode)
        await bob.getByText('alice is verified.').waitFor()
        assert.equal(await verifiedTag(bob), 'verified')
        assert.equal(await bob.locator('.tc-scanner').count(), 0, 'the camera is off again')
        assert.deepEqual(pageErrors, [])
        assert.deepEqual(cspViolations, [])
      },
    )
  },
)
