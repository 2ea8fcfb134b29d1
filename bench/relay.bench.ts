/**
 * `npm run bench:relay` — how many envelopes a server relays, durably, against a plain `ws`
 * relay with no storage measured in the same run (DESIGN.md §9).
 *
 * Each server runs as its own process; the load generators run in others (relay-load.ts, two by
 * default, each with half of the clients and half of the offered rate), so all are measured
 * apart: the server's CPU from /proc/<pid>/stat, each generator's by itself, PostgreSQL's from its
 * processes' /proc entries. Every phase starts at one wall-clock instant for all of them. For each
 * server and envelope size:
 *   throughput  closed loop, `WINDOW` unacknowledged sends per client: delivered envelopes/s
 *   latency     open loop at a fixed offered rate (5,000/s): p50/p99 from scheduled send to
 *               delivery, the generators' own send lag (genLag99) and the p99 without it (p99send)
 * Ratios are per server CPU-second, so a generator that shares the machine's two cores with the
 * server does not flatter or penalise either side. The run ends with a verdict on each of issue
 * #3's targets, the ceiling's own figure beside the absolute ones (relay-targets.ts).
 *
 * Flags: --json (one JSON object on the last line), --clients N, --servers ceiling,sqlite,postgres (or postgres-nats: with NATS and a peer that keeps dying),
 * --measure-ms N, --sizes 256,4096, --rate N (offered rate of the latency phase; 5,000 by default,
 * the issue's figure — a lower one measures CPU per envelope on a machine too loaded for 5,000/s),
 * --modes throughput,rate, --generators N (load generator processes, 2 by default), --window N
 * (closed loop: unacknowledged sends per client, 8 by default, at most 64), --warmup-ms N
 * (3,000 by default), --timeline-ms N (rate mode: also p50/p99/max by scheduled send time, in
 * windows of N ms, to see where in a run the tail comes from; with a long --measure-ms, a sustained
 * load's periodic stalls).
 * Env: TACIT_SERVER_NODE_FLAGS (server process), TACIT_LOAD_NODE_FLAGS (generator processes).
 */
import { type ChildProcess, fork, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  type AdapterSpec,
  type LoadCommand,
  type LoadReply,
  MAX_WINDOW,
  type PhaseResult,
} from './relay-load.ts'
import {
  type LatencyWindow,
  latencyTimeline,
  percentile,
  postgresCpuDelta,
  readLoadAverage,
  readPostgresCpuSeconds,
  readProcessCpuSeconds,
  readResidentBytes,
} from './relay-stats.ts'
import { formatVerdict, judgeTargets, RELAY_TARGETS } from './relay-targets.ts'

const ROOT = new URL('..', import.meta.url).pathname
const BENCH = join(ROOT, 'bench')

/** The offered rate of the latency phase: the one issue #3 sets its p99 target at. */
export const OFFERED_RATE = RELAY_TARGETS.offeredRate
/**
 * Warm-up before each measured interval. The server process is new for each backend, and its first
 * phase ran JIT compilation on V8's helper threads through its first 4–5 s of load (`--trace-opt`:
 * 80–190 functions optimised per second, none from the sixth second on), which the server's CPU
 * counts; the ceiling, a few dozen lines, is compiled within a second. 3 s keeps most of that
 * start-up out of the steady state the ratios are about (docs/benchmarks.md, Relay, sixth round).
 */
const WARMUP_MS = 3_000
/** Unacknowledged sends per client in the closed loop (`--window`, at most MAX_WINDOW). */
const WINDOW = 8
/** The server's resident memory is sampled this often over the measured interval. */
const RSS_SAMPLE_MS = 100
/** Longest wait after a phase for its backlog to be delivered before the next phase starts. */
const DRAIN_MS = 20_000
/**
 * Load generator processes, each holding an equal share of the clients and of the offered rate.
 * One process with all 1,000 clients stalls its event loop for tens of ms at a time (scavenges,
 * being descheduled on the shared cores), and every envelope it should have sent or received
 * meanwhile carries that stall in its latency; two halve the share of the schedule a stall hits.
 */
const GENERATORS = 2
const MAX_GENERATORS = 8
/** Phases start this long after they are sent, so every generator has the command by then. */
const START_DELAY_MS = 200
const now = () => performance.timeOrigin + performance.now()

