/**
 * `npm run bench:relay` — how many envelopes a server relays, durably, against a plain `ws`
 * relay with no storage measured in the same run (DESIGN.md §9).
 *
 * Each server runs as its own process; the load generator runs in another (relay-load.ts), so
 * both are measured apart: the server's CPU from /proc/<pid>/stat, the generator's by itself,
 * PostgreSQL's from its processes' /proc entries. For each server and envelope size:
 *   throughput  closed loop, `WINDOW` unacknowledged sends per client: delivered envelopes/s
 *   latency     open loop at a fixed offered rate (5,000/s): p50/p99 from scheduled send to delivery
 * Ratios are per server CPU-second, so a generator that shares the machine's two cores with the
 * server does not flatter or penalise either side.
 *
 * Flags: --json (one JSON object on the last line), --clients N, --servers ceiling,sqlite,postgres,
 * --measure-ms N, --sizes 256,4096, --rate N (offered rate of the latency phase; 5,000 by default,
 * the issue's figure — a lower one measures CPU per envelope on a machine too loaded for 5,000/s),
 * --modes throughput,rate.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { AdapterSpec, LoadCommand, LoadReply, PhaseResult } from './relay-load.ts'
import { percentile, postgresCpuDelta, readPostgresCpuSeconds, readProcessCpuSeconds } from './relay-stats.ts'

const ROOT = new URL('..', import.meta.url).pathname
const BENCH = join(ROOT, 'bench')

export const OFFERED_RATE = 5_000
const WINDOW = 8
/** Longest wait after a phase for its backlog to be delivered before the next phase starts. */
const DRAIN_MS = 20_000

interface Options {
  json: boolean
  clients: number
  servers: string[]
  sizes: number[]
  measureMs: number
  warmupMs: number
  rate: number
  modes: ('throughput' | 'rate')[]
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
    warmupMs: Number(value('--warmup-ms') ?? 1000),
    rate: Number(value('--rate') ?? OFFERED_RATE),
    modes: (value('--modes') ?? 'throughput,rate')
      .split(',')
      .filter((m): m is 'throughput' | 'rate' => m === 'throughput' || m === 'rate'),
  }
}

/** A server under test: its process, the adapter spec the generator uses to reach it, cleanup. */
export interface ServerUnderTest {
  readonly pid: number
  readonly adapter: AdapterSpec
  readonly usesPostgres: boolean
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

class Generator {
  readonly child: ChildProcess
  readonly #queue: LoadReply[] = []
  #waiter: ((reply: LoadReply) => void) | null = null
  onMarker: (reply: LoadReply) => void = () => {}

