/**
 * The load generator of `bench:relay`, run as its own process (forked by relay.bench.ts, driven
 * over IPC) so its CPU is measured apart from the server's. It holds clients [from, to) of the
 * population (several generators split it) and runs one phase at a time, starting at the
 * wall-clock instant the command names:
 *
 * - `throughput` (closed loop): every client keeps `window` sends unacknowledged; each ack
 *   releases the next send. Counts deliveries during the measured interval.
 * - `rate` (open loop): `rate` envelopes per second in total across generators, each stamped with
 *   the time it was *scheduled* (not sent), so a stalled server shows up in the latency instead of
 *   slowing the generator down (no coordinated omission).
 *
 * The payload layout is in relay-payload.ts.
 */
import { performance } from 'node:perf_hooks'
import { createCeilingAdapter, type RelayAdapter, type RelayConnection } from './relay-adapters.ts'
import { makePayload, readHeader } from './relay-payload.ts'

export type AdapterSpec =
  | { kind: 'ceiling'; url: string }
  | { kind: 'module'; module: string; options: unknown }

export type LoadCommand =
  | { type: 'connect'; adapter: AdapterSpec; from: number; to: number; total: number }
  | {
      type: 'phase'
      phase: number
      mode: 'throughput' | 'rate'
      /**
       * When the phase starts, in ms since the epoch (`now()`): the same instant for every
       * generator, so their warm-up and measured intervals coincide with the server's CPU reading.
       */
      startAt: number
      size: number
      warmupMs: number
      measureMs: number
      window: number
      /** Envelopes per second from this generator (rate mode). */
      rate: number
      /**
       * Rate mode: this generator's schedule is shifted by this many ms, so several generators
       * interleave their sends instead of sending in the same millisecond.
       */
      offsetMs: number
      /** Generators in the run: with one, every recipient is ours and the drain can count exactly. */
      generators: number
      /** How long to wait for stragglers after sending stops. */
      drainMs: number
    }
  | { type: 'exit' }

export type LoadReply =
  | { type: 'connected'; clients: number; connectMs: number }
  | { type: 'result'; result: PhaseResult }
  | { type: 'error'; message: string }

export interface PhaseResult {
  sent: number
  acked: number
  /** Deliveries of this phase's envelopes to this generator's clients, in the measured interval. */
  deliveredMeasured: number
  /** All deliveries of this phase's envelopes to this generator's clients. */
  deliveredTotal: number
  /** Sent by this generator during the measured interval (rate mode: scheduled in it). */
  sentMeasured: number
  measuredMs: number
  /**
   * Latencies (ms) of envelopes scheduled in the measured interval, rate mode only: from the
   * scheduled send time in the payload to the `message` event of the recipient's socket.
   */
  latencies: number[]
  /**
   * The same envelopes' latencies from the moment the generator actually sent them: the part of
   * `latencies` after the generator's own send lag (its stalls on the receiving side remain in).
   */
  latenciesFromSend: number[]
  /** Rate mode: the scheduled send time (ms since the epoch) of each entry of `latencies`. */
  scheduledAt: number[]
  /**
   * Rate mode: deliveries of an envelope of the measured interval that this generator's clients
   * had already received (at-least-once delivery: a redelivery before the ack took effect). Only
   * the first delivery is in `latencies`.
   */
  duplicates: number
  /**
   * Rate mode: how late this generator sent each envelope of the measured interval (ms from its
   * scheduled time to the `send` call). This lateness is inside `latencies` and belongs to the
   * generator, not the server: its p99 says whether the generator kept to its schedule.
   */
  sendLags: number[]
  cpuUserMs: number
  cpuSystemMs: number
  closedConnections: number
  /** Acknowledged but not yet delivered when the drain gave up: backlog carried into the next phase. */
  backlog: number
}

/** The most unacknowledged sends per client in the closed loop (`--window`). */
export const MAX_WINDOW = 64
const now = () => performance.timeOrigin + performance.now()

