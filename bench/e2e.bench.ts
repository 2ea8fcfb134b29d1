/**
 * `npm run bench:e2e` — the SDK end to end through a local server (DESIGN.md §9), each figure
 * against a baseline measured in the same run:
 *
 * - messaging: N clients (2, 50) in pairs, each a `TacitClient` with its encrypted SQLite store,
 *   closed loop with `--window` messages in flight per sender: messages/s decrypted and persisted
 *   at the receivers, p50/p99 from the send call to the receiver's `message` event. Baseline:
 *   the same number of wire-level devices relaying opaque payloads of the SDK's envelope size
 *   through the same server (no MLS, no client store).
 * - group: time to create a 100-member group whose members' KeyPackages are already uploaded:
 *   createConversation until the commit (with all Welcomes) is accepted, until it returns, and
 *   until the last member has joined (members are connected, in a child process of their own).
 * - file: a 1 GiB file sent with the SDK (encrypt + upload, then download + decrypt + verify at
 *   the receiver) against the same file copied through the blob API without encryption.
 *
 * The server is its own process (SQLite, rate limits off); all clients live in this process,
 * except the group's members (`--group-members`, a child process). CPU: the server's and the
 * members' from /proc/<pid>/stat, this process's from process.cpuUsage().
 *
 * Flags: --json (one JSON object on stdout's last line; the table goes to stderr), --quick,
 * --clients 2,50, --group-size 100, --file-mb 1024, --parts messaging,group,file, --window 8,
 * --measure-ms 4000, --profile-dir <dir> (this process's CPU profile over each timed window only).
 * TACIT_CPU_PROF_DIR=<dir> writes the server's V8 CPU profile there.
 */
import { fork } from 'node:child_process'
import { randomFillSync } from 'node:crypto'
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileLayout } from '@tacit/protocol/files/format'
import { MAX_BLOB_BYTES } from '@tacit/protocol/wire/limits'
import { startE2eServer } from '../tests/e2e/support/server.ts'
import { type BenchDevice, closeDevices, createDevices, sentApplicationSizes } from './e2e-clients.ts'
import { runFileTransfer } from './e2e-file.ts'
import { createClosedLoop, type LoopOptions, type LoopResult } from './e2e-loop.ts'
import { profileWindow } from './e2e-profile.ts'
import { copyThroughBlobApi, runRawLoop } from './e2e-raw.ts'
import { percentile, readProcessCpuSeconds } from './relay-stats.ts'

const MIB = 1024 * 1024
/** Longest wait for in-flight messages after a phase, and for the last member to join. */
const DRAIN_MS = 20_000
const JOIN_TIMEOUT_MS = 120_000

interface Options {
  json: boolean
  clients: number[]
  groupSize: number
  fileBytes: number
  parts: string[]
  window: number
  warmupMs: number
  measureMs: number
  profileDir: string | undefined
}

function parseOptions(argv: readonly string[]): Options {
  const value = (name: string) => {
    const i = argv.indexOf(name)
    return i >= 0 ? argv[i + 1] : undefined
  }
  const quick = argv.includes('--quick')
  return {
    json: argv.includes('--json'),
    clients: (value('--clients') ?? (quick ? '2,10' : '2,50')).split(',').map(Number),
    groupSize: Number(value('--group-size') ?? (quick ? 20 : 100)),
    fileBytes: Number(value('--file-mb') ?? (quick ? 64 : 1024)) * MIB,
    parts: (value('--parts') ?? 'messaging,group,file').split(','),
    window: Number(value('--window') ?? 8),
    warmupMs: Number(value('--warmup-ms') ?? (quick ? 500 : 1000)),
    measureMs: Number(value('--measure-ms') ?? (quick ? 2000 : 4000)),
    profileDir: value('--profile-dir'),
  }
}

function log(line: string): void {
  console.error(line)
}

