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
 *    `--variants baseline,e2ee` runs only those configurations (more rounds in the same time);
 *    `--audio-ptime 20,40` runs each configuration at each audio packet time (default: the
 *    product's `CALL_AUDIO_PACKET_MS`, decision 0015). Each round starts one configuration later.
 *    Besides the pooled ratio it prints the ratio round by round with a 95 % interval, and the
 *    transform workers' own CPU, which varies far less between windows than the whole browser's.
 */
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { CALL_AUDIO_PACKET_MS } from '../packages/calls/src/audio-packet-time.ts'
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
/** `--name a,b,c`: the listed values, or undefined when the option is absent. */
function listOption(name: string): string[] | undefined {
  const at = process.argv.indexOf(`--${name}`)
  return at >= 0 ? (process.argv[at + 1] ?? '').split(',').filter((v) => v !== '') : undefined
}
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
const ALL_VARIANTS: readonly Variant[] = [
  'baseline',
  'passthrough',
  'copy',
  'aes-gcm',
  'e2ee',
  ...(compareWorker === undefined ? [] : ['e2ee-compare' as const]),
]
// `--variants baseline,e2ee`: fewer configurations, so more rounds fit in the same time.
const chosenVariants = listOption('variants')
const VARIANTS = ALL_VARIANTS.filter((v) => chosenVariants === undefined || chosenVariants.includes(v))
if (!VARIANTS.includes('baseline') || !VARIANTS.includes('e2ee'))
  throw new Error('--variants must include baseline and e2ee')
// `--audio-ptime 20,40`: every configuration at each audio packet time (the product's by default).
const PACKET_TIMES = (listOption('audio-ptime') ?? [String(CALL_AUDIO_PACKET_MS)]).map(Number)
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
  /** Audio packet time of the call (ms). */
  ptime: number
  cpuSeconds: number
  wallSeconds: number
  framesDecoded: number
  /** Mean received payload bytes per decoded video frame and per audio packet (protected size under E2EE). */
  videoBytesPerFrame: number
  audioBytesPerPacket: number
  audioPackets: number
  /** Received video size at the end of the window, and the sender's quality limitation then. */
  frameSize: string
  sendLimitation: string
  /** Seconds of the window the sender's video spent limited by CPU (resolution or rate lowered). */
  cpuLimitedSeconds: number
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
    const swapped =
      round % 2 === 1 && compareWorker !== undefined
        ? VARIANTS.map((v) => (v === 'e2ee' ? 'e2ee-compare' : v === 'e2ee-compare' ? 'e2ee' : v))
        : VARIANTS
    // Each round starts one configuration later, so none always runs first or last: a drift in the
    // browser's or the machine's CPU over the run spreads over all of them instead of one.
    const configs = swapped.flatMap((variant) => PACKET_TIMES.map((ptime) => ({ variant, ptime })))
    const order = configs.map((_, i) => configs[(i + round) % configs.length] as (typeof configs)[number])
    for (const { variant, ptime } of order) {
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
        audioPacketMs: ptime,
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
        ptime,
        cpuSeconds: cpuAfter.seconds - cpuBefore.seconds,
        wallSeconds,
        framesDecoded: stats.framesDecoded - decodedBefore,
        videoBytesPerFrame:
          (stats.videoBytes - before.videoBytes) / Math.max(1, stats.framesDecoded - decodedBefore),
        audioBytesPerPacket:
          (stats.audioBytes - before.audioBytes) / Math.max(1, stats.audioPackets - before.audioPackets),
        audioPackets: stats.audioPackets - before.audioPackets,
        frameSize: `${stats.frameWidth}x${stats.frameHeight}`,
        sendLimitation: stats.sendLimitation,
        cpuLimitedSeconds: stats.sendCpuLimitedSeconds - before.sendCpuLimitedSeconds,
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
  '| run | CPU-s per s of call | decoded frames per s | CPU-ms per decoded frame | B per video frame | B per audio packet | audio packets per s | video size | limited by (CPU-limited s) | processes |',
)
console.log('|---|---|---|---|---|---|---|---|---|---|')
for (const c of calls) {
  console.log(
    `| ${LABELS[c.variant]}${PACKET_TIMES.length > 1 ? `, ${c.ptime} ms audio` : ''} | ${fmt(c.cpuSeconds / c.wallSeconds, 3)} | ` +
      `${fmt(c.framesDecoded / c.wallSeconds)} | ${fmt((c.cpuSeconds * 1000) / Math.max(1, c.framesDecoded), 2)} | ` +
      `${fmt(c.videoBytesPerFrame, 0)} | ${fmt(c.audioBytesPerPacket, 0)} | ${fmt(c.audioPackets / c.wallSeconds)} | ${c.frameSize} | ${c.sendLimitation} (${fmt(c.cpuLimitedSeconds)}) | ${c.processes} |`,
  )
}
const types = [...new Set(calls.flatMap((c) => Object.keys(c.byType)))].sort()
console.log(`\nCPU-s per s of call by Chromium process type`)
console.log(`| run | ${types.join(' | ')} |`)
console.log(`|---|${types.map(() => '---|').join('')}`)
for (const c of calls) {
  const cells = types.map((t) => fmt((c.byType[t] ?? 0) / c.wallSeconds, 3))
  console.log(`| ${c.variant}${PACKET_TIMES.length > 1 ? ` ${c.ptime}` : ''} | ${cells.join(' | ')} |`)
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
  console.log(`| ${c.variant}${PACKET_TIMES.length > 1 ? ` ${c.ptime}` : ''} | ${cells.join(' | ')} |`)
}
/** Pooled CPU of a configuration over its windows at one audio packet time (undefined if not run). */
const total = (variant: Variant, ptime: number) => {
  const runs = calls.filter((c) => c.variant === variant && c.ptime === ptime)
  if (runs.length === 0) return undefined
  const cpu = runs.reduce((s, c) => s + c.cpuSeconds, 0)
  const wall = runs.reduce((s, c) => s + c.wallSeconds, 0)
  const frames = runs.reduce((s, c) => s + c.framesDecoded, 0)
  return { cpuPerSecond: cpu / wall, cpuMsPerFrame: (cpu * 1000) / Math.max(1, frames) }
}
/**
 * The E2EE ratio round by round (each round's E2EE window over its own baseline window), with the
 * mean and a 95 % confidence interval (Student's t): the spread between windows is as large as the
 * margin on this shared machine, so one pooled figure alone does not say how sure it is.
 */
const T_95 = [12.71, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145]
function roundRatios(variant: Variant, ptime: number): number[] {
  const of = (v: Variant) => calls.filter((c) => c.variant === v && c.ptime === ptime)
  const bases = of('baseline')
  return of(variant).map((c, i) => {
    const b = bases[i] as CallRun
    return c.cpuSeconds / c.wallSeconds / (b.cpuSeconds / b.wallSeconds)
  })
}
function interval(values: readonly number[]): { mean: number; low: number; high: number } | undefined {
  if (values.length < 2) return undefined
  const mean = values.reduce((a, b) => a + b, 0) / values.length
  const sd = Math.sqrt(values.reduce((a, r) => a + (r - mean) ** 2, 0) / (values.length - 1))
  const half = ((T_95[values.length - 2] ?? 1.96) * sd) / Math.sqrt(values.length)
  return { mean, low: mean - half, high: mean + half }
}
const ratios = PACKET_TIMES.map((ptime) => {
  const base = total('baseline', ptime) as { cpuPerSecond: number; cpuMsPerFrame: number }
  const e2ee = total('e2ee', ptime) as { cpuPerSecond: number; cpuMsPerFrame: number }
  const over = (variant: Variant) => {
    const t = total(variant, ptime)
    return t === undefined ? undefined : t.cpuPerSecond / base.cpuPerSecond
  }
  const perRound = roundRatios('e2ee', ptime)
  const compared = total('e2ee-compare', ptime)
  const e2eeRuns = calls.filter((c) => c.variant === 'e2ee' && c.ptime === ptime)
  const workerSeconds = e2eeRuns.reduce((sum, c) => sum + (c.rendererThreads.DedicatedWorker ?? 0), 0)
  return {
    ptime,
    perSecond: e2ee.cpuPerSecond / base.cpuPerSecond,
    perDecodedFrame: e2ee.cpuMsPerFrame / base.cpuMsPerFrame,
    perRound,
    interval: interval(perRound),
    /** CPU-s per s of call of the E2EE transform workers' threads (both sides). */
    e2eeWorkerCpuPerSecond: workerSeconds / e2eeRuns.reduce((sum, c) => sum + c.wallSeconds, 0),
    emptyTransformPerSecond: over('passthrough'),
    copyTransformPerSecond: over('copy'),
    rawAesGcmTransformPerSecond: over('aes-gcm'),
    comparedWorkerPerSecond: over('e2ee-compare'),
    e2eeOverComparedWorker: compared === undefined ? undefined : e2ee.cpuPerSecond / compared.cpuPerSecond,
  }
})
const ratioText = (r: number | undefined) => (r === undefined ? 'not run' : fmt(r, 3))
for (const r of ratios) {
  console.log(
    `\nAudio at ${r.ptime} ms per packet. E2EE / baseline CPU: ${fmt(r.perSecond, 3)} per second of call, ` +
      `${fmt(r.perDecodedFrame, 3)} per decoded frame (target ≤ 1.15: ${r.perSecond <= 1.15 ? 'met' : 'NOT met'}); ` +
      `empty transform / baseline: ${ratioText(r.emptyTransformPerSecond)}; ` +
      `copying transform / baseline: ${ratioText(r.copyTransformPerSecond)}; ` +
      `raw AES-GCM transform / baseline: ${ratioText(r.rawAesGcmTransformPerSecond)}; ` +
      `E2EE transform workers: ${fmt(r.e2eeWorkerCpuPerSecond, 3)} CPU-s per s of call`,
  )
  if (r.interval !== undefined)
    console.log(
      `E2EE / baseline by round: ${r.perRound.map((x) => fmt(x, 3)).join(', ')}; mean ${fmt(r.interval.mean, 3)}, ` +
        `95 % interval ${fmt(r.interval.low, 3)}–${fmt(r.interval.high, 3)}`,
    )
  if (r.comparedWorkerPerSecond !== undefined)
    console.log(
      `compared worker / baseline: ${fmt(r.comparedWorkerPerSecond, 3)} per second of call; ` +
        `E2EE / compared worker: ${ratioText(r.e2eeOverComparedWorker)}`,
    )
}
if (json) {
  console.log(
    JSON.stringify({
      node: process.version,
      chromium: media.version,
      frames: { node: nodeRows, chromium: browserRows },
      calls,
      ratios,
    }),
  )
}
