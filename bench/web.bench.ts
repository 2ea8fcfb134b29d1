/**
 * `npm run bench:web` — the web client in Debian's Chromium against a local server process
 * (DESIGN.md §9), each figure beside a baseline measured in the same run:
 *
 * - bundle: gzip size of what the first page loads — the HTML, the entry script and CSS it names
 *   (before the first screen shows), and every script and stylesheet the page fetched by the time
 *   the onboarding form is usable (the shell prefetches the SDK and the screens); and, apart, the
 *   scripts and styles left for later (loaded when a feature is first used: the QR decoder when
 *   the camera scans, …). Baseline: the Preact runtime alone (preact + hooks), the floor of any
 *   Preact app.
 * - unlock: from navigation to an unlocked conversation list (the passphrase typed as soon as the
 *   unlock form shows), split into load → form, and submit → list. The Argon2id part is measured
 *   on its own in the same page: a wrong passphrase fails only after Argon2id (m = 64 MiB, t = 3)
 *   and one AES-GCM open, so submit → error is the key derivation.
 * - render: a Node SDK process sends N messages as fast as it can into a group with the browser
 *   user (the conversation open on screen) and a second Node SDK process. Messages per second
 *   until all N are in the page's DOM, against the Node receiver's rate in the same run (no
 *   browser, no rendering) and the sender's own rate. Then a backlog: the page and the Node
 *   receiver are closed, N more are sent; the Node receiver reopens and drains them (baseline),
 *   then the page unlocks and the time until all N are in its DOM is measured.
 *
 * Flags: --json (the table goes to stderr, one JSON object on stdout's last line), --messages N
 * (default 200), --runs K (unlock repetitions, default 3).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import type { Page } from 'playwright-core'
import { launchChromium } from '../tests/browser/launch-chromium.ts'
import { Agent } from '../tests/e2e/support/agent-process.ts'
import { REPO_ROOT, startE2eServer } from '../tests/e2e/support/server.ts'
import {
  conversationsShown,
  onboardingShown,
  openConversation,
  register,
  STEP_TIMEOUT_MS,
  unlock,
  unlockShown,
} from '../tests/web/support/pages.ts'
import { buildWebApp } from '../tests/web/support/web-build.ts'

/** Messages sent in the render phase (each is one MLS message through the server). */
export const MAX_BENCH_MESSAGES = 1_000
const RENDER_TIMEOUT_MS = 10 * 60_000
const PASSPHRASE = 'bench passphrase for the web'

interface Options {
  json: boolean
  messages: number
  runs: number
}

function parseOptions(argv: readonly string[]): Options {
  const value = (name: string) => {
    const i = argv.indexOf(name)
    return i >= 0 ? argv[i + 1] : undefined
  }
  const messages = Number(value('--messages') ?? 200)
  const runs = Number(value('--runs') ?? 3)
  if (!Number.isInteger(messages) || messages < 1 || messages > MAX_BENCH_MESSAGES) {
    throw new Error(`--messages is 1..${MAX_BENCH_MESSAGES}`)
  }
  if (!Number.isInteger(runs) || runs < 1 || runs > 10) throw new Error('--runs is 1..10')
  return { json: argv.includes('--json'), messages, runs }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] ?? Number.NaN
}
const gzipBytes = (bytes: Uint8Array) => gzipSync(bytes).length
const round = (x: number, digits = 0) => Number(x.toFixed(digits))

function log(line: string): void {
  process.stderr.write(`${line}\n`)
}

/** Scripts and styles index.html names (they load before the first screen). */
function entryFiles(distDir: string): string[] {
  const html = readFileSync(join(distDir, 'index.html'), 'utf8')
  const out = new Set<string>()
  for (const m of html.matchAll(/<(?:script|link)\b[^>]*?(?:src|href)="(\/assets\/[^"]+\.(?:js|css))"/g))
    out.add(m[1]!)
  return [...out]
}

function preactBaseline(): number {
  const files = ['node_modules/preact/dist/preact.mjs', 'node_modules/preact/hooks/dist/hooks.mjs']
  return files.reduce((n, f) => n + gzipBytes(readFileSync(join(REPO_ROOT, f))), 0)
}

async function countMessages(page: Page, prefix: string): Promise<number> {
  return page.evaluate(
    (p) =>
      [...document.querySelectorAll('li.tc-msg .tc-text')].filter((e) => e.textContent?.startsWith(p)).length,
    prefix,
  )
}

