/**
 * The progress bar of long transfers (`file send`, `file get`), drawn by `cli-progress` on stderr
 * so that stdout stays clean for results. Off in --json mode and when stderr is not a terminal
 * (a log file full of cursor moves helps nobody): then nothing at all is written.
 *
 * The line: `label [#####-----] 45%  12.0 MiB/26.7 MiB  8.1 MiB/s`. The label is a payload value,
 * not part of the format string, so a sender's file name with `{bar}` in it is shown as it is.
 */
import cliProgress from 'cli-progress'

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
const LABEL_MAX = 24
/** The widest the amounts and rate get (`1023.9 GiB/1023.9 GiB  1023.9 MiB/s`, percent, spaces). */
const TAIL_WIDTH = 48

export const PROGRESS_FORMAT = '{label} [{bar}] {percentage}%  {done}/{size}  {rate}'

export function createProgressBar(
  target: ProgressTarget,
  label: string,
  options: { readonly enabled: boolean },
): ProgressBar {
  if (!options.enabled || !target.isTTY) return { update() {}, stop() {} }
  const shown = label.length > LABEL_MAX ? `${label.slice(0, LABEL_MAX - 1)}…` : label
  const columns = target.columns ?? 80
  const bar = new cliProgress.SingleBar({
    stream: target as unknown as NodeJS.WritableStream,
    format: PROGRESS_FORMAT,
    barCompleteChar: '#',
    barIncompleteChar: '-',
    barsize: Math.max(BAR_MIN_WIDTH, Math.min(BAR_MAX_WIDTH, columns - shown.length - TAIL_WIDTH)),
    fps: 1000 / REDRAW_INTERVAL_MS,
    hideCursor: false,
  })
  const started = Date.now()
  let running = false
  const payloadOf = (done: number, total: number) => {
    const elapsed = Date.now() - started
    return {
      label: shown,
      done: formatBytes(done),
      size: formatBytes(total),
      rate: elapsed > 0 ? `${formatBytes((done * 1000) / elapsed)}/s` : '',
    }
  }
  return {
    update(done, total) {
      if (!running) {
        bar.start(total, done, payloadOf(done, total))
        running = true
        return
      }
      bar.setTotal(total)
      bar.update(done, payloadOf(done, total))
    },
    stop() {
      if (!running) return
      running = false
      bar.stop()
    },
  }
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
