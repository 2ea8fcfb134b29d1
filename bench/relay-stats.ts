/** CPU and latency arithmetic for `bench:relay`: read from /proc, so it measures any process. */
import { readdirSync, readFileSync } from 'node:fs'

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat (proc(5)); 100 on every Linux we run. */
export const CLOCK_TICKS_PER_SECOND = 100

/**
 * User + system CPU seconds of a process and all its threads (proc(5): fields 14 and 15); with
 * `reapedChildren`, also those of its children that have ended and been waited for (fields 16
 * and 17).
 */
export function readProcessCpuSeconds(pid: number, reapedChildren = false): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  let ticks = Number(fields[11]) + Number(fields[12])
  if (reapedChildren) ticks += Number(fields[13]) + Number(fields[14])
  return ticks / CLOCK_TICKS_PER_SECOND
}

/**
 * CPU seconds of every process named `postgres` (the postmaster and its backends), by pid, each
 * with its reaped children's: the postmaster reaps a backend that ends, so that backend's CPU
 * moves into the postmaster's figure instead of leaving the sum.
 */
export function readPostgresCpuSeconds(): Map<number, number> {
  const byPid = new Map<number, number>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim()
      if (comm === 'postgres') byPid.set(Number(entry), readProcessCpuSeconds(Number(entry), true))
    } catch {
      // The process ended between readdir and read.
    }
  }
  return byPid
}

/**
 * PostgreSQL CPU over an interval: the difference of the two sums. A backend that started
 * meanwhile counts from 0; one that ended meanwhile left the first sum's share of it in the
 * postmaster's reaped-children figure, so it is counted once. (Until 2026-11-27, twelfth round,
 * reaped children were not read, and a backend that ended in the interval took its CPU with it.)
 */
export function postgresCpuDelta(
  begin: ReadonlyMap<number, number>,
  end: ReadonlyMap<number, number>,
): number {
  let total = 0
  for (const seconds of end.values()) total += seconds
  for (const seconds of begin.values()) total -= seconds
  return Math.max(0, total)
}

/** A process's resident memory in bytes (proc(5) /proc/<pid>/status, `VmRSS`, given in kB). */
export function readResidentBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]
  if (kib === undefined) throw new Error(`no VmRSS for process ${pid}`)
  return Number(kib) * 1024
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
