/**
 * Several statements in one round trip: each is sent as Parse, Bind, Describe and Execute, and
 * one Sync follows the last (PostgreSQL protocol, §55.2.4 "Pipelining"; §55.2.3 "Extended
 * Query"). The server runs them in order and answers once. If one fails, the server skips the
 * rest up to the Sync, so a failed statement never lets a later one (a COMMIT, say) run; inside
 * an explicit transaction, the transaction is left aborted for the caller to roll back.
 *
 * `pg` sends one query per round trip; a group-commit batch has five statements (BEGIN, the
 * payload insert, the device lock, the mailbox write, COMMIT), and on a busy server every round
 * trip also waits its turn on the event loop. Pipelined, BEGIN rides with the first statement and
 * COMMIT with the last (decision 0019).
 */
import pg from 'pg'

export interface PipelineStep {
  readonly text: string
  readonly values?: readonly unknown[]
}

/** The parts of pg's protocol connection this uses (pg 8; its type definitions lag behind). */
interface Wire {
  readonly stream: { cork(): void; uncork(): void }
  parse(message: { text: string }): void
  bind(message: { values: unknown[]; valueMapper: (value: unknown) => unknown }): void
  describe(message: { type: 'P'; name: string }): void
  execute(message: { portal: string; rows: number }): void
  sync(): void
  sendCopyFail(message: string): void
}

/** pg's own result builder, which parses rows with the client's type parsers. */
interface ResultBuilder extends pg.QueryResult {
  addFields(fields: unknown[]): void
  parseRow(fields: unknown[]): unknown
  addRow(row: unknown): void
  addCommandComplete(message: unknown): void
}

const newResult = (): ResultBuilder => new (pg.Result as unknown as new () => ResultBuilder)()
const prepareValue = (pg as unknown as { utils: { prepareValue(value: unknown): unknown } }).utils
  .prepareValue

interface RowsMessage {
  readonly fields: unknown[]
}

/** The `pg` client hands this object the connection when it is the client's turn. */
class Pipeline implements pg.Submittable {
  readonly #steps: readonly PipelineStep[]
  readonly #resolve: (results: pg.QueryResult[]) => void
  readonly #reject: (error: unknown) => void
  readonly #results: pg.QueryResult[] = []
  #current = newResult()
  #failed = false

  constructor(
    steps: readonly PipelineStep[],
    resolve: (results: pg.QueryResult[]) => void,
    reject: (error: unknown) => void,
  ) {
    this.#steps = steps
    this.#resolve = resolve
    this.#reject = reject
  }

  submit(connection: pg.Connection): void {
    const wire = connection as unknown as Wire
    // Corked, the messages leave in one write, as pg does for a single query.
    wire.stream.cork()
    try {
      for (const step of this.#steps) {
        // The unnamed statement and portal: each step replaces the previous one's.
        wire.parse({ text: step.text })
        wire.bind({ values: [...(step.values ?? [])], valueMapper: prepareValue })
        wire.describe({ type: 'P', name: '' })
        wire.execute({ portal: '', rows: 0 })
      }
    } catch (error) {
      // A value pg cannot encode. The Sync below still ends what was sent; its answer is ignored.
      this.#failed = true
      this.#reject(error)
    } finally {
      wire.sync()
      wire.stream.uncork()
    }
  }

  handleRowDescription(message: RowsMessage): void {
    this.#current.addFields(message.fields)
  }

  handleDataRow(message: RowsMessage): void {
    this.#current.addRow(this.#current.parseRow(message.fields))
  }

  handleCommandComplete(message: unknown): void {
    this.#current.addCommandComplete(message)
    this.#results.push(this.#current)
    this.#current = newResult()
  }

  handleEmptyQuery(): void {}

  handlePortalSuspended(): void {}

  handleCopyInResponse(connection: pg.Connection): void {
    ;(connection as unknown as Wire).sendCopyFail('no COPY in a pipeline')
  }

  handleCopyData(): void {}

  /** The client forgets this object after an error; the Sync's ReadyForQuery then goes nowhere. */
  handleError(error: unknown): void {
    if (this.#failed) return
    this.#failed = true
    this.#reject(error)
  }

  handleReadyForQuery(): void {
    if (this.#failed) return
    if (this.#results.length !== this.#steps.length) {
      this.#failed = true
      this.#reject(
        new Error(`pipeline: ${this.#results.length} of ${this.#steps.length} statements answered`),
      )
      return
    }
    this.#resolve(this.#results)
  }
}

/** Runs `steps` in one round trip; resolves with one result per step, in order. */
export function pipeline(client: pg.ClientBase, steps: readonly PipelineStep[]): Promise<pg.QueryResult[]> {
  if (steps.length === 0) return Promise.resolve([])
  return new Promise((resolve, reject) => {
    client.query(new Pipeline(steps, resolve, reject))
  })
}
