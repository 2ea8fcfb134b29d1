/**
 * The targets issue #3 sets `bench:relay`, judged from one run's phases, each beside the no-storage
 * ceiling's figure in the same run. The share of the ceiling is relative, so any machine can show
 * it; the p99 and PostgreSQL's envelopes per second are absolute. Where the ceiling, which stores
 * nothing, misses an absolute target itself, the machine is too slow or too crowded to show that
 * target: the verdict says so, rather than blaming the storage.
 */

/** Targets of issue #3, §11. */
export const RELAY_TARGETS = {
  /** Durable SQLite delivers at least this share of the ceiling's envelopes per server CPU-second. */
  sqliteShareOfCeiling: 0.5,
  /** p99 from scheduled send to delivery at the offered rate below, in ms (strictly less). */
  p99Ms: 50,
  /** The offered rate the p99 target is set at. */
  offeredRate: 5_000,
  /** PostgreSQL's delivered envelopes per second in the closed loop, with batching. */
  postgresPerSecond: 20_000,
  /** The envelope size the PostgreSQL throughput target is read at (the smaller size). */
  postgresThroughputSize: 256,
} as const

/** The fields of a `bench:relay` phase the verdicts read. */
export interface PhaseRow {
  readonly server: string
  readonly size: number
  readonly mode: 'throughput' | 'rate'
  readonly deliveredPerSecond: number
  readonly deliveredPerServerCpuSecond: number
  readonly p99Ms?: number
}

export interface TargetVerdict {
  readonly target: 'sqlite-share-of-ceiling' | 'p99' | 'postgres-per-second'
  readonly server: string
  readonly size: number
  readonly value: number
  readonly met: boolean
  /** Absolute targets: the ceiling's own figure in the same run, and whether it meets the target. */
  readonly ceiling?: { readonly value: number; readonly met: boolean }
}

/** Every target the phases of one run can be judged on (none for a phase the run did not have). */
export function judgeTargets(phases: readonly PhaseRow[], offeredRate: number): TargetVerdict[] {
  const find = (server: string, size: number, mode: PhaseRow['mode']) =>
    phases.find((p) => p.server === server && p.size === size && p.mode === mode)
  const verdicts: TargetVerdict[] = []
  for (const phase of phases) {
    const ceiling = find('ceiling', phase.size, phase.mode)
    if (phase.server === 'sqlite' && phase.mode === 'throughput' && ceiling !== undefined) {
      const value = phase.deliveredPerServerCpuSecond / ceiling.deliveredPerServerCpuSecond
      verdicts.push({
        target: 'sqlite-share-of-ceiling',
        server: phase.server,
        size: phase.size,
        value,
        met: value >= RELAY_TARGETS.sqliteShareOfCeiling,
      })
    }
    if (phase.server === 'ceiling') continue
    if (phase.mode === 'rate' && offeredRate === RELAY_TARGETS.offeredRate && phase.p99Ms !== undefined) {
      const meets = (p99: number) => p99 < RELAY_TARGETS.p99Ms
      verdicts.push({
        target: 'p99',
        server: phase.server,
        size: phase.size,
        value: phase.p99Ms,
        met: meets(phase.p99Ms),
        ...(ceiling?.p99Ms !== undefined && {
          ceiling: { value: ceiling.p99Ms, met: meets(ceiling.p99Ms) },
        }),
      })
    }
    if (
      phase.server === 'postgres' &&
      phase.mode === 'throughput' &&
      phase.size === RELAY_TARGETS.postgresThroughputSize
    ) {
      const meets = (perSecond: number) => perSecond >= RELAY_TARGETS.postgresPerSecond
      verdicts.push({
        target: 'postgres-per-second',
        server: phase.server,
        size: phase.size,
        value: phase.deliveredPerSecond,
        met: meets(phase.deliveredPerSecond),
        ...(ceiling !== undefined && {
          ceiling: { value: ceiling.deliveredPerSecond, met: meets(ceiling.deliveredPerSecond) },
        }),
      })
    }
  }
  return verdicts
}

/** One line per verdict, for the bench's table. */
export function formatVerdict(v: TargetVerdict): string {
  const limit =
    v.target === 'sqlite-share-of-ceiling'
      ? `per server CPU-s ≥ ${RELAY_TARGETS.sqliteShareOfCeiling}× ceiling`
      : v.target === 'p99'
        ? `p99 < ${RELAY_TARGETS.p99Ms} ms at ${RELAY_TARGETS.offeredRate}/s`
        : `≥ ${RELAY_TARGETS.postgresPerSecond}/s in the closed loop`
  const show = (value: number) =>
    v.target === 'sqlite-share-of-ceiling'
      ? `${value.toFixed(2)}×`
      : v.target === 'p99'
        ? `${value.toFixed(1)} ms`
        : `${value.toFixed(0)}/s`
  const machine =
    v.ceiling !== undefined && !v.ceiling.met
      ? ` (the ceiling, with no storage: ${show(v.ceiling.value)}, also missed: this machine cannot show this target)`
      : ''
  return `  ${v.server} ${v.size} B ${limit}: ${show(v.value)} — ${v.met ? 'met' : 'missed'}${machine}`
}
