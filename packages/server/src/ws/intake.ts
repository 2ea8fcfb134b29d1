/**
 * Admission control for the whole process: requests read from WebSocket connections and not yet
 * answered are counted here, across connections. Above the limit, a connection that takes in a
 * request stops reading from its socket (it is "held"); once the count falls to half the limit,
 * every held connection reads again. Frames beyond the limit then wait in the kernel's socket
 * buffers, and the client's own window stops it sending more, instead of thousands of decoded
 * frames and their promises waiting in the server's heap for storage: there they cost memory
 * and, living for hundreds of milliseconds, garbage-collection work on every young-generation
 * scavenge that copies them (docs/benchmarks.md, Relay, sixth round).
 */

export interface Holdable {
  /** Called once the gate has room again: read from the socket again (unless held otherwise). */
  release(): void
}

export class IntakeGate {
  readonly limit: number
  #inFlight = 0
  #held = new Set<Holdable>()

  constructor(limit: number) {
    this.limit = Math.max(1, Math.floor(limit))
  }

  get inFlight(): number {
    return this.#inFlight
  }

  /** Connections held now. */
  get held(): number {
    return this.#held.size
  }

  /** A request was read. True if the gate is full: the caller should hold its connection. */
  begin(): boolean {
    this.#inFlight++
    return this.#inFlight >= this.limit
  }

  /** A request was answered. */
  end(): void {
    this.#inFlight--
    if (this.#held.size > 0 && this.#inFlight <= this.limit / 2) {
      const held = this.#held
      this.#held = new Set()
      for (const connection of held) connection.release()
    }
  }

  hold(connection: Holdable): void {
    this.#held.add(connection)
  }

  /** A closed connection is not released later. */
  forget(connection: Holdable): void {
    this.#held.delete(connection)
  }
}
