/**
 * The arithmetic of `bench:relay`: the latency timeline of `--timeline-ms` (windows by scheduled
 * send time) and the CPU read from /proc.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { describe, it } from 'node:test'
import {
  latencyTimeline,
  postgresCpuDelta,
  readProcessCpuSeconds,
  readResidentBytes,
} from '../../bench/relay-stats.ts'

describe('latencyTimeline', () => {
  it('groups latencies by the window their envelope was scheduled in', () => {
    const from = 1_000_000
    // Window 0: 100 envelopes at 1..100 ms; window 2 (window 1 empty): one slow envelope.
    const scheduled = [...Array.from({ length: 100 }, (_, i) => from + i * 5), from + 2_100]
    const latencies = [...Array.from({ length: 100 }, (_, i) => i + 1), 250]
    // Listed out of order: the windows come back sorted by time.
    const order = [100, ...Array.from({ length: 100 }, (_, i) => 99 - i)]
    const timeline = latencyTimeline(
      order.map((i) => scheduled[i]!),
      order.map((i) => latencies[i]!),
      from,
      1_000,
    )
    assert.deepEqual(timeline, [
      { startMs: 0, n: 100, p50Ms: 50, p99Ms: 99, maxMs: 100 },
      { startMs: 2_000, n: 1, p50Ms: 250, p99Ms: 250, maxMs: 250 },
    ])
  })

  it('counts an envelope scheduled on a boundary in the later window', () => {
    const timeline = latencyTimeline([999, 1_000], [7, 9], 0, 1_000)
    assert.deepEqual(
      timeline.map((w) => [w.startMs, w.n, w.maxMs]),
      [
        [0, 1, 7],
        [1_000, 1, 9],
      ],
    )
  })

  it('refuses mismatched lists and a window that is not positive', () => {
    assert.throws(() => latencyTimeline([1, 2], [1], 0, 1_000), RangeError)
    assert.throws(() => latencyTimeline([1], [1], 0, 0), RangeError)
    assert.deepEqual(latencyTimeline([], [], 0, 1_000), [])
  })
})

describe('CPU from /proc', () => {
  it('counts a child that ended and was waited for only with reapedChildren', () => {
    const ownBefore = readProcessCpuSeconds(process.pid)
    const treeBefore = readProcessCpuSeconds(process.pid, true)
    // The child spins until it has used 300 ms of user CPU, then exits; spawnSync waits for it.
    const child = spawnSync(process.execPath, [
      '-e',
      'const t = process.cpuUsage(); while (process.cpuUsage(t).user < 300_000) {}',
    ])
    assert.equal(child.status, 0)
    const own = readProcessCpuSeconds(process.pid) - ownBefore
    const tree = readProcessCpuSeconds(process.pid, true) - treeBefore
    // /proc counts in 10 ms ticks.
    assert.ok(tree - own >= 0.29, `children's CPU ${tree - own} s`)
  })

  it("keeps an ended backend's CPU in the sum through its parent's reaped-children figure", () => {
    // pid 1 is the postmaster; backend 20 ends during the interval after 3 s (1 s of it before).
    const begin = new Map([
      [1, 10],
      [20, 1],
      [21, 5],
    ])
    const end = new Map([
      [1, 13],
      [21, 7],
      [22, 0.5],
    ])
    // Backend 20: 2 s in the interval; 21: 2 s; 22 (new): 0.5 s.
    assert.equal(postgresCpuDelta(begin, end), 4.5)
  })
})

describe('resident memory from /proc', () => {
  it('reads VmRSS in bytes, following what the process holds', () => {
    const before = readResidentBytes(process.pid)
    const rss = process.memoryUsage().rss
    assert.ok(Math.abs(before - rss) < rss / 4, `${before} against process.memoryUsage() ${rss}`)
    // 64 MiB touched page by page: resident from then on.
    const held = Buffer.alloc(64 * 2 ** 20, 1)
    const after = readResidentBytes(process.pid)
    assert.ok(after - before > 48 * 2 ** 20, `${after - before} bytes more`)
    assert.equal(held[held.length - 1], 1)
  })

  it('throws for a process that does not exist', () => {
    assert.throws(() => readResidentBytes(2 ** 22 + 1))
  })
})
