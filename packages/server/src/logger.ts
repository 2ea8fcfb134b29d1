/**
 * Structured logs: one JSON object per line. Callers pass only fields that are safe to keep:
 * never content, keys, tokens, invite codes or signatures. Addresses appear only when the
 * operator turned on `--log-ip`; otherwise `address()` drops them.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
export type LogFields = Readonly<Record<string, string | number | boolean | null | undefined>>

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export interface Logger {
  log(level: LogLevel, event: string, fields?: LogFields): void
  /** The address to log: the address itself with `--log-ip`, otherwise undefined (left out). */
  address(remoteAddress: string | undefined): string | undefined
}

export function createLogger(options: {
  level: LogLevel
  logIp: boolean
  write?: (line: string) => void
  now?: () => number
}): Logger {
  const write = options.write ?? ((line: string) => process.stdout.write(line + '\n'))
  const now = options.now ?? Date.now
  const threshold = LEVELS[options.level]
  return {
    log(level, event, fields = {}) {
      if (LEVELS[level] < threshold) return
      write(JSON.stringify({ time: new Date(now()).toISOString(), level, event, ...fields }))
    },
    address(remoteAddress) {
      return options.logIp ? remoteAddress : undefined
    },
  }
}

/** A logger that keeps lines in memory, for tests that check what is (not) logged. */
export function createMemoryLogger(logIp = false): Logger & { lines: string[] } {
  const lines: string[] = []
  const logger = createLogger({ level: 'debug', logIp, write: (line) => lines.push(line) })
  return Object.assign(logger, { lines })
}