interface Options {
  json: boolean
  clients: number
  servers: string[]
  sizes: number[]
  measureMs: number
  warmupMs: number
  rate: number
  modes: ('throughput' | 'rate')[]
  generators: number
  /** Rate mode: latency windows of this many ms (0: none). */
  timelineMs: number
  /** Throughput mode: unacknowledged sends per client. */
  window: number
}

function parseOptions(argv: readonly string[]): Options {
  const value = (name: string) => {
    const i = argv.indexOf(name)
    return i >= 0 ? argv[i + 1] : undefined
  }
  return {
    json: argv.includes('--json'),
    clients: Number(value('--clients') ?? 1000),
    servers: (value('--servers') ?? 'ceiling,sqlite,postgres').split(','),
    sizes: (value('--sizes') ?? '256,4096').split(',').map(Number),
    measureMs: Number(value('--measure-ms') ?? 4000),
    warmupMs: Number(value('--warmup-ms') ?? WARMUP_MS),
    rate: Number(value('--rate') ?? OFFERED_RATE),
    modes: (value('--modes') ?? 'throughput,rate')
      .split(',')
      .filter((m): m is 'throughput' | 'rate' => m === 'throughput' || m === 'rate'),
    generators: Math.max(1, Math.min(MAX_GENERATORS, Number(value('--generators') ?? GENERATORS))),
    timelineMs: Math.max(0, Number(value('--timeline-ms') ?? 0)),
    window: Math.max(1, Math.min(MAX_WINDOW, Number(value('--window') ?? WINDOW))),
  }
}

/** A server under test: its process, the adapter spec the generator uses to reach it, cleanup. */
export interface ServerUnderTest {
  readonly pid: number
  readonly adapter: AdapterSpec
  readonly usesPostgres: boolean
  /** Codes of the server's configuration warnings at start (docs/operations.md), if any. */
  readonly warnings?: readonly string[]
  stop(): Promise<void>
}

export type ServerFactory = (clients: number) => Promise<ServerUnderTest>

async function startCeiling(): Promise<ServerUnderTest> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(BENCH, 'relay-ceiling-server.ts'), '--port', '0'],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  const line = await firstLine(child, (l) => l.includes('"listening"'))
  const { listening } = JSON.parse(line) as { listening: number }
  return {
    pid: child.pid!,
    adapter: { kind: 'ceiling', url: `ws://127.0.0.1:${listening}` },
    usesPostgres: false,
    stop: () => stopChild(child),
  }
}

export function firstLine(
  child: ChildProcess,
  match: (line: string) => boolean,
  timeoutMs = 30_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! })
    const timer = setTimeout(() => reject(new Error('server did not report listening')), timeoutMs)
    lines.on('line', (line) => {
      if (match(line)) {
        clearTimeout(timer)
        resolve(line)
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`server exited with ${code} before listening`))
    })
  })
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
  await exited
  clearTimeout(timer)
}

const splitFlags = (flags: string | undefined) => (flags ?? '').split(' ').filter((f) => f !== '')

class Generator {
  readonly child: ChildProcess
  readonly #queue: LoadReply[] = []
  #waiter: ((reply: LoadReply) => void) | null = null

  constructor() {
    this.child = fork(join(BENCH, 'relay-load.ts'), [], {
      cwd: ROOT,
      // TACIT_LOAD_NODE_FLAGS: Node/V8 flags for the generator processes only.
      execArgv: ['--import', 'tsx', ...splitFlags(process.env.TACIT_LOAD_NODE_FLAGS)],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    })
    this.child.on('message', (reply: LoadReply) => {
      if (this.#waiter) {
        const w = this.#waiter
        this.#waiter = null
        w(reply)
      } else this.#queue.push(reply)
    })
  }

  async request(command: LoadCommand, timeoutMs = 120_000): Promise<LoadReply> {
    this.child.send(command)
    const queued = this.#queue.shift()
    if (queued) return queued
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`load generator silent after ${command.type}`)),
        timeoutMs,
      )
      this.#waiter = (reply) => {
        clearTimeout(timer)
        if (reply.type === 'error') reject(new Error(`load generator: ${reply.message}`))
        else resolve(reply)
      }
    })
  }

  async exit(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once('exit', resolve))
    this.child.send({ type: 'exit' } satisfies LoadCommand)
    await exited
  }
}

