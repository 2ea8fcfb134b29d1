/**
 * "This mailbox has mail": the hint that wakes the connection holding a device's WebSocket.
 *
 * A hint is never the truth. The mailbox in storage is; a hint only says "fetch now rather than
 * later". So a notifier may drop, delay, coalesce or repeat hints, and a connection must:
 * 1. subscribe before its first fetch (an envelope stored between the fetch and the subscription
 *    would otherwise wait for the next hint),
 * 2. fetch again whenever `onMail` runs, however often, and
 * 3. fetch again on its own timer (`RESYNC_INTERVAL_MS`), which bounds the delay a lost hint
 *    can cost.
 * Nothing acknowledged can be lost through this module: it carries no envelope, only a wake-up.
 *
 * Two implementations: `createLocalNotifier()` (one process, the embedded default) and
 * `createNatsNotifier()` in `nats-notifier.ts` (several processes sharing PostgreSQL).
 */
import { randomInt } from 'node:crypto'

export interface PublishOptions {
  /**
   * Every connection of the device in this process was already handed the new envelope directly
   * (the connection's cursor moved past it): wake no local listener, only other processes.
   */
  readonly handedLocally?: boolean
}

export interface Notifier {
  /** Says that `deviceId`'s mailbox has new mail. Call it after the envelope is durable. */
  publish(deviceId: string, options?: PublishOptions): Promise<void> | void
  /** Calls `onMail` (at least once, possibly more) after each publish for `deviceId`; returns the unsubscribe. */
  subscribe(deviceId: string, onMail: () => void): () => void
  /** Drops every subscription; later subscribes throw `closed`, later publishes are ignored. */
  close(): Promise<void>
}

/** How often a connection should re-fetch its mailbox without a hint: the worst-case cost of a lost hint. */
export const RESYNC_INTERVAL_MS = 30_000

/**
 * The wait before a connection's next re-scan: uniform in [interval/2, interval], drawn anew for
 * every wait. Connections that authenticated together (a server restart, a network coming back,
 * a load test) would otherwise re-scan together for as long as they stay, each re-scan two
 * storage queries: 1,000 such connections made 2,000 queries within 2 s every 30 s, queued
 * behind the group commits and stalled delivery for a second (docs/benchmarks.md, Relay,
 * fifteenth round). Never longer than the interval, so `RESYNC_INTERVAL_MS` still bounds what a
 * lost hint costs; the mean wait is 3/4 of it. `random(min, max)` returns an integer in
 * [min, max), as `crypto.randomInt` does.
 */
export function resyncDelayMs(
  intervalMs: number,
  random: (min: number, max: number) => number = randomInt,
): number {
  const spread = Math.floor(intervalMs / 2)
  return intervalMs - random(0, spread + 1)
}

/** Device ids are base64url of 16 bytes (22 characters); anything much longer is a bug upstream. */
export const MAX_DEVICE_ID_LENGTH = 128
/** Distinct devices subscribed in one process (one WebSocket each, usually). */
export const MAX_SUBSCRIBED_DEVICES = 200_000
/** Listeners on one device in one process: a device may briefly hold an old and a new connection. */
export const MAX_LISTENERS_PER_DEVICE = 16

export type NotifyErrorCode =
  | 'invalid-argument' // a device id that is empty, too long or not a string
  | 'limit-exceeded' // MAX_SUBSCRIBED_DEVICES or MAX_LISTENERS_PER_DEVICE
  | 'closed' // subscribe after close()
  | 'unavailable' // the message bus could not be reached at start

