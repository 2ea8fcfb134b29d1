/**
 * Cost of call media encryption (SFrame, AES_256_GCM_SHA512_128). Not a test (timings belong in
 * benchmarks): run by hand with
 *   npm run bench:calls [-- --seconds 15] [-- --rounds 2] [-- --json]
 *
 * 1. Per frame, Node and Chromium: encrypt and decrypt p50/p95 of audio (160 B), video delta
 *    (1.2 KB) and video key frames (30 KB) through the real path (clear codec bytes, SFrame,
 *    replay window); baseline in the same run: WebCrypto AES-256-GCM of the same bytes.
 * 2. Browser CPU at 360p: a loopback call in one page (fake camera 640x360 at 30 fps and
 *    microphone, VP8 + Opus) in four configurations, alternating, `--rounds` times each: no
 *    transform (the baseline), an empty transform worker (the mechanism's own cost), a transform
 *    worker doing one raw WebCrypto AES-GCM per frame (the crypto floor), and E2EE (the SFrame
 *    worker). CPU is utime + stime of every Chromium process (the descendants of this Node
 *    process, from /proc/<pid>/stat) over a `--seconds` window after a warm-up: CPU-seconds, so
 *    the figure holds on a shared machine where wall time would not. Printed per second of call,
 *    per decoded frame and by process type, with the ratio E2EE / baseline (target: at most 1.15).
 *    `--compare-worker <path to a transform-worker.ts>` adds a fifth configuration, E2EE with that
 *    build of the worker (a checkout of an earlier commit, say), so a change is measured against
 *    its predecessor in the same run, round by round, rather than across runs on a shared machine.
 */
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { benchFrames, type FrameBenchRow } from '../packages/calls/test/media/frame-bench.ts'
import type { LoopbackOptions, TacitMediaApi } from '../packages/calls/test/media/loopback.page.ts'
import { COMPARE_WORKER_PATH, openMediaPage } from '../packages/calls/test/media/media-browser.ts'

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`)
  const value = at >= 0 ? Number(process.argv[at + 1]) : Number.NaN
  return Number.isFinite(value) && value > 0 ? value : fallback
}

const json = process.argv.includes('--json')
const compareAt = process.argv.indexOf('--compare-worker')
const compareWorker = compareAt >= 0 ? process.argv[compareAt + 1] : undefined
const seconds = option('seconds', 15)
const rounds = option('rounds', 2)
const warmupSeconds = 5
const ITERATIONS = 2000
const WARMUP = 200
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100

/** Chromium's process type from its command line (`--type=renderer`, ...); the browser has none. */
function processType(pid: number): string {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split(/[\0 ]/)
    const type = args.find((a) => a.startsWith('--type='))?.slice('--type='.length) ?? 'browser'
    const service = args
      .find((a) => a.startsWith('--utility-sub-type='))
      ?.split('.')
      .pop()
    return service === undefined ? type : `${type}:${service}`
  } catch {
    return 'gone'
  }
}

/**
 * CPU seconds of the renderer's threads, by thread name (`/proc/<pid>/task/<tid>/comm`, digits
 * dropped so numbered pool threads add up): shows whether a configuration's extra CPU lands in the
 * transform worker, the WebRTC threads or elsewhere, with less noise than the process totals.
 */
function rendererThreadSeconds(pid: number, into: Map<string, number>): void {
  let tids: string[]
  try {
    tids = readdirSync(`/proc/${pid}/task`)
  } catch {
    return
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/[\d/]+$/, '')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const seconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
      into.set(name, (into.get(name) ?? 0) + seconds)
    } catch {
      // The thread ended between the listing and the read.
    }
  }
}

/** CPU seconds (user + system) of every descendant of this process (Chromium's), by process type. */
function chromiumCpuSeconds(): {
  seconds: number
  processes: number
  byType: Map<string, number>
  rendererThreads: Map<string, number>
} {
  const parentOf = new Map<number, number>()
  const ticksOf = new Map<number, number>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let stat: string
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
    } catch {
      continue
    }
    // Fields after the parenthesised command name: state ppid ... utime(14) stime(15).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    parentOf.set(Number(entry), Number(fields[1]))
    ticksOf.set(Number(entry), Number(fields[11]) + Number(fields[12]))
  }
  let ticks = 0
  let processes = 0
  const byType = new Map<string, number>()
  const rendererThreads = new Map<string, number>()
  for (const [pid, ticksUsed] of ticksOf) {
    let ancestor = parentOf.get(pid)
    for (let depth = 0; ancestor !== undefined && ancestor > 1 && depth < 64; depth++) {
      if (ancestor === process.pid) {
        ticks += ticksUsed
        processes++
        const type = processType(pid)
        byType.set(type, (byType.get(type) ?? 0) + ticksUsed / CLOCK_TICKS)
        if (type === 'renderer') rendererThreadSeconds(pid, rendererThreads)
        break
      }
      ancestor = parentOf.get(ancestor)
    }
  }
  return { seconds: ticks / CLOCK_TICKS, processes, byType, rendererThreads }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const fmt = (n: number, digits = 1) => n.toFixed(digits)

function printFrames(where: string, rows: readonly FrameBenchRow[]): void {
  console.log(`\nper-frame cost in ${where} (µs; ${rows[0]?.iterations} frames each)`)
  console.log(
    '| frame | encrypt p50 / p95 | decrypt p50 / p95 | baseline AES-GCM seal p50 / p95 | encrypt p50 ÷ baseline |',
  )
  console.log('|---|---|---|---|---|')
  for (const r of rows) {
    console.log(
      `| ${r.name} | ${fmt(r.encrypt.p50)} / ${fmt(r.encrypt.p95)} | ${fmt(r.decrypt.p50)} / ${fmt(r.decrypt.p95)} | ` +
        `${fmt(r.baselineSeal.p50)} / ${fmt(r.baselineSeal.p95)} | ${fmt(r.encrypt.p50 / r.baselineSeal.p50, 2)} |`,
    )
  }
}

const nodeCpuBefore = process.cpuUsage()
const nodeRows = await benchFrames(ITERATIONS, WARMUP)
const nodeCpu = process.cpuUsage(nodeCpuBefore)
printFrames(`Node ${process.version}`, nodeRows)
console.log(`(Node CPU for the whole per-frame run: ${fmt((nodeCpu.user + nodeCpu.system) / 1e6, 2)} s)`)

const media = await openMediaPage(
  new URL('../packages/calls/test/media/loopback.page.ts', import.meta.url),
  undefined,
  compareWorker === undefined ? undefined : resolve(compareWorker),
)
type Variant = 'baseline' | 'passthrough' | 'copy' | 'aes-gcm' | 'e2ee' | 'e2ee-compare'
const VARIANTS: readonly Variant[] = [
  'baseline',
  'passthrough',
  'copy',
  'aes-gcm',
  'e2ee',
  ...(compareWorker === undefined ? [] : ['e2ee-compare' as const]),
]
const LABELS: Record<Variant, string> = {
  baseline: 'baseline (no transform)',
  passthrough: 'empty transform worker (mechanism only)',
  copy: 'transform worker writing a copy of each frame back (no crypto)',
  'aes-gcm': 'transform worker + raw AES-GCM of each frame',
  e2ee: 'E2EE (SFrame worker)',
  'e2ee-compare': `E2EE, compared worker (${compareWorker})`,
}
type CallRun = {
  variant: Variant
  cpuSeconds: number
  wallSeconds: number
  framesDecoded: number
  /** Mean received payload bytes per decoded video frame and per audio packet (protected size under E2EE). */
  videoBytesPerFrame: number
  audioBytesPerPacket: number
  processes: number
  byType: Record<string, number>
  rendererThreads: Record<string, number>
}
const calls: CallRun[] = []
let browserRows: FrameBenchRow[] = []
try {
  const api = <K extends keyof TacitMediaApi>(method: K, arg?: unknown) =>
    media.page.evaluate(
      ([name, argument]) =>
        (globalThis as unknown as { tacitMedia: Record<string, (a?: unknown) => unknown> }).tacitMedia[name]!(
          argument,
        ),
      [method, arg] as const,
    ) as Promise<Awaited<ReturnType<TacitMediaApi[K]>>>
  browserRows = await api('benchFrames', { iterations: ITERATIONS, warmup: WARMUP })
  printFrames(`Chromium ${media.version} (page main thread)`, browserRows)

  for (let round = 0; round < rounds; round++) {
    // With a compared worker, the two E2EE runs swap places every round (neither always runs last).
    const order =
      round % 2 === 1 && compareWorker !== undefined
        ? VARIANTS.map((v) => (v === 'e2ee' ? 'e2ee-compare' : v === 'e2ee-compare' ? 'e2ee' : v))
        : VARIANTS
    for (const variant of order) {
      const e2ee = variant === 'e2ee' || variant === 'e2ee-compare'
      const options: LoopbackOptions = {
        e2ee,
        ...(variant === 'e2ee-compare' ? { workerUrl: COMPARE_WORKER_PATH } : {}),
        ...(variant === 'passthrough' ? { passthrough: 'empty' as const } : {}),
        ...(variant === 'copy' ? { passthrough: 'copy' as const } : {}),
        ...(variant === 'aes-gcm' ? { passthrough: 'aes-gcm' as const } : {}),
        width: 640,
        height: 360,
        frameRate: 30,
        secret: 1,
      }
      await api('start', options)
      await sleep(warmupSeconds * 1000)
      const before = await api('inbound')
      const decodedBefore = before.framesDecoded
      const cpuBefore = chromiumCpuSeconds()
      const wallBefore = performance.now()
      await sleep(seconds * 1000)
      const cpuAfter = chromiumCpuSeconds()
      const wallSeconds = (performance.now() - wallBefore) / 1000
      const stats = await api('inbound')
      if (e2ee) {
        const counters = await api('e2eeStats')
        if ((counters.bob?.decrypted ?? 0) === 0) throw new Error('E2EE run decrypted nothing')
      }
      await api('close')
      calls.push({
        variant,
        cpuSeconds: cpuAfter.seconds - cpuBefore.seconds,
        wallSeconds,
        framesDecoded: stats.framesDecoded - decodedBefore,
        videoBytesPerFrame:
          (stats.videoBytes - before.videoBytes) / Math.max(1, stats.framesDecoded - decodedBefore),
        audioBytesPerPacket:
          (stats.audioBytes - before.audioBytes) / Math.max(1, stats.audioPackets - before.audioPackets),
        processes: cpuAfter.processes,
        byType: Object.fromEntries(
          [...cpuAfter.byType].map(([type, cpu]) => [type, cpu - (cpuBefore.byType.get(type) ?? 0)]),
        ),
        rendererThreads: Object.fromEntries(
          [...cpuAfter.rendererThreads].map(([name, cpu]) => [
            name,
            cpu - (cpuBefore.rendererThreads.get(name) ?? 0),
          ]),
        ),
      })
    }
  }
} finally {
  await media.close()
}

console.log(
  `\nChromium CPU, loopback call at 640x360, 30 fps, VP8 + Opus (${seconds} s windows, ${rounds} rounds)`,
)
console.log(
  '| run | CPU-s per s of call | decoded frames per s | CPU-ms per decoded frame | B per video frame | B per audio packet | processes |',
)
console.log('|---|---|---|---|---|---|---|')
for (const c of calls) {
  console.log(
    `| ${LABELS[c.variant]} | ${fmt(c.cpuSeconds / c.wallSeconds, 3)} | ` +
      `${fmt(c.framesDecoded / c.wallSeconds)} | ${fmt((c.cpuSeconds * 1000) / Math.max(1, c.framesDecoded), 2)} | ` +
      `${fmt(c.videoBytesPerFrame, 0)} | ${fmt(c.audioBytesPerPacket, 0)} | ${c.processes} |`,
  )
}
const types = [...new Set(calls.flatMap((c) => Object.keys(c.byType)))].sort()
console.log(`\nCPU-s per s of call by Chromium process type`)
console.log(`| run | ${types.join(' | ')} |`)
console.log(`|---|${types.map(() => '---|').join('')}`)
for (const c of calls) {
  const cells = types.map((t) => fmt((c.byType[t] ?? 0) / c.wallSeconds, 3))
  console.log(`| ${c.variant} | ${cells.join(' | ')} |`)
}
// Renderer threads that used at least 2 ms of CPU per second in some window, busiest first.
const threadTotals = new Map<string, number>()
for (const c of calls)
  for (const [name, cpu] of Object.entries(c.rendererThreads))
    threadTotals.set(name, Math.max(threadTotals.get(name) ?? 0, cpu / c.wallSeconds))
const threads = [...threadTotals]
  .filter(([, perSecond]) => perSecond >= 0.002)
  .sort((a, b) => b[1] - a[1])
  .map(([name]) => name)
console.log(`\nCPU-s per s of call by renderer thread (name without digits)`)
console.log(`| run | ${threads.join(' | ')} |`)
console.log(`|---|${threads.map(() => '---|').join('')}`)
for (const c of calls) {
  const cells = threads.map((t) => fmt((c.rendererThreads[t] ?? 0) / c.wallSeconds, 3))
  console.log(`| ${c.variant} | ${cells.join(' | ')} |`)
}
const total = (variant: Variant) => {
  const runs = calls.filter((c) => c.variant === variant)
  const cpu = runs.reduce((s, c) => s + c.cpuSeconds, 0)
  const wall = runs.reduce((s, c) => s + c.wallSeconds, 0)
  const frames = runs.reduce((s, c) => s + c.framesDecoded, 0)
  return { cpuPerSecond: cpu / wall, cpuMsPerFrame: (cpu * 1000) / Math.max(1, frames) }
}
const base = total('baseline')
const mechanism = total('passthrough')
const rawAes = total('aes-gcm')
const copy = total('copy')
const e2ee = total('e2ee')
const ratio = e2ee.cpuPerSecond / base.cpuPerSecond
const ratioPerFrame = e2ee.cpuMsPerFrame / base.cpuMsPerFrame
const mechanismRatio = mechanism.cpuPerSecond / base.cpuPerSecond
console.log(
  `\nE2EE / baseline CPU: ${fmt(ratio, 3)} per second of call, ${fmt(ratioPerFrame, 3)} per decoded frame ` +
    `(target ≤ 1.15: ${ratio <= 1.15 ? 'met' : 'NOT met'}); empty transform / baseline: ${fmt(mechanismRatio, 3)}; ` +
    `E2EE / empty transform: ${fmt(e2ee.cpuPerSecond / mechanism.cpuPerSecond, 3)}; ` +
    `copying transform / baseline: ${fmt(copy.cpuPerSecond / base.cpuPerSecond, 3)}; ` +
    `raw AES-GCM transform / baseline: ${fmt(rawAes.cpuPerSecond / base.cpuPerSecond, 3)}`,
)
if (compareWorker !== undefined) {
  const compared = total('e2ee-compare')
  console.log(
    `compared worker / baseline: ${fmt(compared.cpuPerSecond / base.cpuPerSecond, 3)} per second of call, ` +
      `${fmt(compared.cpuMsPerFrame / base.cpuMsPerFrame, 3)} per decoded frame; ` +
      `E2EE / compared worker: ${fmt(e2ee.cpuPerSecond / compared.cpuPerSecond, 3)}`,
  )
}
if (json) {
  console.log(
    JSON.stringify({
      node: process.version,
      chromium: media.version,
      frames: { node: nodeRows, chromium: browserRows },
      calls,
      ratio: {
        perSecond: ratio,
        perDecodedFrame: ratioPerFrame,
        emptyTransformPerSecond: mechanismRatio,
        copyTransformPerSecond: copy.cpuPerSecond / base.cpuPerSecond,
        rawAesGcmTransformPerSecond: rawAes.cpuPerSecond / base.cpuPerSecond,
      },
    }),
  )
}