export interface PhaseFigures {
  server: string
  size: number
  mode: 'throughput' | 'rate'
  deliveredPerSecond: number
  serverCpuSeconds: number
  /** Server CPU-seconds per wall-clock second over the measured interval (1.0 = one core busy). */
  serverCpuLoad: number
  /** PostgreSQL's CPU-seconds over the measured interval (every `postgres` process). */
  databaseCpuSeconds: number
  /** The same per wall-clock second, comparable to serverCpuLoad (the `dbCPU` column). */
  databaseCpuLoad: number
  generatorCpuLoad: number
  deliveredPerServerCpuSecond: number
  p50Ms?: number
  p99Ms?: number
  /** Rate mode: envelopes scheduled in the measured interval and not delivered within the drain. */
  undelivered?: number
  /** Rate mode: deliveries of an envelope of the interval that its recipient already had. */
  duplicates?: number
  /** Rate mode: p99 from the moment the generator actually sent (its send lag taken out). */
  p99FromSendMs?: number
  /** Rate mode: p99 of how late the generators sent (ms after the scheduled time); part of p99Ms. */
  sendLagP99Ms?: number
  /** Rate mode with --timeline-ms: the latencies by scheduled send time, window by window. */
  timeline?: LatencyWindow[]
  /** Rate mode with --timeline-ms: the wall-clock time (ISO 8601) the first window starts, to line
   * the windows up with the database's log. */
  timelineFrom?: string
  generators: number
  sent: number
  acked: number
  closedConnections: number
  backlog: number
  /** 1-minute load average at the end of the measured interval (2 cores: above 2, processes queue). */
  loadAverage: number
  /** The server's largest resident memory sampled over the measured interval (every 100 ms), MiB. */
  serverPeakResidentMiB: number
}

async function runPhase(
  generators: readonly Generator[],
  server: ServerUnderTest,
  name: string,
  mode: 'throughput' | 'rate',
  size: number,
  phase: number,
  options: Options,
): Promise<PhaseFigures> {
  const warmupMs = options.warmupMs
  const startAt = now() + START_DELAY_MS
  const results = generators.map((generator, g) =>
    generator.request({
      type: 'phase',
      phase,
      mode,
      startAt,
      size,
      warmupMs,
      measureMs: options.measureMs,
      window: options.window,
      rate: options.rate / generators.length,
      // Generator g sends at startAt + g/rate + k·n/rate: one envelope every 1/rate in total.
      offsetMs: (g * 1000) / options.rate,
      generators: generators.length,
      drainMs: DRAIN_MS,
    }),
  )
  // The server's CPU over the same wall-clock interval the generators measure, read here.
  await sleep(Math.max(0, startAt + warmupMs - now()))
  const cpuBeginAt = now()
  const cpuBegin = readProcessCpuSeconds(server.pid)
  const dbBegin = server.usesPostgres ? readPostgresCpuSeconds() : new Map<number, number>()
  // The server's peak resident memory over the interval, sampled: what the load holds in it.
  const measureEnd = startAt + warmupMs + options.measureMs
  let peakResidentBytes = readResidentBytes(server.pid)
  while (now() < measureEnd) {
    await sleep(Math.max(0, Math.min(RSS_SAMPLE_MS, measureEnd - now())))
    peakResidentBytes = Math.max(peakResidentBytes, readResidentBytes(server.pid))
  }
  const cpuEnd = readProcessCpuSeconds(server.pid)
  const dbEnd = server.usesPostgres ? readPostgresCpuSeconds() : new Map<number, number>()
  const cpuSeconds = (now() - cpuBeginAt) / 1000
  const loadAverage = readLoadAverage()

  const parts: PhaseResult[] = []
  for (const reply of await Promise.all(results)) {
    if (reply.type !== 'result') throw new Error(`unexpected reply ${reply.type}`)
    parts.push(reply.result)
  }
  const sum = (pick: (r: PhaseResult) => number) => parts.reduce((total, r) => total + pick(r), 0)
  const measuredSeconds = sum((r) => r.measuredMs) / parts.length / 1000
  const deliveredPerSecond = sum((r) => r.deliveredMeasured) / measuredSeconds
  const serverCpuSeconds = cpuEnd - cpuBegin
  const databaseCpuSeconds = postgresCpuDelta(dbBegin, dbEnd)
  const serverCpuLoad = serverCpuSeconds / cpuSeconds
  const figures: PhaseFigures = {
    server: name,
    size,
    mode,
    deliveredPerSecond,
    serverCpuSeconds,
    serverCpuLoad,
    databaseCpuSeconds,
    databaseCpuLoad: databaseCpuSeconds / cpuSeconds,
    generatorCpuLoad: sum((r) => (r.cpuUserMs + r.cpuSystemMs) / r.measuredMs),
    serverPeakResidentMiB: peakResidentBytes / 2 ** 20,
    // Both rates over the same interval: delivered per second over server CPU-seconds per second.
    deliveredPerServerCpuSecond: serverCpuLoad > 0 ? deliveredPerSecond / serverCpuLoad : Number.NaN,
    sent: sum((r) => r.sent),
    acked: sum((r) => r.acked),
    closedConnections: sum((r) => r.closedConnections),
    // Envelopes cross generators (sender in one, recipient in another): only the sums balance.
    backlog: Math.max(0, sum((r) => r.acked) - sum((r) => r.deliveredTotal)),
    generators: generators.length,
    loadAverage,
  }
  if (mode === 'rate') {
    const latencies = parts.flatMap((r) => r.latencies).sort((a, b) => a - b)
    const sendLags = parts.flatMap((r) => r.sendLags).sort((a, b) => a - b)
    figures.p50Ms = percentile(latencies, 50)
    figures.p99Ms = percentile(latencies, 99)
    figures.sendLagP99Ms = percentile(sendLags, 99)
    figures.p99FromSendMs = percentile(
      parts.flatMap((r) => r.latenciesFromSend).sort((a, b) => a - b),
      99,
    )
    figures.undelivered = sum((r) => r.sentMeasured) - latencies.length
    figures.duplicates = sum((r) => r.duplicates)
    if (options.timelineMs > 0) {
      figures.timeline = latencyTimeline(
        parts.flatMap((r) => r.scheduledAt),
        parts.flatMap((r) => r.latencies),
        startAt + warmupMs,
        options.timelineMs,
      )
      figures.timelineFrom = new Date(startAt + warmupMs).toISOString()
    }
  }
  return figures
}