const connections: RelayConnection[] = []
let from = 0
let total = 0
let closedConnections = 0
/** Per phase: the handlers look up the current phase's counters. */
let current: {
  phase: number
  measuring: boolean
  deliveredMeasured: number
  deliveredTotal: number
  acked: number
  latencies: number[]
  latenciesFromSend: number[]
  scheduledAt: number[]
  /** Envelopes of the latency window delivered so far, by sender × 2^32 + counter. */
  seen: Set<number>
  duplicates: number
  latencyFrom: number
  latencyTo: number
  onAck: (client: number) => void
} | null = null

function send(reply: LoadReply): void {
  process.send?.(reply)
}

async function loadAdapter(spec: AdapterSpec): Promise<RelayAdapter> {
  if (spec.kind === 'ceiling') return createCeilingAdapter(spec.url)
  const mod = (await import(spec.module)) as { createAdapter(options: unknown): Promise<RelayAdapter> }
  return await mod.createAdapter(spec.options)
}

async function connectAll(command: Extract<LoadCommand, { type: 'connect' }>): Promise<void> {
  const started = now()
  const adapter = await loadAdapter(command.adapter)
  from = command.from
  total = command.total
  const indices = Array.from({ length: command.to - command.from }, (_, i) => command.from + i)
  // Bounded concurrency: a burst of 1,000 handshakes at once overflows accept queues.
  const CONCURRENCY = 50
  const next = { i: 0 }
  const worker = async () => {
    while (next.i < indices.length) {
      const slot = next.i++
      const index = indices[slot]!
      connections[slot] = await adapter.connect(index, {
        onAck: () => current?.onAck(slot),
        onDeliver: (payload) => onDeliver(payload),
        onClose: () => {
          closedConnections += 1
        },
      })
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  send({ type: 'connected', clients: connections.length, connectMs: now() - started })
}

function onDeliver(payload: Uint8Array): void {
  const phase = current
  if (phase === null) return
  const header = readHeader(payload)
  if (header === null || header.phase !== phase.phase) return
  phase.deliveredTotal += 1
  if (phase.measuring) phase.deliveredMeasured += 1
  const { scheduled } = header
  if (scheduled >= phase.latencyFrom && scheduled < phase.latencyTo) {
    // Senders are client slots (below 2^21), so the key is an exact integer.
    const key = header.sender * 2 ** 32 + header.counter
    if (phase.seen.has(key)) {
      phase.duplicates += 1
      return
    }
    phase.seen.add(key)
    const latency = now() - scheduled
    phase.latencies.push(latency)
    phase.latenciesFromSend.push(latency - header.sendLagMs)
    phase.scheduledAt.push(scheduled)
  }
}

/** Deterministic spread of recipients, never the sender itself (no randomness needed for load). */
function recipientOf(sender: number, counter: number): number {
  return (sender + 1 + ((counter * 7919) % (total - 1))) % total
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const sleepUntil = (at: number) => sleep(Math.max(0, at - now()))

async function runPhase(command: Extract<LoadCommand, { type: 'phase' }>): Promise<PhaseResult> {
  const counters = new Array<number>(connections.length).fill(0)
  let sent = 0
  let sentMeasured = 0
  let sending = true
  const state = {
    phase: command.phase,
    measuring: false,
    deliveredMeasured: 0,
    deliveredTotal: 0,
    acked: 0,
    latencies: [] as number[],
    latenciesFromSend: [] as number[],
    scheduledAt: [] as number[],
    seen: new Set<number>(),
    duplicates: 0,
    latencyFrom: Number.POSITIVE_INFINITY,
    latencyTo: Number.POSITIVE_INFINITY,
    onAck: (_client: number) => {},
  }
  current = state
  const sendOne = (slot: number, scheduled: number) => {
    const sender = from + slot
    const counter = counters[slot]!++
    connections[slot]!.send(
      recipientOf(sender, counter),
      makePayload(command.size, { phase: command.phase, sender, counter, scheduled }, now()),
      counter,
    )
    sent += 1
  }

  const sendLags: number[] = []
  const cpuBefore = process.cpuUsage()
  let measureStart = 0
  let measureEnd = 0
  const beginMeasure = () => {
    state.measuring = true
    measureStart = now()
  }
  const endMeasure = () => {
    state.measuring = false
    measureEnd = now()
  }
  let cpu = process.cpuUsage(cpuBefore)

  if (command.mode === 'throughput') {
    await sleepUntil(command.startAt)
    const window = Math.min(Math.max(1, command.window), MAX_WINDOW)
    state.onAck = (slot) => {
      state.acked += 1
      if (!sending) return
      sendOne(slot, now())
      if (state.measuring) sentMeasured += 1
    }
    for (let w = 0; w < window; w++)
      for (let slot = 0; slot < connections.length; slot++) sendOne(slot, now())
    await sleepUntil(command.startAt + command.warmupMs)
    const cpuAtBegin = process.cpuUsage()
    beginMeasure()
    await sleepUntil(command.startAt + command.warmupMs + command.measureMs)
    endMeasure()
    cpu = process.cpuUsage(cpuAtBegin)
    sending = false
  } else {
    state.onAck = () => {
      state.acked += 1
    }
    const start = command.startAt + command.offsetMs
    const interval = 1000 / command.rate
    const stopAt = start + command.warmupMs + command.measureMs
    state.latencyFrom = command.startAt + command.warmupMs
    state.latencyTo = command.startAt + command.warmupMs + command.measureMs
    let scheduledCount = 0
    let slot = 0
    let cpuAtBegin = process.cpuUsage()
    await new Promise<void>((resolve) => {
      const tick = () => {
        const t = now()
        if (!state.measuring && t >= state.latencyFrom && measureStart === 0) {
          cpuAtBegin = process.cpuUsage()
          beginMeasure()
        }
        // Send everything whose scheduled time has come, stamped with that time.
        for (;;) {
          const scheduled = start + scheduledCount * interval
          if (scheduled > t || scheduled >= stopAt) break
          sendOne(slot, scheduled)
          if (scheduled >= state.latencyFrom && scheduled < state.latencyTo) {
            sentMeasured += 1
            sendLags.push(now() - scheduled)
          }
          scheduledCount += 1
          slot = (slot + 1) % connections.length
        }
        if (t >= stopAt) {
          endMeasure()
          cpu = process.cpuUsage(cpuAtBegin)
          resolve()
        } else setTimeout(tick, 1)
      }
      setTimeout(tick, Math.max(0, start - now()))
    })
    sending = false
  }

  // Backlog: wait (bounded) until every acknowledged envelope of this phase was delivered, so the
  // next phase does not queue behind this one's leftovers in the same mailboxes. With one
  // generator every recipient is ours; with several, this settles when deliveries stop changing
  // (the run sums `acked` and `deliveredTotal` over generators for the backlog).
  const drainUntil = now() + command.drainMs
  let last = -1
  let stable = 0
  while (now() < drainUntil) {
    if (command.generators === 1 && state.acked >= sent && state.deliveredTotal >= state.acked) break
    stable = state.deliveredTotal === last ? stable + 1 : 0
    if (stable >= 20 && state.acked >= sent) break
    last = state.deliveredTotal
    await sleep(50)
  }
  return {
    sent,
    acked: state.acked,
    deliveredMeasured: state.deliveredMeasured,
    deliveredTotal: state.deliveredTotal,
    sentMeasured,
    measuredMs: measureEnd - measureStart,
    latencies: state.latencies,
    latenciesFromSend: state.latenciesFromSend,
    scheduledAt: state.scheduledAt,
    duplicates: state.duplicates,
    sendLags,
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
    closedConnections,
    backlog: Math.max(0, state.acked - state.deliveredTotal),
  }
}

// Commands are taken only when this file runs as a forked generator, not when the bench imports
// its constants.
if (import.meta.url === `file://${process.argv[1]}`) {
  process.on('message', (command: LoadCommand) => {
    const run = async () => {
      if (command.type === 'connect') await connectAll(command)
      else if (command.type === 'phase') send({ type: 'result', result: await runPhase(command) })
      else {
        for (const c of connections) c.close()
        process.exit(0)
      }
    }
    run().catch((error: unknown) => {
      send({ type: 'error', message: error instanceof Error ? error.message : String(error) })
    })
  })
}