export class NotifyError extends Error {
  override readonly name = 'NotifyError'
  constructor(
    readonly code: NotifyErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${message}`, options)
  }
  static is(value: unknown, code?: NotifyErrorCode): value is NotifyError {
    return value instanceof NotifyError && (code === undefined || value.code === code)
  }
}

/** Device ids are not secret, but we still never echo one into an error message. */
export function checkDeviceId(deviceId: unknown): asserts deviceId is string {
  if (typeof deviceId !== 'string') throw new NotifyError('invalid-argument', 'device id must be a string')
  if (deviceId.length === 0 || deviceId.length > MAX_DEVICE_ID_LENGTH) {
    throw new NotifyError('invalid-argument', `device id must be 1..${MAX_DEVICE_ID_LENGTH} characters`)
  }
}

export interface NotifierOptions {
  /** Called when an `onMail` callback throws; the default logs the error's name only. */
  onListenerError?: (error: unknown) => void
}

/**
 * A recovery (`ListenerTable.markAll`, after a NATS reconnect or a lost peer) wakes every
 * connection of the process, and each wake-up is a mailbox query. All at once, 1,000 connections
 * are 1,000 queries in one turn, queued behind the group commits: the stall the re-scans caused
 * before `resyncDelayMs` (docs/benchmarks.md, Relay, fifteenth round). So the wake-ups go out in
 * slices: at least `RECOVERY_WAKES_PER_SECOND`, faster where that would take longer than
 * `MAX_RECOVERY_SPREAD_MS`.
 */
export const RECOVERY_WAKES_PER_SECOND = 1_000
/** The longest a recovery takes to wake every connection (a peer's loss is noticed after ~6 s). */
export const MAX_RECOVERY_SPREAD_MS = 5_000
/** Time between two slices of a recovery. */
export const RECOVERY_TICK_MS = 20

export interface RecoveryPacing {
  readonly wakesPerSecond: number
  readonly maxSpreadMs: number
  readonly tickMs: number
}

interface ListenerTableHooks extends NotifierOptions {
  /** The first listener of a device arrived (the NATS notifier subscribes its subject). */
  onFirst?: (deviceId: string) => void
  /** The last listener of a device left. */
  onLast?: (deviceId: string) => void
  /** How `markAll` spreads its wake-ups; tests shorten it. */
  recovery?: Partial<RecoveryPacing>
  /** An integer in [min, max), as `crypto.randomInt`; where a recovery starts in the device list. */
  random?: (min: number, max: number) => number
}

/** Logs carry no content and no ids: an error's message may hold either, so only its name goes out. */
function reportListenerError(error: unknown): void {
  const name = error instanceof Error ? error.name : typeof error
  console.error(JSON.stringify({ level: 'error', msg: 'notifier listener threw', error: name }))
}

/**
 * The listener table both notifiers share: per device, a set of callbacks, with coalescing —
 * any number of `mark()`s for a device before the next flush become one call per listener.
 * Flushing on `setImmediate` gathers the hints of one I/O turn (a group commit of many envelopes)
 * into one wake-up per mailbox.
 */
export class ListenerTable {
  readonly #listeners = new Map<string, Set<() => void>>()
  readonly #pending = new Set<string>()
  #scheduled: ReturnType<typeof setImmediate> | null = null
  #closed = false
  readonly #onFirst: (deviceId: string) => void
  readonly #onLast: (deviceId: string) => void
  readonly #onListenerError: (error: unknown) => void
  readonly #pacing: RecoveryPacing
  readonly #random: (min: number, max: number) => number
  /** Devices a recovery has still to wake, in the order it wakes them. */
  #recovering: string[] = []
  #recoveryNext = 0
  #recoverySlice = 0
  #recoveryTimer: ReturnType<typeof setTimeout> | null = null

  constructor(hooks: ListenerTableHooks = {}) {
    this.#onFirst = hooks.onFirst ?? (() => {})
    this.#onLast = hooks.onLast ?? (() => {})
    this.#onListenerError = hooks.onListenerError ?? reportListenerError
    this.#pacing = {
      wakesPerSecond: hooks.recovery?.wakesPerSecond ?? RECOVERY_WAKES_PER_SECOND,
      maxSpreadMs: hooks.recovery?.maxSpreadMs ?? MAX_RECOVERY_SPREAD_MS,
      tickMs: hooks.recovery?.tickMs ?? RECOVERY_TICK_MS,
    }
    for (const [name, value] of Object.entries(this.#pacing)) {
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new NotifyError('invalid-argument', `recovery ${name} must be a positive integer`)
      }
    }
    this.#random = hooks.random ?? randomInt
  }

  /** Devices a recovery under way has not woken yet. */
  get recovering(): number {
    return this.#recovering.length - this.#recoveryNext
  }

  get size(): number {
    return this.#listeners.size
  }

  add(deviceId: string, onMail: () => void): () => void {
    if (this.#closed) throw new NotifyError('closed', 'notifier is closed')
    checkDeviceId(deviceId)
    if (typeof onMail !== 'function') throw new NotifyError('invalid-argument', 'onMail must be a function')
    let set = this.#listeners.get(deviceId)
    if (set === undefined) {
      if (this.#listeners.size >= MAX_SUBSCRIBED_DEVICES) {
        throw new NotifyError('limit-exceeded', `more than ${MAX_SUBSCRIBED_DEVICES} subscribed devices`)
      }
      set = new Set()
      this.#listeners.set(deviceId, set)
      this.#onFirst(deviceId)
    } else if (set.size >= MAX_LISTENERS_PER_DEVICE) {
      throw new NotifyError('limit-exceeded', `more than ${MAX_LISTENERS_PER_DEVICE} listeners on one device`)
    }
    // A wrapper, so the same function subscribed twice gets two independent unsubscribes.
    const listener = () => onMail()
    set.add(listener)
    let done = false
    return () => {
      if (done) return
      done = true
      const current = this.#listeners.get(deviceId)
      if (current === undefined || !current.delete(listener)) return
      if (current.size === 0) {
        this.#listeners.delete(deviceId)
        this.#onLast(deviceId)
      }
    }
  }

  /** Schedules one wake-up of `deviceId`'s listeners, if it has any here. */
  mark(deviceId: string): void {
    if (this.#closed || !this.#listeners.has(deviceId)) return
    this.#pending.add(deviceId)
    this.#schedule()
  }

  /**
   * Wakes every listener, after a reconnect or a lost peer: hints sent meanwhile may be gone.
   * The wake-ups go out in slices (`RECOVERY_WAKES_PER_SECOND`), the first at once; the order
   * starts at a random device, so no connection is always the last. A second recovery while one
   * is under way starts over with every device, each woken once.
   */
  markAll(): void {
    if (this.#closed || this.#listeners.size === 0) return
    const devices = [...this.#listeners.keys()]
    const start = this.#random(0, devices.length)
    this.#recovering = [...devices.slice(start), ...devices.slice(0, start)]
    this.#recoveryNext = 0
    const { wakesPerSecond, maxSpreadMs, tickMs } = this.#pacing
    const ticks = Math.max(1, Math.floor(maxSpreadMs / tickMs))
    this.#recoverySlice = Math.max(
      Math.ceil((wakesPerSecond * tickMs) / 1000),
      Math.ceil(devices.length / ticks),
    )
    if (this.#recoveryTimer !== null) clearTimeout(this.#recoveryTimer)
    this.#recoveryTimer = null
    this.#wakeSlice()
  }

  clear(): void {
    this.#closed = true
    if (this.#scheduled !== null) clearImmediate(this.#scheduled)
    this.#scheduled = null
    if (this.#recoveryTimer !== null) clearTimeout(this.#recoveryTimer)
    this.#recoveryTimer = null
    this.#recovering = []
    this.#recoveryNext = 0
    this.#pending.clear()
    this.#listeners.clear()
  }

  #wakeSlice(): void {
    this.#recoveryTimer = null
    const end = Math.min(this.#recovering.length, this.#recoveryNext + this.#recoverySlice)
    // mark() skips a device whose last listener left meanwhile.
    for (let i = this.#recoveryNext; i < end; i++) this.mark(this.#recovering[i]!)
    this.#recoveryNext = end
    if (end < this.#recovering.length) {
      this.#recoveryTimer = setTimeout(() => this.#wakeSlice(), this.#pacing.tickMs)
      // A recovery never holds a process open that is otherwise done.
      this.#recoveryTimer.unref()
    } else {
      this.#recovering = []
      this.#recoveryNext = 0
    }
  }

  #schedule(): void {
    if (this.#scheduled !== null) return
    this.#scheduled = setImmediate(() => {
      this.#scheduled = null
      this.#flush()
    })
  }

  #flush(): void {
    const devices = [...this.#pending]
    this.#pending.clear()
    for (const deviceId of devices) {
      const set = this.#listeners.get(deviceId)
      if (set === undefined) continue
      for (const listener of [...set]) {
        try {
          listener()
        } catch (error) {
          // One connection's failing handler must not starve the others of their hint.
          this.#onListenerError(error)
        }
      }
    }
  }
}

/** In-process notifier: one server process, no message bus. Hints cannot be lost here. */
export function createLocalNotifier(options: NotifierOptions = {}): Notifier {
  const table = new ListenerTable(options)
  return {
    publish(deviceId, options) {
      checkDeviceId(deviceId)
      if (options?.handedLocally !== true) table.mark(deviceId)
    },
    subscribe(deviceId, onMail) {
      return table.add(deviceId, onMail)
    },
    async close() {
      table.clear()
    },
  }
}
