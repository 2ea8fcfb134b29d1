/**
 * Debian's Chromium with a fake camera (tests/web/support/fake-camera.ts): the harness's flags
 * (`CHROMIUM_ARGS`: headless, no sandbox, no GPU, no QUIC, nothing in the background) plus the
 * fake-capture flags, through playwright-core's `launchServer` so a hung close can be killed.
 * Playwright gives the launch a fresh temporary profile and deletes it on close.
 */
import { type Browser, type BrowserServer, chromium } from 'playwright-core'
import {
  CHROMIUM_ARGS,
  ChromiumUnavailableError,
  CLOSE_TIMEOUT_MS,
  ensureChromium,
  type LaunchedChromium,
  withTimeout,
} from '../../browser/launch-chromium.ts'
import { fakeCameraArgs } from './fake-camera.ts'

async function closeServer(server: BrowserServer): Promise<void> {
  try {
    await withTimeout(server.close(), CLOSE_TIMEOUT_MS, 'closing Chromium')
  } catch {
    await withTimeout(server.kill(), CLOSE_TIMEOUT_MS, 'killing Chromium').catch(() => undefined)
  }
}

/** Chromium whose only camera plays `videoPath` (re-read at every capture start). */
export async function launchChromiumWithCamera(
  videoPath: string,
  timeoutMs: number,
): Promise<LaunchedChromium> {
  const executablePath = ensureChromium()
  let server: BrowserServer
  try {
    server = await chromium.launchServer({
      executablePath,
      headless: true,
      args: [...CHROMIUM_ARGS, ...fakeCameraArgs(videoPath)],
      timeout: timeoutMs,
    })
  } catch (error) {
    throw new ChromiumUnavailableError(`Chromium at ${executablePath} did not start: ${String(error)}`, {
      cause: error,
    })
  }
  let browser: Browser
  try {
    browser = await chromium.connect(server.wsEndpoint(), { timeout: timeoutMs })
  } catch (error) {
    await closeServer(server)
    throw error
  }
  return {
    browser,
    version: browser.version(),
    async close() {
      await withTimeout(browser.close(), CLOSE_TIMEOUT_MS, 'disconnecting from Chromium').catch(
        () => undefined,
      )
      await closeServer(server)
    },
  }
}
