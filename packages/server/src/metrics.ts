/**
 * A few counters and gauges, rendered in the Prometheus text exposition format (version 0.0.4).
 * Label values come from fixed sets (status codes, error codes, outcomes), never from input,
 * so the number of series stays bounded.
 */

type Labels = Readonly<Record<string, string>>

interface Series {
  readonly help: string
  readonly type: 'counter' | 'gauge'
  readonly values: Map<string, number>
}

export class Metrics {
  private readonly series = new Map<string, Series>()
  private readonly collectors: Array<(metrics: Metrics) => void> = []

  /** Runs `collect` before each render: for gauges read off another component's own counters. */
  addCollector(collect: (metrics: Metrics) => void): void {
    this.collectors.push(collect)
  }

  private get(name: string, type: 'counter' | 'gauge', help: string): Series {
    let s = this.series.get(name)
    if (!s) {
      s = { help, type, values: new Map() }
      this.series.set(name, s)
    }
    return s
  }

  increment(name: string, help: string, labels?: Labels, by = 1): void {
    const s = this.get(name, 'counter', help)
    // Per envelope on the hot path: no labels, no rendering.
    const key = labels === undefined ? '' : renderLabels(labels)
    s.values.set(key, (s.values.get(key) ?? 0) + by)
  }

  setGauge(name: string, help: string, value: number, labels: Labels = {}): void {
    this.get(name, 'gauge', help).values.set(renderLabels(labels), value)
  }

  value(name: string, labels: Labels = {}): number {
    return this.series.get(name)?.values.get(renderLabels(labels)) ?? 0
  }

  render(): string {
    for (const collect of this.collectors) collect(this)
    let out = ''
    for (const [name, s] of this.series) {
      out += `# HELP ${name} ${s.help}\n# TYPE ${name} ${s.type}\n`
      for (const [labels, value] of s.values) out += `${name}${labels} ${value}\n`
    }
    return out
  }
}

function renderLabels(labels: Labels): string {
  const keys = Object.keys(labels)
  if (keys.length === 0) return ''
  keys.sort()
  return `{${keys.map((k) => `${k}="${String(labels[k]).replace(/["\\\n]/g, '_')}"`).join(',')}}`
}
