import { spawnSync } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { join } from 'node:path'
import { type Browser, type BrowserServer, chromium } from 'playwright-core'
import { REPO_ROOT, resolveChromiumPath } from './paths.ts'

/**
 * Starts Debian's Chromium through playwright-core. `launchServer` (not `launch`) so that the
 * harness holds the browser process and can kill it when a graceful close hangs; Playwright gives
 * every launch a fresh temporary profile and deletes it on close.
 */

export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** Bound on `scripts/setup-machine.sh` (an apt-get install of chromium). */
export const SETUP_TIMEOUT_MS = 10 * 60_000
/** Bound on a graceful close before the process is killed. */
export const CLOSE_TIMEOUT_MS = 10_000

export class ChromiumUnavailableError extends Error {
  override readonly name = 'ChromiumUnavailableError'
}

export interface LaunchedChromium {
  readonly browser: Browser
  readonly version: string
  close(): Promise<void>
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/**
 * Returns the Chromium executable, running `scripts/setup-machine.sh` (which apt-installs Debian's
 * chromium when run as root) if it is missing; throws a message that says what to install.
 */
export function ensureChromium(): string {
  const path = resolveChromiumPath()
  if (isExecutable(path)) return path
  const script = join(REPO_ROOT, 'scripts', 'setup-machine.sh')
  const setup = spawnSync('bash', [script], { encoding: 'utf8', timeout: SETUP_TIMEOUT_MS })
  if (isExecutable(path)) return path
  const detail = (setup.stderr || setup.stdout || setup.error?.message || '').trim()
  throw new ChromiumUnavailableError(
    `Chromium was not found at ${path}. Install Debian's chromium (as root: apt-get install chromium, ` +
      `or run scripts/setup-machine.sh), or set TACIT_CHROMIUM to a Chromium executable.` +
      (detail === '' ? '' : `\nsetup-machine.sh said: ${detail}`),
  )
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

async function closeServer(server: BrowserServer): Promise<void> {
  try {
    await withTimeout(server.close(), CLOSE_TIMEOUT_MS, 'closing Chromium')
  } catch {
    await withTimeout(server.kill(), CLOSE_TIMEOUT_MS, 'killing Chromium').catch(() => undefined)
  }
}

/** Chromium with the harness's flags plus `extraArgs` (fake devices for the camera and call tests). */
export async function launchChromium(
  timeoutMs: number,
  extraArgs: readonly string[] = [],
): Promise<LaunchedChromium> {
  const executablePath = ensureChromium()
  let server: BrowserServer
  try {
    server = await chromium.launchServer({
      executablePath,
      headless: true,
      args: [...CHROMIUM_ARGS, ...extraArgs],
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