async function benchServer(
  name: string,
  factory: ServerFactory,
  options: Options,
  phaseBase: number,
  warnings: Record<string, readonly string[]>,
): Promise<PhaseFigures[]> {
  const server = await factory(options.clients)
  if (server.warnings !== undefined && server.warnings.length > 0) {
    // The results depend on them (a PostgreSQL without autovacuum: docs/operations.md).
    warnings[name] = server.warnings
    log(options, `${name}: the server warns at start: ${server.warnings.join(', ')}`)
  }
  const generators = Array.from({ length: options.generators }, () => new Generator())
  const out: PhaseFigures[] = []
  try {
    const started = now()
    const share = Math.ceil(options.clients / generators.length)
    const replies = await Promise.all(
      generators.map((generator, g) =>
        generator.request({
          type: 'connect',
          adapter: server.adapter,
          from: g * share,
          to: Math.min(options.clients, (g + 1) * share),
          total: options.clients,
        }),
      ),
    )
    let clients = 0
    for (const connected of replies) {
      if (connected.type !== 'connected') throw new Error('generator did not connect')
      clients += connected.clients
    }
    log(
      options,
      `${name}: ${clients} clients connected in ${(now() - started).toFixed(0)} ms by ${generators.length} generator processes`,
    )
    let phase = phaseBase
    for (const size of options.sizes) {
      for (const mode of options.modes) {
        const figures = await runPhase(generators, server, name, mode, size, ++phase, options)
        log(options, formatRow(figures))
        if (figures.timelineFrom !== undefined) log(options, `  timeline from ${figures.timelineFrom}`)
        for (const w of figures.timeline ?? []) log(options, formatWindow(w))
        out.push(figures)
      }
    }
  } finally {
    await Promise.all(generators.map((g) => g.exit().catch(() => g.child.kill('SIGKILL'))))
    await server.stop()
  }
  return out
}

/** The table goes to stderr in every mode, so `--json`'s stdout holds only the JSON line. */
function log(_options: Options, line: string): void {
  console.error(line)
}

const fmt = (n: number | undefined, digits = 0) =>
  n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits)

function formatWindow(w: LatencyWindow): string {
  return `  ${`+${(w.startMs / 1000).toFixed(1)} s`.padStart(9)}  n ${String(w.n).padStart(6)}  p50 ${fmt(w.p50Ms, 1).padStart(7)}  p99 ${fmt(w.p99Ms, 1).padStart(7)}  max ${fmt(w.maxMs, 1).padStart(7)} ms`
}

