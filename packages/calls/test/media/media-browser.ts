import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { type Browser, chromium, type Page } from 'playwright-core'
import { CHROMIUM_ARGS, ensureChromium, withTimeout } from '../../../../tests/browser/launch-chromium.ts'
import { REPO_ROOT } from '../../../../tests/browser/paths.ts'

/**
 * Headless Chromium with a fake camera and microphone, for the media tests and the calls
 * benchmark. It bundles a page module and `src/transform-worker.ts` with esbuild and serves them
 * from 127.0.0.1 (a secure context). The page module's `new URL('./transform-worker.ts',
 * import.meta.url)` — the pattern Vite bundles in packages/web — resolves to the served worker.
 */

/** DESIGN §8: what headless Chromium needs for getUserMedia and a loopback peer connection. */
export const MEDIA_ARGS: readonly string[] = [
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
  // The receiver's audio is played out (silently) without a user gesture.
  '--autoplay-policy=no-user-gesture-required',
]

export const LAUNCH_TIMEOUT_MS = 30_000
export const CLOSE_TIMEOUT_MS = 10_000

const WORKER_ENTRY = fileURLToPath(new URL('../../src/transform-worker.ts', import.meta.url))
const PASSTHROUGH_ENTRY = fileURLToPath(new URL('./passthrough-worker.ts', import.meta.url))

const PAGE_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>tacit calls media</title></head>
<body><script type="module" src="/page.js"></script></body></html>
`

async function bundle(entry: string): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    tsconfig: `${REPO_ROOT}/tsconfig.json`,
    logLevel: 'silent',
    legalComments: 'none',
  })
  const output = result.outputFiles[0]
  if (output === undefined) throw new Error(`esbuild produced nothing for ${entry}`)
  return output.text
}

export interface MediaBrowser {
  readonly page: Page
  readonly browser: Browser
  readonly version: string
  close(): Promise<void>
}

/** The path a second transform worker is served at when `compareWorkerEntry` is given. */
export const COMPARE_WORKER_PATH = '/compare-transform-worker.js'

/**
 * Opens one page with `pageEntry` loaded; the page module must set `globalThis.tacitMediaReady = true`.
 * `compareWorkerEntry` (benchmark only): another build of `transform-worker.ts` (say, a checkout
 * of an earlier commit), served at COMPARE_WORKER_PATH so one run can interleave both.
 */
export async function openMediaPage(
  pageEntry: URL,
  log: (line: string) => void = () => undefined,
  compareWorkerEntry?: string,
): Promise<MediaBrowser> {
  const [pageJs, workerJs, passthroughJs, compareJs] = await Promise.all([
    bundle(fileURLToPath(pageEntry)),
    bundle(WORKER_ENTRY),
    bundle(PASSTHROUGH_ENTRY),
    compareWorkerEntry === undefined ? undefined : bundle(compareWorkerEntry),
  ])
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname
    const send = (type: string, body: string) => {
      // Cross-origin isolated, so performance.now() has 5 µs resolution (100 µs otherwise).
      response.writeHead(200, {
        'content-type': type,
        'cache-control': 'no-store',
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-embedder-policy': 'require-corp',
      })
      response.end(body)
    }
    if (path === '/') send('text/html; charset=utf-8', PAGE_HTML)
    else if (path === '/page.js') send('text/javascript; charset=utf-8', pageJs)
    else if (path === '/favicon.ico') response.writeHead(204).end()
    else if (path === '/passthrough-worker.js') send('text/javascript; charset=utf-8', passthroughJs)
    else if (path === '/transform-worker.ts') send('text/javascript; charset=utf-8', workerJs)
    else if (path === COMPARE_WORKER_PATH && compareJs !== undefined)
      send('text/javascript; charset=utf-8', compareJs)
    else {
      response.writeHead(404).end()
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const closeServer = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  let browser: Browser | undefined
  try {
    browser = await chromium.launch({
      executablePath: ensureChromium(),
      headless: true,
      args: [...CHROMIUM_ARGS, ...MEDIA_ARGS],
      timeout: LAUNCH_TIMEOUT_MS,
    })
    const context = await browser.newContext()
    const page = await context.newPage()
    page.on('console', (message) => log(`[chromium console.${message.type()}] ${message.text()}`))
    page.on('pageerror', (error) => log(`[chromium page error] ${error.message}`))
    const { port } = server.address() as AddressInfo
    await page.goto(`http://127.0.0.1:${port}/`, { waitUntil: 'load', timeout: LAUNCH_TIMEOUT_MS })
    await page.waitForFunction(
      () => (globalThis as { tacitMediaReady?: boolean }).tacitMediaReady === true,
      null,
      {
        timeout: LAUNCH_TIMEOUT_MS,
      },
    )
    const opened = browser
    return {
      page,
      browser: opened,
      version: opened.version(),
      async close() {
        await withTimeout(opened.close(), CLOSE_TIMEOUT_MS, 'closing Chromium').catch(() => undefined)
        await closeServer()
      },
    }
  } catch (error) {
    await browser?.close().catch(() => undefined)
    await closeServer()
    throw error
  }
}
