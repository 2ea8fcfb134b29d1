/**
 * `bench:relay`'s verdicts on issue #3's targets: each judged against its limit, and an absolute
 * target that the ceiling itself misses reported as beyond the machine.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { formatVerdict, judgeTargets, type PhaseRow } from '../../bench/relay-targets.ts'

const row = (
  server: string,
  size: number,
  mode: PhaseRow['mode'],
  deliveredPerSecond: number,
  deliveredPerServerCpuSecond: number,
  p99Ms?: number,
): PhaseRow => ({ server, size, mode, deliveredPerSecond, deliveredPerServerCpuSecond, p99Ms })

const run: PhaseRow[] = [
  row('ceiling', 256, 'throughput', 50_000, 60_000),
  row('ceiling', 256, 'rate', 5_000, 12_000, 6),
  row('ceiling', 4096, 'throughput', 36_000, 40_000),
  row('ceiling', 4096, 'rate', 5_000, 9_000, 60),
  row('sqlite', 256, 'throughput', 30_000, 30_000),
  row('sqlite', 256, 'rate', 5_000, 8_000, 49.9),
  row('sqlite', 4096, 'throughput', 20_000, 19_999),
  row('sqlite', 4096, 'rate', 5_000, 7_000, 70),
  row('postgres', 256, 'throughput', 20_000, 25_000),
  row('postgres', 256, 'rate', 5_000, 7_000, 50),
  row('postgres', 4096, 'throughput', 15_000, 16_000),
  row('postgres', 4096, 'rate', 5_000, 6_000, 120),
]

describe('judgeTargets', () => {
  const verdicts = judgeTargets(run, 5_000)
  const find = (target: string, server: string, size: number) =>
    verdicts.find((v) => v.target === target && v.server === server && v.size === size)

  it('judges SQLite per server CPU-second against half the ceiling, at each size', () => {
    assert.deepEqual(find('sqlite-share-of-ceiling', 'sqlite', 256), {
      target: 'sqlite-share-of-ceiling',
      server: 'sqlite',
      size: 256,
      value: 0.5,
      met: true,
    })
    const at4k = find('sqlite-share-of-ceiling', 'sqlite', 4096)!
    assert.equal(at4k.met, false)
    assert.ok(Math.abs(at4k.value - 0.499975) < 1e-9)
  })

  it('holds the p99 strictly under 50 ms and shows the ceiling beside it', () => {
    assert.equal(find('p99', 'sqlite', 256)!.met, true)
    assert.equal(find('p99', 'postgres', 256)!.met, false, '50.0 ms is not under 50 ms')
    assert.deepEqual(find('p99', 'postgres', 4096)!.ceiling, { value: 60, met: false })
    assert.deepEqual(find('p99', 'sqlite', 256)!.ceiling, { value: 6, met: true })
    assert.equal(find('p99', 'ceiling', 256), undefined, 'the ceiling is not judged itself')
  })

  it('reads the PostgreSQL throughput target at 256 B only, inclusive of 20,000/s', () => {
    assert.deepEqual(find('postgres-per-second', 'postgres', 256), {
      target: 'postgres-per-second',
      server: 'postgres',
      size: 256,
      value: 20_000,
      met: true,
      ceiling: { value: 50_000, met: true },
    })
    assert.equal(find('postgres-per-second', 'postgres', 4096), undefined)
  })

  it('judges no p99 at another offered rate', () => {
    const at2500 = judgeTargets(run, 2_500)
    assert.equal(
      at2500.some((v) => v.target === 'p99'),
      false,
    )
    assert.equal(at2500.length, 3)
  })

  it('judges only what the run measured', () => {
    const postgresOnly = judgeTargets(
      run.filter((p) => p.server === 'postgres'),
      5_000,
    )
    assert.deepEqual(
      postgresOnly.map((v) => [v.target, v.size, v.ceiling]),
      [
        ['postgres-per-second', 256, undefined],
        ['p99', 256, undefined],
        ['p99', 4096, undefined],
      ],
    )
  })
})

describe('formatVerdict', () => {
  it('says when the ceiling misses an absolute target too', () => {
    const [slowMachine] = judgeTargets(
      [row('ceiling', 256, 'throughput', 18_000, 22_000), row('postgres', 256, 'throughput', 10_400, 15_000)],
      5_000,
    )
    const line = formatVerdict(slowMachine!)
    assert.match(line, /postgres 256 B ≥ 20000\/s in the closed loop: 10400\/s — missed/)
    assert.match(line, /the ceiling, with no storage: 18000\/s, also missed: this machine cannot show/)
    const fast = formatVerdict(
      judgeTargets(
        [row('ceiling', 256, 'rate', 5_000, 1, 6), row('sqlite', 256, 'rate', 5_000, 1, 9.25)],
        5_000,
      )[0]!,
    )
    assert.equal(fast, '  sqlite 256 B p99 < 50 ms at 5000/s: 9.3 ms — met')
  })
})