function formatRow(f: PhaseFigures): string {
  return [
    f.server.padEnd(9),
    String(f.size).padStart(5),
    f.mode.padEnd(10),
    fmt(f.deliveredPerSecond).padStart(8),
    fmt(f.serverCpuLoad, 2).padStart(6),
    fmt(f.deliveredPerServerCpuSecond).padStart(9),
    fmt(f.generatorCpuLoad, 2).padStart(6),
    fmt(f.databaseCpuLoad, 2).padStart(6),
    fmt(f.p50Ms, 1).padStart(7),
    fmt(f.p99Ms, 1).padStart(7),
    fmt(f.undelivered).padStart(6),
    fmt(f.duplicates).padStart(4),
    fmt(f.sendLagP99Ms, 1).padStart(8),
    fmt(f.p99FromSendMs, 1).padStart(7),
    fmt(f.loadAverage, 1).padStart(5),
    fmt(f.serverPeakResidentMiB).padStart(6),
  ].join(' ')
}

const HEADER =
  'server     size mode       deliv/s  srvCPU  per-CPU-s genCPU  dbCPU  p50 ms  p99 ms  undel  dup genLag99 p99send  load  RSS MiB'

/** Real servers (SQLite, PostgreSQL) come from the harness once the server's main.ts exists. */
async function serverFactories(): Promise<Record<string, ServerFactory | string>> {
  const factories: Record<string, ServerFactory | string> = { ceiling: startCeiling }
  const harness = join(ROOT, 'tests/server/harness/bench-servers.ts')
  if (existsSync(harness)) {
    const mod = (await import(harness)) as { benchServers(): Record<string, ServerFactory> }
    Object.assign(factories, mod.benchServers())
  } else {
    factories.sqlite = 'the Tacit server cannot accept envelopes yet'
    factories.postgres = 'the Tacit server cannot accept envelopes yet'
  }
  return factories
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2))
  const factories = await serverFactories()
  const started = Date.now()
  log(
    options,
    `bench:relay — ${options.clients} WebSocket clients on loopback, offered rate ${options.rate}/s`,
  )
  log(options, HEADER)
  const phases: PhaseFigures[] = []
  const skipped: Record<string, string> = {}
  const warnings: Record<string, readonly string[]> = {}
  let phaseBase = 0
  for (const name of options.servers) {
    const factory = factories[name]
    if (factory === undefined) throw new Error(`unknown server ${name}`)
    if (typeof factory === 'string') {
      skipped[name] = factory
      log(options, `${name.padEnd(9)} skipped: ${factory}`)
      continue
    }
    try {
      phases.push(...(await benchServer(name, factory, options, phaseBase, warnings)))
    } catch (error) {
      // A backend that cannot start (e.g. not built yet) is reported, not fatal to the others.
      skipped[name] = error instanceof Error ? error.message.split('\n')[0]! : String(error)
      log(options, `${name.padEnd(9)} failed: ${skipped[name]}`)
    }
    phaseBase += 100
  }

  // Ratios to the ceiling, per size: raw throughput and per server CPU-second.
  const ratios: Record<string, Record<string, { throughput: number; perServerCpuSecond: number }>> = {}
  for (const f of phases) {
    if (f.mode !== 'throughput' || f.server === 'ceiling') continue
    const base = phases.find((c) => c.server === 'ceiling' && c.size === f.size && c.mode === 'throughput')
    if (!base) continue
    ratios[f.server] ??= {}
    ratios[f.server]![String(f.size)] = {
      throughput: f.deliveredPerSecond / base.deliveredPerSecond,
      perServerCpuSecond: f.deliveredPerServerCpuSecond / base.deliveredPerServerCpuSecond,
    }
  }
  for (const [server, bySize] of Object.entries(ratios)) {
    for (const [size, r] of Object.entries(bySize)) {
      console.error(
        `${server} ${size} B vs ceiling: ${r.throughput.toFixed(2)}x throughput, ${r.perServerCpuSecond.toFixed(2)}x per server CPU-second`,
      )
    }
  }
  const targets = judgeTargets(phases, options.rate)
  if (targets.length > 0) {
    console.error('targets (issue #3):')
    for (const verdict of targets) console.error(formatVerdict(verdict))
  }
  console.error(`total ${((Date.now() - started) / 1000).toFixed(0)} s`)
  const result = {
    bench: 'relay',
    clients: options.clients,
    offeredRate: options.rate,
    window: options.window,
    generators: options.generators,
    measureMs: options.measureMs,
    phases,
    ratios,
    targets,
    skipped,
    warnings,
    node: process.version,
  }
  if (options.json) console.log(JSON.stringify(result))
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(error)
    process.exit(1)
  })
}
