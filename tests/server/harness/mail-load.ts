/**
 * The client side of the crash tests: many mail clients sending envelopes to each other, each
 * envelope carrying a random 16-byte envelope id, and the books to check afterwards that every
 * acknowledged envelope reached its recipient — exactly once after de-duplication by id.
 *
 * The clients speak to the server through `ConnectFn`, so the same bookkeeping drives any wire
 * protocol (the Tacit adapter is in `tacit-mail-client.ts`).
 */
import { randomBytes } from 'node:crypto'

export interface MailClient {
  /** Resolves once the server acknowledged the envelope as durable; rejects if it did not. */
  send(to: number, payload: Uint8Array): Promise<void>
  close(): void
}

export type ConnectFn = (
  index: number,
  handlers: { onDeliver(payload: Uint8Array): void; onClose(): void },
) => Promise<MailClient>

/** Envelope layout: [envelope id 16][recipient u32][padding]. */
export const ENVELOPE_ID_BYTES = 16
export const MIN_PAYLOAD_BYTES = ENVELOPE_ID_BYTES + 4
/** Sends one client keeps unacknowledged. */
export const SEND_WINDOW = 4
/** Upper bound on envelopes one run may send, whatever the trigger: a runaway loop stops here. */
export const MAX_ENVELOPES = 50_000

export interface MailReport {
  readonly attempted: number
  readonly acknowledged: number
  /** Deliveries as they came, duplicates included. */
  readonly deliveries: number
  /** Distinct envelope ids delivered (after the clients' de-duplication). */
  readonly unique: number
  readonly duplicates: number
  /** Acknowledged envelopes never delivered: must be empty. */
  readonly lost: readonly string[]
  /** Delivered to a client other than the one it was addressed to: must be 0. */
  readonly misdelivered: number
  /** Delivered ids that were never sent: must be 0. */
  readonly phantom: number
  /** Delivered, but the sender never saw the acknowledgement (in flight at the kill): allowed. */
  readonly deliveredUnacknowledged: number
}

export class MailLoad {
  readonly #clients: Array<MailClient | null>
  /** id -> recipient, for every envelope we tried to send. */
  readonly #attempted = new Map<string, number>()
  readonly #acknowledged = new Set<string>()
  /** Per recipient, the ids it has seen (its de-duplication). */
  readonly #seen: Array<Set<string>>
  #deliveries = 0
  #misdelivered = 0
  #phantom = 0
  #sending = false
  #waiters: Array<() => void> = []
  #sendErrors = 0

  constructor(
    readonly count: number,
    readonly payloadBytes = 64,
  ) {
    if (count < 2) throw new Error('MailLoad needs at least two clients')
    if (payloadBytes < MIN_PAYLOAD_BYTES) throw new Error(`payloads are at least ${MIN_PAYLOAD_BYTES} bytes`)
    this.#clients = new Array(count).fill(null)
    this.#seen = Array.from({ length: count }, () => new Set<string>())
  }

  get acknowledged(): number {
    return this.#acknowledged.size
  }

  get sendErrors(): number {
    return this.#sendErrors
  }

  /** Connects (or reconnects) the given clients, at most `concurrency` handshakes at a time. */
  async connect(
    connect: ConnectFn,
    indices: readonly number[] = range(this.count),
    concurrency = 25,
  ): Promise<void> {
    let next = 0
    const worker = async () => {
      while (next < indices.length) {
        const index = indices[next++]!
        this.#clients[index]?.close()
        this.#clients[index] = await connect(index, {
          onDeliver: (payload) => this.#onDeliver(index, payload),
          onClose: () => {},
        })
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, indices.length) }, worker))
  }

  #onDeliver(recipient: number, payload: Uint8Array): void {
    this.#deliveries += 1
    if (payload.length < MIN_PAYLOAD_BYTES) {
      this.#phantom += 1
      return
    }
    const id = Buffer.from(payload.subarray(0, ENVELOPE_ID_BYTES)).toString('hex')
    const addressed = this.#attempted.get(id)
    if (addressed === undefined) this.#phantom += 1
    else if (addressed !== recipient) this.#misdelivered += 1
    this.#seen[recipient]!.add(id)
    this.#wake()
  }

  #wake(): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const w of waiters) w()
  }

  #changed(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve))
  }

  /**
   * Every client of `senders` keeps SEND_WINDOW envelopes in flight to clients of `recipients`
   * until `stop()`; resolves once `untilAcknowledged` envelopes were acknowledged in all.
   */
  async sendUntil(
    untilAcknowledged: number,
    senders: readonly number[] = range(this.count),
    recipients: readonly number[] = range(this.count),
  ): Promise<void> {
    this.#sending = true
    const target = Math.min(untilAcknowledged, MAX_ENVELOPES)
    for (const sender of senders) {
      const others = recipients.filter((r) => r !== sender)
      let k = sender
      const loop = async () => {
        while (this.#sending && this.#attempted.size < MAX_ENVELOPES) {
          const client = this.#clients[sender]
          if (!client) return
          const to = others[k++ % others.length]!
          const payload = new Uint8Array(this.payloadBytes)
          payload.set(randomBytes(ENVELOPE_ID_BYTES))
          new DataView(payload.buffer).setUint32(ENVELOPE_ID_BYTES, to)
          const id = Buffer.from(payload.subarray(0, ENVELOPE_ID_BYTES)).toString('hex')
          this.#attempted.set(id, to)
          try {
            await client.send(to, payload)
            this.#acknowledged.add(id)
            this.#wake()
          } catch {
            // The server died or the connection closed: this envelope is unacknowledged, so it
            // may or may not arrive. The loop ends; a reconnect starts a new one if wanted.
            this.#sendErrors += 1
            return
          }
        }
      }
      for (let w = 0; w < SEND_WINDOW; w++) void loop()
    }
    while (this.#acknowledged.size < target && this.#attempted.size < MAX_ENVELOPES) {
      if (!this.#sending) return
      await this.#changed()
    }
  }

  /** Stops issuing new sends (those in flight finish or fail). */
  stop(): void {
    this.#sending = false
    this.#wake()
  }

  /** Waits until every acknowledged envelope was delivered, or until the deadline (ms since the epoch). */
  async drain(deadline: number): Promise<boolean> {
    for (;;) {
      if (this.#lost().length === 0) return true
      const remaining = deadline - Date.now()
      if (remaining <= 0) return false
      await Promise.race([
        this.#changed(),
        new Promise((resolve) => setTimeout(resolve, Math.min(remaining, 250))),
      ])
    }
  }

  #lost(): string[] {
    const lost: string[] = []
    for (const id of this.#acknowledged) {
      if (!this.#seen[this.#attempted.get(id)!]!.has(id)) lost.push(id)
    }
    return lost
  }

  report(): MailReport {
    let unique = 0
    let deliveredUnacknowledged = 0
    for (const seen of this.#seen) {
      unique += seen.size
      for (const id of seen) if (!this.#acknowledged.has(id)) deliveredUnacknowledged += 1
    }
    return {
      attempted: this.#attempted.size,
      acknowledged: this.#acknowledged.size,
      deliveries: this.#deliveries,
      unique,
      duplicates: this.#deliveries - unique,
      lost: this.#lost(),
      misdelivered: this.#misdelivered,
      phantom: this.#phantom,
      deliveredUnacknowledged,
    }
  }

  closeAll(): void {
    for (const c of this.#clients) c?.close()
  }
}

export function range(n: number, from = 0): number[] {
  return Array.from({ length: n }, (_, i) => from + i)
}
