/**
 * Closed-loop messaging driver for `bench:e2e`, the same for the SDK and for the raw-envelope
 * baseline: every sender keeps up to `window` messages sent and not yet received by its partner.
 * A message is a tag `"<sender>:<seq>"`; its latency runs from the start of the send call to the
 * receiver's callback (for the SDK: decrypted and persisted). Counted over a measured interval
 * after a warm-up; then senders stop and the backlog drains (bounded).
 */
import { percentile } from './relay-stats.ts'

export interface LoopSender {
  /** Sends `tag` to this sender's partner; resolves when the server has taken it. */
  send(tag: string): Promise<void>
}

export interface LoopOptions {
  readonly window: number
  readonly warmupMs: number
  readonly measureMs: number
  /** Longest wait for messages still in flight when the senders stop. */
  readonly drainMs: number
}

export interface LoopResult {
  readonly delivered: number
  readonly perSecond: number
  readonly p50Ms: number
  readonly p99Ms: number
  /** Messages sent in the whole run and never received within the drain. */
  readonly undelivered: number
  readonly sendErrors: number
}

export interface ClosedLoop {
  /** The receiver's side: call on receipt of a tag (any other text is ignored). */
  received(tag: string): void
  run(): Promise<LoopResult>
}

export function createClosedLoop(senders: readonly LoopSender[], o: LoopOptions): ClosedLoop {
  const sentAt = new Map<string, number>()
  const outstanding = new Array<number>(senders.length).fill(0)
  const wake: ((() => void) | null)[] = new Array(senders.length).fill(null)
  const latencies: number[] = []
  let measuring = false
  let startedAt = 0
  let endedAt = 0
  let delivered = 0
  let sendErrors = 0
  let stop = false

  return {
    received(tag) {
      const at = sentAt.get(tag)
      if (at === undefined) return
      sentAt.delete(tag)
      const now = performance.now()
      const i = Number(tag.slice(0, tag.indexOf(':')))
      outstanding[i]!--
      if (measuring) delivered++
      if (at >= startedAt && at <= endedAt) latencies.push(now - at)
      wake[i]?.()
    },
    async run() {
      startedAt = Number.POSITIVE_INFINITY
      endedAt = Number.POSITIVE_INFINITY
      const loop = async (i: number) => {
        let seq = 0
        while (!stop) {
          if (outstanding[i]! >= o.window) {
            await new Promise<void>((resolve) => {
              wake[i] = resolve
              setTimeout(resolve, 200) // re-check `stop` even if nothing arrives
            })
            wake[i] = null
            continue
          }
          const tag = `${i}:${seq++}`
          outstanding[i]!++
          sentAt.set(tag, performance.now())
          try {
            await senders[i]!.send(tag)
          } catch {
            sendErrors++
            sentAt.delete(tag)
            outstanding[i]!--
            await new Promise((r) => setTimeout(r, 50))
          }
        }
      }
      const loops = senders.map((_, i) => loop(i))
      await new Promise((r) => setTimeout(r, o.warmupMs))
      startedAt = performance.now()
      endedAt = startedAt + o.measureMs
      measuring = true
      await new Promise((r) => setTimeout(r, o.measureMs))
      measuring = false
      const measuredMs = performance.now() - startedAt
      stop = true
      for (const w of wake) w?.()
      await Promise.all(loops)
      const deadline = performance.now() + o.drainMs
      while (sentAt.size > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50))
      latencies.sort((a, b) => a - b)
      return {
        delivered,
        perSecond: (delivered / measuredMs) * 1000,
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
        undelivered: sentAt.size,
        sendErrors,
      }
    },
  }
}
