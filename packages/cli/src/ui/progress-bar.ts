/**
 * The progress bar of long transfers (`file send`, `file get`), drawn on stderr with `\r` so that
 * stdout stays clean for results. Off in --json mode and when stderr is not a terminal (a log
 * file full of carriage returns helps nobody).
 *
 * A small local implementation behind `ProgressBar`, so `cli-progress` can replace it in one place.
 */
export interface ProgressBar {
  update(done: number, total: number): void
  /** Draws the final state and ends the line. */
  stop(): void
}

export interface ProgressTarget {
  write(text: string): unknown
  readonly isTTY?: boolean
  readonly columns?: number
}

/** Redraws at most this often; a 2 GiB file reports progress ~32k times. */
export const REDRAW_INTERVAL_MS = 100
const BAR_MIN_WIDTH = 10
const BAR_MAX_WIDTH = 40

export function createProgressBar(
  target: ProgressTarget,
  label: string,
  options: { readonly enabled: boolean; readonly now?: () => number },
): ProgressBar {
  if (!options.enabled || !target.isTTY) return { update() {}, stop() {} }
  const now = options.now ?? Date.now
  const started = now()
  let last = -Infinity
  let state = { done: 0, total: 0 }
  let drawn = false
  const draw = () => {
    const width = Math.max(40, Math.min(target.columns ?? 80, 120))
    target.write(`\r${renderProgressLine({ label, ...state, elapsedMs: now() - started, width })}`)
    drawn = true
  }
  return {
    update(done, total) {
      state = { done, total }
      const t = now()
      if (t - last >= REDRAW_INTERVAL_MS || done >= total) {
        last = t
        draw()
      }
    },
    stop() {
      if (!drawn && state.total === 0) return
      draw()
      target.write('\n')
    },
  }
}

/** One line: `label [#####-----]  45%  12.0 MiB/26.7 MiB  8.1 MiB/s`, at most `width` columns. */
export function renderProgressLine(p: {
  readonly label: string
  readonly done: number
  readonly total: number
  readonly elapsedMs: number
  readonly width: number
}): string {
  const fraction = p.total > 0 ? Math.min(1, Math.max(0, p.done / p.total)) : 0
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4)
  const amounts = `${formatBytes(p.done)}/${formatBytes(p.total)}`
  const rate = p.elapsedMs > 0 ? `${formatBytes((p.done * 1000) / p.elapsedMs)}/s` : ''
  const tail = ` ${percent}  ${amounts}  ${rate}`.trimEnd()
  const label = p.label.length > 24 ? `${p.label.slice(0, 23)}…` : p.label
  const room = p.width - label.length - tail.length - 3
  const barWidth = Math.max(BAR_MIN_WIDTH, Math.min(BAR_MAX_WIDTH, room))
  const filled = Math.round(fraction * barWidth)
  return `${label} [${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]${tail}`
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = n
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit]}`
}
