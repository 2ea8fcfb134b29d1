/** CPU and latency arithmetic for `bench:relay`: read from /proc, so it measures any process. */
import { readdirSync, readFileSync } from 'node:fs'

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat (proc(5)); 100 on every Linux we run. */
export const CLOCK_TICKS_PER_SECOND = 100

/** User + system CPU seconds of a process and all its threads (proc(5): fields 14 and 15). */
export function readProcessCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const utime = Number(fields[11])
  const stime = Number(fields[12])
  return (utime + stime) / CLOCK_TICKS_PER_SECOND
}

/** CPU seconds of every process named `postgres` (the server and its backends), by pid. */
export function readPostgresCpuSeconds(): Map<number, number> {
  const byPid = new Map<number, number>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim()
      if (comm === 'postgres') byPid.set(Number(entry), readProcessCpuSeconds(Number(entry)))
    } catch {
      // The process ended between readdir and read.
    }
  }
  return byPid
}

/**
 * PostgreSQL CPU over an interval, per process: a backend that started meanwhile counts from 0,
 * one that ended meanwhile is lost (its last figures are gone). A plain difference of totals
 * goes negative when backends of other clients of the same server come and go.
 */
export function postgresCpuDelta(
  begin: ReadonlyMap<number, number>,
  end: ReadonlyMap<number, number>,
): number {
  let total = 0
  for (const [pid, seconds] of end) total += Math.max(0, seconds - (begin.get(pid) ?? 0))
  return total
}

/** The 1-minute load average (proc(5) /proc/loadavg): how crowded the shared cores were. */
export function readLoadAverage(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0])
}

/** Nearest-rank percentile (p in 0..100) of an already sorted array; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!
}

export interface LatencyWindow {
  /** Start of the window, ms after `from`. */
  readonly startMs: number
  /** Envelopes scheduled in the window and delivered. */
  readonly n: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
}

/**
 * The latencies by when their envelopes were scheduled, in windows of `windowMs` from `from`:
 * where in a run the tail comes from (a stall, a checkpoint, write-back). `scheduledAt[i]` belongs
 * to `latencies[i]`. Windows with no delivery are left out.
 */
export function latencyTimeline(
  scheduledAt: readonly number[],
  latencies: readonly number[],
  from: number,
  windowMs: number,
): LatencyWindow[] {
  if (scheduledAt.length !== latencies.length) throw new RangeError('one scheduled time per latency')
  if (!(windowMs > 0)) throw new RangeError('windowMs must be positive')
  const byWindow = new Map<number, number[]>()
  for (let i = 0; i < latencies.length; i++) {
    const w = Math.floor((scheduledAt[i]! - from) / windowMs)
    let list = byWindow.get(w)
    if (list === undefined) {
      list = []
      byWindow.set(w, list)
    }
    list.push(latencies[i]!)
  }
  return [...byWindow.keys()]
    .sort((a, b) => a - b)
    .map((w) => {
      const sorted = byWindow.get(w)!.sort((a, b) => a - b)
      return {
        startMs: w * windowMs,
        n: sorted.length,
        p50Ms: percentile(sorted, 50),
        p99Ms: percentile(sorted, 99),
        maxMs: sorted[sorted.length - 1]!,
      }
    })
}