const fmt = (n: number, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : '–'

/** CPU seconds used by the server, by this process (and by `otherPid`) while `fn` runs. */
async function withCpu<T>(serverPid: number, fn: () => Promise<T>, otherPid?: number) {
  const s0 = readProcessCpuSeconds(serverPid)
  const o0 = otherPid === undefined ? 0 : readProcessCpuSeconds(otherPid)
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  const result = await fn()
  const seconds = (performance.now() - t0) / 1000
  const c = process.cpuUsage(c0)
  return {
    result,
    serverCpu: (readProcessCpuSeconds(serverPid) - s0) / seconds,
    clientCpu: (c.user + c.system) / 1e6 / seconds,
    otherCpu: otherPid === undefined ? 0 : (readProcessCpuSeconds(otherPid) - o0) / seconds,
    seconds,
  }
}

interface MembersConfig {
  serverUrl: string
  dataDir: string
  storeDir: string
  handles: string[]
}

type MembersMessage =
  | { type: 'ready' }
  | { type: 'joined'; conversationId: string; handle: string; at: number }
  | { type: 'alert'; kind: string }

/**
 * The group's members in a child process (this file, `--group-members`): each a TacitClient
 * with its own store, KeyPackages uploaded, connected. It reports each member's `conversation`
 * event with its wall-clock time (performance.timeOrigin-based, comparable across processes).
 */
async function startMembersProcess(config: MembersConfig) {
  const child = fork(process.argv[1]!, ['--group-members', JSON.stringify(config)], {
    execArgv: process.execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const joinedAt = new Map<string, Map<string, number>>()
  const alerts = new Map<string, number>()
  let exited = false
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => {
      exited = true
      reject(new Error(`the members process exited (${code}) before it was ready`))
    })
    child.on('message', (m: MembersMessage) => {
      if (m.type === 'ready') resolve()
      else if (m.type === 'alert') alerts.set(m.kind, (alerts.get(m.kind) ?? 0) + 1)
      else {
        const byMember = joinedAt.get(m.conversationId) ?? new Map<string, number>()
        if (!byMember.has(m.handle)) byMember.set(m.handle, m.at)
        joinedAt.set(m.conversationId, byMember)
      }
    })
  })
  await ready
  return {
    pid: child.pid!,
    handles: config.handles,
    alerts: () => Object.fromEntries(alerts),
    /** Join times (wall clock, ms) of the members that joined within `timeoutMs`. */
    async joined(id: string, timeoutMs: number): Promise<number[]> {
      const deadline = performance.now() + timeoutMs
      while ((joinedAt.get(id)?.size ?? 0) < config.handles.length && performance.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20))
      }
      return [...(joinedAt.get(id)?.values() ?? [])]
    },
    async stop(): Promise<void> {
      if (exited) return
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      child.send({ type: 'stop' })
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
      await gone
      clearTimeout(timer)
    },
  }
}

/** The child side of `startMembersProcess`. */
async function runMembers(config: MembersConfig): Promise<void> {
  const members = await createDevices(config)
  await Promise.all(members.map((m) => m.client.refreshKeyPackages()))
  for (const m of members) {
    m.client.on('alert', (a) =>
      process.send!({ type: 'alert', kind: a.kind === 'undecryptable' ? `${a.kind}:${a.reason}` : a.kind }),
    )
    m.client.on('conversation', (c) =>
      process.send!({
        type: 'joined',
        conversationId: c.id,
        handle: m.handle,
        at: performance.timeOrigin + performance.now(),
      }),
    )
  }
  process.on('message', (m: { type: string }) => {
    if (m.type !== 'stop') return
    void closeDevices(members)
      .catch(() => undefined)
      .finally(() => process.exit(0))
  })
  process.send!({ type: 'ready' })
}