async function waitForMessages(page: Page, prefix: string, n: number): Promise<void> {
  await page.waitForFunction(
    ([p, want]) =>
      [...document.querySelectorAll('li.tc-msg .tc-text')].filter((e) =>
        e.textContent?.startsWith(p as string),
      ).length >= (want as number),
    [prefix, n] as const,
    { timeout: RENDER_TIMEOUT_MS, polling: 20 },
  )
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2))
  const work = mkdtempSync(join(tmpdir(), 'tacit-bench-web-'))
  log(`bench:web — ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load ${loadavg()[0]?.toFixed(2)}`)
  const tBuild = performance.now()
  const build = await buildWebApp()
  const buildMs = performance.now() - tBuild
  const server = await startE2eServer({
    extraArgs: ['--web-dir', build.dir, '--rate-limit-device', 'off', '--rate-limit-address', 'off'],
  })
  const chromium = await launchChromium(60_000)
  const agents: Agent[] = []
  const cleanUp = async () => {
    for (const a of agents) await a.stop().catch(() => undefined)
    await chromium.close()
    await server.stop()
    build.remove()
    rmSync(work, { recursive: true, force: true })
  }
  // Ctrl-C or a timeout's SIGTERM still stops the server, browser and SDK processes started here.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void cleanUp().finally(() => process.exit(130))
    })
  }
  try {
    const context = await chromium.browser.newContext({ viewport: { width: 1280, height: 800 } })
    let page = await context.newPage()
    page.setDefaultTimeout(STEP_TIMEOUT_MS)

    // Bundle: what the browser fetched until the onboarding form is usable.
    const fetched = new Set<string>()
    page.on('response', (r) => {
      const path = new URL(r.url()).pathname
      if (/\.(js|css)$/.test(path)) fetched.add(path)
    })
    await page.goto(server.url)
    await onboardingShown(page)
    const entry = entryFiles(build.dir)
    const sizeOf = (paths: Iterable<string>) =>
      [...paths].reduce((n, p) => n + gzipBytes(readFileSync(join(build.dir, p))), 0)
    const htmlGzip = gzipBytes(readFileSync(join(build.dir, 'index.html')))
    // The rest of the build loads only when a feature is first used (the QR decoder on a scan, …).
    const onDemand = readdirSync(join(build.dir, 'assets'))
      .map((f) => `/assets/${f}`)
      .filter((p) => /\.(js|css)$/.test(p) && !fetched.has(p))
    const bundle = {
      firstScreenGzipBytes: htmlGzip + sizeOf(entry),
      firstScreenFiles: entry.length + 1,
      startupGzipBytes: htmlGzip + sizeOf(fetched),
      startupFiles: fetched.size + 1,
      onDemandGzipBytes: sizeOf(onDemand),
      onDemandFiles: onDemand.length,
      preactRuntimeGzipBytes: preactBaseline(),
    }

    // The browser user, and two Node SDK users in a group with it.
    await register(page, {
      url: server.url,
      invite: await server.invite(),
      handle: 'webuser',
      passphrase: PASSPHRASE,
    })
    const sender = await Agent.start('sender')
    const receiver = await Agent.start('receiver')
    agents.push(sender, receiver)
    for (const [agent, handle] of [
      [sender, 'sender'],
      [receiver, 'receiver'],
    ] as const) {
      await agent.call('create', {
        store: join(work, `${handle}.db`),
        serverUrl: server.url,
        invite: await server.invite(),
        handle,
      })
    }
    const { id } = await sender.call<{ id: string }>('createConversation', {
      members: ['webuser', 'receiver'],
      name: 'busy',
    })
    await receiver.call('sync')

    // Unlock: reload K times, the passphrase typed as soon as the form shows.
    const unlockRuns: { toFormMs: number; submitToListMs: number; totalMs: number; argon2Ms: number }[] = []
    for (let i = 0; i < o.runs; i++) {
      // Argon2id alone: a wrong passphrase is refused right after the key derivation.
      await page.reload()
      await unlockShown(page)
      const tWrong = performance.now()
      await unlock(page, 'not the passphrase')
      await page.locator('#unlock-error').waitFor()
      const argon2Ms = performance.now() - tWrong

      const t0 = performance.now()
      await page.reload()
      await unlockShown(page)
      const tForm = performance.now()
      await unlock(page, PASSPHRASE)
      await conversationsShown(page)
      await page.locator('.tc-conversation').first().waitFor()
      const tList = performance.now()
      unlockRuns.push({ toFormMs: tForm - t0, submitToListMs: tList - tForm, totalMs: tList - t0, argon2Ms })
    }
    const unlockResult = {
      runs: o.runs,
      navigationToListMs: round(median(unlockRuns.map((r) => r.totalMs))),
      loadToFormMs: round(median(unlockRuns.map((r) => r.toFormMs))),
      submitToListMs: round(median(unlockRuns.map((r) => r.submitToListMs))),
      argon2idMs: round(median(unlockRuns.map((r) => r.argon2Ms))),
    }

    // Render: N messages while the conversation is open.
    await openConversation(page, 'busy')
    const n = o.messages
    const t0 = performance.now()
    const sending = (async () => {
      for (let i = 0; i < n; i++) await sender.call('sendText', { id, text: `live ${i}` })
      return performance.now()
    })()
    const nodeDone = (async () => {
      for (;;) {
        const got = await receiver.call<unknown[]>('received', { id })
        if (got.filter((m) => (m as { text: string }).text.startsWith('live ')).length >= n)
          return performance.now()
        await new Promise((r) => setTimeout(r, 20))
      }
    })()
    await waitForMessages(page, 'live ', n)
    const tDom = performance.now()
    const tSent = await sending
    const tNode = await nodeDone
    const live = {
      messages: n,
      domPerSecond: round(n / ((tDom - t0) / 1000), 1),
      nodeSdkPerSecond: round(n / ((tNode - t0) / 1000), 1),
      senderPerSecond: round(n / ((tSent - t0) / 1000), 1),
      domLagAfterLastSendMs: round(tDom - tSent),
      inDom: await countMessages(page, 'live '),
    }

    // Backlog: the page and the Node receiver closed while N more arrive; then each opens and
    // drains them (the Node receiver first: the baseline without a browser).
    await page.close()
    await receiver.stop()
    for (let i = 0; i < n; i++) await sender.call('sendText', { id, text: `backlog ${i}` })
    const reopened = await Agent.start('receiver-again')
    agents.push(reopened)
    const tOpen = performance.now()
    await reopened.call('open', { store: join(work, 'receiver.db') })
    for (;;) {
      const got = await reopened.call<{ text: string }[]>('received', { id })
      if (got.filter((m) => m.text.startsWith('backlog ')).length >= n) break
      await new Promise((r) => setTimeout(r, 20))
    }
    const nodeBacklogMs = performance.now() - tOpen
    page = await context.newPage()
    page.setDefaultTimeout(STEP_TIMEOUT_MS)
    await page.goto(server.url)
    await unlock(page, PASSPHRASE)
    await conversationsShown(page)
    const tUnlocked = performance.now()
    await openConversation(page, 'busy')
    await waitForMessages(page, 'backlog ', n)
    const tBacklog = performance.now()
    const backlog = {
      messages: n,
      unlockToAllInDomMs: round(tBacklog - tUnlocked),
      perSecond: round(n / ((tBacklog - tUnlocked) / 1000), 1),
      nodeSdkOpenToAllMs: round(nodeBacklogMs),
      nodeSdkPerSecond: round(n / (nodeBacklogMs / 1000), 1),
    }

    const result = {
      machine: {
        cores: cpus().length,
        cpu: cpus()[0]?.model ?? '',
        node: process.version,
        chromium: chromium.version,
      },
      buildMs: round(buildMs),
      bundle,
      unlock: unlockResult,
      render: { live, backlog },
    }
    log('')
    log('bundle (gzip)                          bytes     files')
    log(
      `  first screen (html + entry js/css)   ${String(bundle.firstScreenGzipBytes).padStart(8)}  ${bundle.firstScreenFiles}`,
    )
    log(
      `  start-up (all fetched before form)   ${String(bundle.startupGzipBytes).padStart(8)}  ${bundle.startupFiles}`,
    )
    log(
      `  on first use only (not at start-up)  ${String(bundle.onDemandGzipBytes).padStart(8)}  ${bundle.onDemandFiles}`,
    )
    log(`  baseline: Preact runtime alone       ${String(bundle.preactRuntimeGzipBytes).padStart(8)}`)
    log('')
    log(`unlock (median of ${o.runs})                 ms`)
    log(`  navigation → unlocked list           ${String(unlockResult.navigationToListMs).padStart(8)}`)
    log(`    load → unlock form                 ${String(unlockResult.loadToFormMs).padStart(8)}`)
    log(`    submit → list                      ${String(unlockResult.submitToListMs).padStart(8)}`)
    log(`  Argon2id alone (wrong passphrase)    ${String(unlockResult.argon2idMs).padStart(8)}`)
    log('')
    log(`render, ${n} messages                   msg/s`)
    log(`  live, into the DOM                   ${String(live.domPerSecond).padStart(8)}`)
    log(`  baseline: Node SDK receiver          ${String(live.nodeSdkPerSecond).padStart(8)}`)
    log(`  sender (Node SDK)                    ${String(live.senderPerSecond).padStart(8)}`)
    log(`  backlog after unlock, into the DOM   ${String(backlog.perSecond).padStart(8)}`)
    log(`  baseline: Node SDK, open → all       ${String(backlog.nodeSdkPerSecond).padStart(8)}`)
    if (o.json) console.log(JSON.stringify(result))
  } finally {
    await cleanUp()
  }
}

await main()
