/**
 * Group commit for the hot path (DESIGN §6): `enqueue` and `ack` calls that arrive in the same
 * tick — or within an optional short window — run in ONE transaction with one fsync, and each
 * call's promise settles only after that transaction committed. Batches are bounded in calls and in
 * rows; the queue is bounded too, and a full queue fails fast with `unavailable` instead of
 * growing without limit. Calls are batched in arrival order, so two calls from one connection reach
 * the database in the order they were made.
 */
import {
  MAX_GROUP_COMMIT_BYTES,
  MAX_GROUP_COMMIT_CALLS,
  MAX_GROUP_COMMIT_ROWS,
  MAX_GROUP_COMMIT_WINDOW_MS,
  MAX_PENDING_WRITE_CALLS,
} from './limits.ts'
import { type DeviceId, type EnqueueRequest, StorageError } from './storage.ts'

export type WriteCall =
  | { readonly kind: 'enqueue'; readonly requests: readonly EnqueueRequest[]; readonly now: number }
  | { readonly kind: 'ack'; readonly deviceId: DeviceId; readonly seqs: readonly bigint[] }

export type Settled<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: unknown }

export interface GroupCommitOptions {
  /** 0 (default): flush on the next turn of the event loop. Otherwise wait up to this many ms. */
  readonly windowMs?: number
  readonly maxCalls?: number
  readonly maxRows?: number
  readonly maxPending?: number
  /** Batches in flight at once (async backends only; each holds one connection). */
  readonly maxInFlight?: number
}

/** Options both backends take. */
export interface StorageOptions extends GroupCommitOptions {
  /** Entries one mailbox may hold, at most MAX_MAILBOX_ENTRIES (the default). */
  readonly mailboxCapacity?: number
  /**
   * Told when work the storage does on its own failed (PostgreSQL: `storage.rotation-failed`,
   * decision 0019), with a stable event name only; the work is tried again on its next turn.
   */
  readonly onBackgroundError?: (event: string) => void
  /**
   * Whether the storage runs its own periodic work (PostgreSQL: payload rotation, decision 0019).
   * Default true. A short-lived process such as the admin CLI turns it off: the servers do that
   * work, and the CLI would only wait for a turn of it when it closes.
   */
  readonly backgroundWork?: boolean
}

interface Pending<C, R> {
  readonly call: C
  readonly weight: number
  readonly bytes: number
  readonly resolve: (value: R) => void
  readonly reject: (error: unknown) => void
}

/**
 * `run` executes one batch as one transaction and returns one outcome per call, in order. If it
 * throws, the whole batch failed and every call in it is rejected with that error.
 */
export class GroupCommitQueue<C, R> {
  readonly #run: (calls: C[]) => Settled<R>[] | Promise<Settled<R>[]>
  readonly #windowMs: number
  readonly #maxCalls: number
  readonly #maxRows: number
  readonly #maxPending: number
  readonly #maxInFlight: number
  /** Calls not yet taken start at #head; taken slots are cleared (see #take). */
  #queue: (Pending<C, R> | undefined)[] = []
  #head = 0
  #scheduled = false
  #inFlight = 0
  #idle: (() => void)[] = []
  #closed = false
  /** Batches run so far, and calls in them: lets a benchmark show calls per transaction. */
  readonly stats = { batches: 0, calls: 0 }

  constructor(run: (calls: C[]) => Settled<R>[] | Promise<Settled<R>[]>, options: GroupCommitOptions = {}) {
    this.#run = run
    this.#windowMs = Math.min(Math.max(0, options.windowMs ?? 0), MAX_GROUP_COMMIT_WINDOW_MS)
    this.#maxCalls = Math.min(options.maxCalls ?? MAX_GROUP_COMMIT_CALLS, MAX_GROUP_COMMIT_CALLS)
    this.#maxRows = Math.min(options.maxRows ?? MAX_GROUP_COMMIT_ROWS, MAX_GROUP_COMMIT_ROWS)
    this.#maxPending = Math.min(options.maxPending ?? MAX_PENDING_WRITE_CALLS, MAX_PENDING_WRITE_CALLS)
    this.#maxInFlight = Math.max(1, options.maxInFlight ?? 1)
  }