async function pairUp(devices: readonly BenchDevice[]): Promise<string[]> {
  const ids: string[] = []
  for (let i = 0; i + 1 < devices.length; i += 2) {
    ids.push(await devices[i]!.client.createConversation({ members: [devices[i + 1]!.handle] }))
  }
  await Promise.all(devices.map((d) => d.client.sync()))
  return ids
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2))
  const started = Date.now()
  const machine = {
    nproc: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    loadStart: loadavg().map((l) => Number(l.toFixed(2))),
  }
  log(
    `machine: nproc ${machine.nproc}, ${machine.cpu}, node ${machine.node}, load ${machine.loadStart.join(' ')}`,
  )
  const storeDir = mkdtempSync(join(tmpdir(), 'tacit-bench-e2e-'))
  const profDir = process.env.TACIT_CPU_PROF_DIR
  const server = await startE2eServer({
    extraArgs: [
      '--rate-limit-address',
      'off',
      '--rate-limit-device',
      'off',
      // Room for the file's padded ciphertext: a 1 GiB file is 1,074,003,984 bytes encrypted
      // (a 16-byte tag per 64 KiB chunk), above a 1024 MiB cap.
      '--max-blob-mb',
      String(Math.ceil(fileLayout(largestSendable(o.fileBytes)).ciphertextSize / MIB)),
      '--blob-quota-mb',
      String(8 * 1024),
    ],
    ...(profDir ? { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profDir] } : {}),
  })
  const pid = server.child.pid!
  const result: Record<string, unknown> = { machine, options: o }
  const all: BenchDevice[] = []
  try {
    if (o.parts.includes('messaging')) {
      const n = Math.max(...o.clients)
      const devices = await createDevices({
        serverUrl: server.url,
        dataDir: server.dataDir,
        storeDir,
        handles: Array.from({ length: n }, (_, i) => `m${i}`),
      })
      all.push(...devices)
      let current: ((tag: string) => void) | null = null
      for (const d of devices) {
        d.client.on('message', (m) => {
          if (!m.outgoing) current?.(m.text)
        })
      }
      const loopOptions: LoopOptions = {
        window: o.window,
        warmupMs: o.warmupMs,
        measureMs: o.measureMs,
        drainMs: DRAIN_MS,
      }
      const rows: Record<string, unknown>[] = []
      log('')
      log(`messaging: closed loop, ${o.window} in flight per sender, ${o.measureMs} ms measured`)
      log(
        '| clients | path | msgs/s | p50 ms | p99 ms | undelivered | srvCPU | cliCPU | per CPU-s | vs raw | per CPU-s vs raw |',
      )
      log('|---|---|---|---|---|---|---|---|---|---|---|')
      for (const clients of o.clients) {
        const set = devices.slice(0, clients)
        const ids = await pairUp(set)
        const senders = set.map((d, i) => {
          const id = ids[i >> 1]!
          return { send: async (tag: string) => void (await d.client.sendText(id, tag)) }
        })
        const loop = createClosedLoop(senders, loopOptions)
        current = (tag) => loop.received(tag)
        const e2e = await withCpu(pid, () =>
          profileWindow(o.profileDir, `messaging-${clients}`, () => loop.run()),
        )
        current = null
        const sizes = [...sentApplicationSizes].sort((a, b) => a - b)
        const size = percentile(sizes, 50)
        const raw = await withCpu(pid, () =>
          runRawLoop({ serverUrl: server.url, dataDir: server.dataDir, clients, size, loop: loopOptions }),
        )
        // Delivered per CPU-second of server and clients together: the machine is shared, so
        // this is the figure that does not depend on how much CPU the run happened to get.
        const perCpu = (r: { result: LoopResult; serverCpu: number; clientCpu: number }) =>
          r.result.perSecond / (r.serverCpu + r.clientCpu)
        const ratio = e2e.result.perSecond / raw.result.perSecond
        const cpuRatio = perCpu(e2e) / perCpu(raw)
        const row = (
          path: string,
          r: { result: LoopResult; serverCpu: number; clientCpu: number },
          vs: string,
          vsCpu: string,
        ) =>
          log(
            `| ${clients} | ${path} | ${fmt(r.result.perSecond)} | ${fmt(r.result.p50Ms, 1)} | ${fmt(r.result.p99Ms, 1)} | ${r.result.undelivered} | ${fmt(r.serverCpu, 2)} | ${fmt(r.clientCpu, 2)} | ${fmt(perCpu(r))} | ${vs} | ${vsCpu} |`,
          )
        row('SDK (MLS + store)', e2e, `${fmt(ratio, 2)}×`, `${fmt(cpuRatio, 2)}×`)
        row(`raw ${size} B envelopes`, raw, '1.00×', '1.00×')
        rows.push({ clients, envelopeBytes: size, sdk: e2e, raw, ratio, cpuRatio })
      }
      result.messaging = rows
    }

    if (o.parts.includes('group')) {
      const commitOks: number[] = []
      const [owner] = await createDevices({
        serverUrl: server.url,
        dataDir: server.dataDir,
        storeDir,
        handles: ['g-owner'],
        onCommitOk: (at) => commitOks.push(at),
      })
      all.push(owner!)
      const setup0 = performance.now()
      // The members are other people's devices: they run in a process of their own (as on their
      // own machines), so their joining does not queue behind the creator on one event loop, and
      // the OS shares the cores between creator, members and server.
      const members = await startMembersProcess({
        serverUrl: server.url,
        dataDir: server.dataDir,
        storeDir,
        handles: Array.from({ length: o.groupSize }, (_, i) => `g${i}`),
      })
      const setupMs = performance.now() - setup0
      try {
        const run = await withCpu(
          pid,
          async () => {
            const t0 = performance.now()
            const t0Wall = performance.timeOrigin + t0
            const cpu0 = process.cpuUsage()
            const id = await profileWindow(o.profileDir, 'group-create', () =>
              owner!.client.createConversation({ members: members.handles, name: 'bench group' }),
            )
            const returned = performance.now()
            // The creator's own CPU time (this process runs only it now): the figure a loaded
            // machine does not inflate, unlike the wall time.
            const cpu = process.cpuUsage(cpu0)
            const joins = (await members.joined(id, JOIN_TIMEOUT_MS)).sort((a, b) => a - b)
            return {
              members: members.handles.length,
              welcomesSentMs: (commitOks[0] ?? Number.NaN) - t0,
              createReturnedMs: returned - t0,
              creatorCpuMs: (cpu.user + cpu.system) / 1000,
              firstJoinedMs: (joins[0] ?? Number.NaN) - t0Wall,
              medianJoinedMs: percentile(joins, 50) - t0Wall,
              lastJoinedMs:
                joins.length === members.handles.length ? Math.max(...joins) - t0Wall : Number.NaN,
              joined: joins.length,
              alerts: members.alerts(),
            }
          },
          members.pid,
        )
        log('')
        log(
          `group: ${o.groupSize} members (in their own process), KeyPackages uploaded beforehand (set-up ${fmt(setupMs / 1000, 1)} s)`,
        )
        log(
          '| members | commit+Welcomes accepted | createConversation returned | creator CPU | first / median / last member joined | joined | srvCPU | cliCPU | membersCPU | members CPU-s | target |',
        )
        log('|---|---|---|---|---|---|---|---|---|---|---|')
        const g = run.result
        log(
          `| ${g.members} | ${fmt(g.welcomesSentMs)} ms | ${fmt(g.createReturnedMs)} ms | ${fmt(g.creatorCpuMs)} ms | ${fmt(g.firstJoinedMs)} / ${fmt(g.medianJoinedMs)} / ${fmt(g.lastJoinedMs)} ms | ${g.joined} | ${fmt(run.serverCpu, 2)} | ${fmt(run.clientCpu, 2)} | ${fmt(run.otherCpu, 2)} | ${fmt(run.otherCpu * run.seconds, 1)} s | < 5,000 ms: ${g.createReturnedMs < 5000 ? 'met' : 'missed'} |`,
        )
        result.group = { ...run, setupMs }
      } finally {
        await members.stop()
      }
    }

    if (o.parts.includes('file')) {
      // The SDK refuses a file whose padded ciphertext is above MAX_BLOB_BYTES (4 GiB): at most
      // the largest file that fits (all of --file-mb up to ~4 GiB), the same one for the ceiling.
      const size = largestSendable(o.fileBytes)
      const path = join(storeDir, 'payload.bin')
      writeRandomFile(path, size)
      const ceiling = await withCpu(pid, () =>
        profileWindow(o.profileDir, 'file-ceiling', () =>
          copyThroughBlobApi({
            serverUrl: server.url,
            dataDir: server.dataDir,
            path,
            size,
            downloadPath: join(storeDir, 'ceiling.out'),
          }),
        ),
      )
      rmSync(join(storeDir, 'ceiling.out'), { force: true })
      let sender = all.find((d) => d.handle === 'm0')
      let receiver = all.find((d) => d.handle === 'm1')
      if (!sender || !receiver) {
        const pair = await createDevices({
          serverUrl: server.url,
          dataDir: server.dataDir,
          storeDir,
          handles: ['f0', 'f1'],
        })
        all.push(...pair)
        ;[sender, receiver] = pair
      }
      const rss0 = process.memoryUsage().rss
      const sdk = await withCpu(pid, () =>
        profileWindow(o.profileDir, 'file-sdk', () =>
          runFileTransfer({ sender: sender!, receiver: receiver!, path, storeDir }),
        ),
      )
      const maxRssMb = process.resourceUsage().maxRSS / 1024
      rmSync(path, { force: true })
      const mb = size / 1e6
      const c = ceiling.result
      const s = sdk.result
      const ceilingTotal = mb / ((c.uploadMs + c.downloadMs) / 1000)
      const total = mb / ((s.uploadMs + s.downloadMs) / 1000)
      const ratio = total / ceilingTotal
      log('')
      log(
        `file: ${fmt(size / MIB)} MiB (the largest ≤ ${fmt(o.fileBytes / MIB)} MiB the SDK accepts); MB/s = 10^6 bytes/s`,
      )
      log('| path | upload MB/s | download MB/s | send+receive MB/s | srvCPU | cliCPU | vs ceiling |')
      log('|---|---|---|---|---|---|---|')
      log(
        `| blob API, no encryption (ceiling) | ${fmt(mb / (c.uploadMs / 1000), 1)} | ${fmt(mb / (c.downloadMs / 1000), 1)} | ${fmt(ceilingTotal, 1)} | ${fmt(ceiling.serverCpu, 2)} | ${fmt(ceiling.clientCpu, 2)} | 1.00× |`,
      )
      log(
        `| SDK: sendFile, then downloadFile | ${fmt(mb / (s.uploadMs / 1000), 1)} | ${fmt(mb / (s.downloadMs / 1000), 1)} | ${fmt(total, 1)} | ${fmt(sdk.serverCpu, 2)} | ${fmt(sdk.clientCpu, 2)} | ${fmt(ratio, 2)}× (target ≥ 0.5×: ${ratio >= 0.5 ? 'met' : 'missed'}) |`,
      )
      log(
        `received file identical: ${s.identical}; this process's peak RSS ${fmt(maxRssMb)} MB (${fmt(rss0 / MIB)} MiB before the SDK transfer)`,
      )
      result.file = { bytes: size, ceiling, sdk, ratio, maxRssMb }
    }
  } finally {
    await closeDevices(all).catch(() => undefined)
    await server.stop()
    rmSync(storeDir, { recursive: true, force: true })
  }
  result.loadEnd = loadavg().map((l) => Number(l.toFixed(2)))
  result.seconds = Math.round((Date.now() - started) / 1000)
  log('')
  log(`load at the end ${(result.loadEnd as number[]).join(' ')}; total ${result.seconds} s`)
  if (o.json) console.log(JSON.stringify(result))
}

function largestSendable(limit: number): number {
  let lo = 0
  let hi = limit
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2)
    if (fileLayout(mid).ciphertextSize <= MAX_BLOB_BYTES) lo = mid
    else hi = mid - 1
  }
  return lo
}

function writeRandomFile(path: string, size: number): void {
  const chunk = new Uint8Array(16 * MIB)
  const fd = openSync(path, 'w')
  try {
    for (let done = 0; done < size; ) {
      const n = Math.min(chunk.length, size - done)
      randomFillSync(chunk, 0, n)
      writeSync(fd, chunk, 0, n)
      done += n
    }
  } finally {
    closeSync(fd)
  }
}

if (import.meta.url === `file://${process.argv[1]}` && process.argv[2] === '--group-members') {
  runMembers(JSON.parse(process.argv[3]!) as MembersConfig).catch((error: unknown) => {
    console.error(error)
    process.exit(1)
  })
} else if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error)
      process.exit(1)
    },
  )
}