  constructor() {
    this.child = fork(join(BENCH, 'relay-load.ts'), [], {
      cwd: ROOT,
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    })
    this.child.on('message', (reply: LoadReply) => {
      if (reply.type === 'measure-begin' || reply.type === 'measure-end') {
        this.onMarker(reply)
        return
      }
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
  databaseCpuSeconds: number
  generatorCpuLoad: number
  deliveredPerServerCpuSecond: number
  p50Ms?: number
  p99Ms?: number
  /** Rate mode: envelopes scheduled in the measured interval and not delivered within the drain. */
  undelivered?: number
  sent: number
  acked: number
  closedConnections: number
  backlog: number
}

async function runPhase(
  generator: Generator,
  server: ServerUnderTest,
  name: string,
  mode: 'throughput' | 'rate',
  size: number,
  phase: number,
  options: Options,
): Promise<PhaseFigures> {
  let cpuBegin = 0
  let cpuEnd = 0
  let dbBegin = new Map<number, number>()
  let dbEnd = new Map<number, number>()
  generator.onMarker = (reply) => {
    if (reply.type === 'measure-begin') {
      cpuBegin = readProcessCpuSeconds(server.pid)
      if (server.usesPostgres) dbBegin = readPostgresCpuSeconds()
    } else {
      cpuEnd = readProcessCpuSeconds(server.pid)
      if (server.usesPostgres) dbEnd = readPostgresCpuSeconds()
    }
  }
  const reply = await generator.request({
    type: 'phase',
    phase,
    mode,
    size,
    warmupMs: mode === 'throughput' ? options.warmupMs : 500,
    measureMs: options.measureMs,
    window: WINDOW,
    rate: options.rate,
    drainMs: DRAIN_MS,
  })
  if (reply.type !== 'result') throw new Error(`unexpected reply ${reply.type}`)
  const r: PhaseResult = reply.result
  const seconds = r.measuredMs / 1000
  const serverCpuSeconds = cpuEnd - cpuBegin
  const figures: PhaseFigures = {
    server: name,
    size,
    mode,
    deliveredPerSecond: r.deliveredMeasured / seconds,
    serverCpuSeconds,
    serverCpuLoad: serverCpuSeconds / seconds,
    databaseCpuSeconds: postgresCpuDelta(dbBegin, dbEnd),
    generatorCpuLoad: (r.cpuUserMs + r.cpuSystemMs) / r.measuredMs,
    deliveredPerServerCpuSecond: serverCpuSeconds > 0 ? r.deliveredMeasured / serverCpuSeconds : Number.NaN,
    sent: r.sent,
    acked: r.acked,
    closedConnections: r.closedConnections,
    backlog: r.backlog,
  }
  if (mode === 'rate') {
    const sorted = r.latencies.sort((a, b) => a - b)
    figures.p50Ms = percentile(sorted, 50)
    figures.p99Ms = percentile(sorted, 99)
    figures.undelivered = r.sentMeasured - r.latencies.length
  }
  return figures
}

async function benchServer(
  name: string,
  factory: ServerFactory,
  options: Options,
  phaseBase: number,
): Promise<PhaseFigures[]> {
  const server = await factory(options.clients)
  const generator = new Generator()
  const out: PhaseFigures[] = []
  try {
    const connected = await generator.request({
      type: 'connect',
      adapter: server.adapter,
      from: 0,
      to: options.clients,
      total: options.clients,
    })
    if (connected.type !== 'connected') throw new Error('generator did not connect')
    log(options, `${name}: ${connected.clients} clients connected in ${connected.connectMs.toFixed(0)} ms`)
    let phase = phaseBase
    for (const size of options.sizes) {
      for (const mode of options.modes) {
        const figures = await runPhase(generator, server, name, mode, size, ++phase, options)
        log(options, formatRow(figures))
        out.push(figures)
      }
    }
  } finally {
    await generator.exit().catch(() => generator.child.kill('SIGKILL'))
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

function formatRow(f: PhaseFigures): string {
  return [
    f.server.padEnd(9),
    String(f.size).padStart(5),
    f.mode.padEnd(10),
    fmt(f.deliveredPerSecond).padStart(8),
    fmt(f.serverCpuLoad, 2).padStart(6),
    fmt(f.deliveredPerServerCpuSecond).padStart(9),
    fmt(f.generatorCpuLoad, 2).padStart(6),
    fmt(f.databaseCpuSeconds, 2).padStart(6),
    fmt(f.p50Ms, 1).padStart(7),
    fmt(f.p99Ms, 1).padStart(7),
    fmt(f.undelivered).padStart(6),
  ].join(' ')
}

const HEADER = 'server     size mode       deliv/s  srvCPU  per-CPU-s genCPU  dbCPU  p50 ms  p99 ms  undel'

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
      phases.push(...(await benchServer(name, factory, options, phaseBase)))
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
  console.error(`total ${((Date.now() - started) / 1000).toFixed(0)} s`)
  const result = {
    bench: 'relay',
    clients: options.clients,
    offeredRate: options.rate,
    window: WINDOW,
    measureMs: options.measureMs,
    phases,
    ratios,
    skipped,
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