  get pending(): number {
    return this.#queue.length - this.#head
  }

  /** `weight`: rows the call writes; `bytes`: payload bytes it carries. */
  submit(call: C, weight: number, bytes = 0): Promise<R> {
    if (this.#closed) return Promise.reject(new StorageError('unavailable', 'storage is closed'))
    if (this.pending >= this.#maxPending) {
      return Promise.reject(new StorageError('unavailable', `write queue full (${this.#maxPending} calls)`))
    }
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ call, weight, bytes, resolve, reject })
      this.#schedule(this.pending >= this.#maxCalls)
    })
  }

  /** Stops taking calls and waits until every queued call has settled. */
  async close(): Promise<void> {
    this.#closed = true
    if (this.pending === 0 && this.#inFlight === 0) return
    await new Promise<void>((resolve) => {
      this.#idle.push(resolve)
      this.#schedule(true)
    })
  }

  #schedule(now: boolean): void {
    if (this.#scheduled) return
    this.#scheduled = true
    const fire = (): void => {
      this.#scheduled = false
      this.#flush()
    }
    if (now || this.#windowMs === 0) setImmediate(fire)
    else setTimeout(fire, this.#windowMs)
  }

  #take(): Pending<C, R>[] {
    const batch: Pending<C, R>[] = []
    let rows = 0
    let bytes = 0
    while (this.#head < this.#queue.length && batch.length < this.#maxCalls) {
      const next = this.#queue[this.#head]!
      // Always take at least one call, so a single call above a bound still runs (alone).
      if (
        batch.length > 0 &&
        (rows + next.weight > this.#maxRows || bytes + next.bytes > MAX_GROUP_COMMIT_BYTES)
      ) {
        break
      }
      batch.push(next)
      rows += next.weight
      bytes += next.bytes
      this.#queue[this.#head++] = undefined
    }
    // A taken call must not stay reachable from the queue (its slot is cleared above): it holds
    // its request (the payload) and its promise's functions, which would otherwise live on until
    // the array is cut — long enough to be copied and promoted by V8's young-generation collector
    // (docs/benchmarks.md, Relay, seventh round).
    if (this.#head === this.#queue.length) {
      this.#queue = []
      this.#head = 0
    } else if (this.#head > 4096 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head)
      this.#head = 0
    }
    return batch
  }

  #flush(): void {
    while (this.pending > 0 && this.#inFlight < this.#maxInFlight) {
      const batch = this.#take()
      this.#inFlight++
      this.stats.batches++
      this.stats.calls += batch.length
      let outcome: Settled<R>[] | Promise<Settled<R>[]>
      try {
        outcome = this.#run(batch.map((p) => p.call))
      } catch (error) {
        this.#settle(batch, error)
        break
      }
      if (Array.isArray(outcome)) {
        // A synchronous backend: settle, then yield to the event loop before the next batch.
        this.#settle(batch, outcome)
        break
      } else {
        outcome.then(
          (results) => this.#settle(batch, results),
          (error: unknown) => this.#settle(batch, error),
        )
      }
    }
    this.#checkIdle()
  }

  #settle(batch: Pending<C, R>[], results: Settled<R>[] | unknown): void {
    this.#inFlight--
    if (Array.isArray(results) && results.length === batch.length) {
      batch.forEach((p, i) => {
        const r = results[i] as Settled<R>
        if (r.ok) p.resolve(r.value)
        else p.reject(r.error)
      })
    } else {
      const error = StorageError.is(results)
        ? results
        : new StorageError('unavailable', 'the batch transaction failed', { cause: results })
      for (const p of batch) p.reject(error)
    }
    // The window applies between batches too: under load, the next batch gathers for up to
    // windowMs (fewer, larger transactions) unless it is already full.
    if (this.pending > 0) this.#schedule(this.#closed || this.pending >= this.#maxCalls)
    this.#checkIdle()
  }

  #checkIdle(): void {
    if (this.pending === 0 && this.#inFlight === 0) {
      for (const resolve of this.#idle.splice(0)) resolve()
    }
  }
}
