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
 *
 * A step with a `name` uses a prepared statement of that name (§55.2.3): parsed once per
 * connection, then only bound and executed, so PostgreSQL neither parses nor, once it settles on a
 * generic plan, plans it again. A Parse that the server may have skipped (an error earlier in the
 * same pipeline) is not trusted: the next pipeline on that connection closes the name (closing an
 * unknown name is not an error) and parses it anew.
 */
import pg from 'pg'

export interface PipelineStep {
  /** A prepared statement's name, for a text sent often; without one, the unnamed statement. */
  readonly name?: string
  readonly text: string
  readonly values?: readonly unknown[]
}

/** The parts of pg's protocol connection this uses (pg 8; its type definitions lag behind). */
interface Wire {
  readonly stream: { cork(): void; uncork(): void }
  parse(message: { name?: string; text: string }): void
  bind(message: { statement?: string; values: unknown[]; valueMapper: (value: unknown) => unknown }): void
  close(message: { type: 'S'; name: string }): void
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

/** What one connection has prepared, and what it must close before preparing again. */
interface Prepared {
  readonly names: Set<string>
  readonly doubtful: Set<string>
}
const prepared = new WeakMap<object, Prepared>()

function preparedOn(connection: object): Prepared {
  let state = prepared.get(connection)
  if (state === undefined) {
    state = { names: new Set(), doubtful: new Set() }
    prepared.set(connection, state)
  }
  return state
}

/** The `pg` client hands this object the connection when it is the client's turn. */
class Pipeline implements pg.Submittable {
  readonly #steps: readonly PipelineStep[]
  readonly #resolve: (results: pg.QueryResult[]) => void
  readonly #reject: (error: unknown) => void
  readonly #results: pg.QueryResult[] = []
  #current = newResult()
  #failed = false
  /** The connection's prepared names and the ones this pipeline parsed. */
  #prepared: Prepared | null = null
  readonly #parsed: string[] = []

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
    const state = preparedOn(connection)
    this.#prepared = state
    // Corked, the messages leave in one write, as pg does for a single query.
    wire.stream.cork()
    try {
      for (const step of this.#steps) {
        const values = [...(step.values ?? [])]
        if (step.name === undefined) {
          // The unnamed statement and portal: each step replaces the previous one's.
          wire.parse({ text: step.text })
          wire.bind({ values, valueMapper: prepareValue })
        } else {
          if (!state.names.has(step.name)) {
            if (state.doubtful.delete(step.name)) wire.close({ type: 'S', name: step.name })
            wire.parse({ name: step.name, text: step.text })
            state.names.add(step.name)
            this.#parsed.push(step.name)
          }
          wire.bind({ statement: step.name, values, valueMapper: prepareValue })
        }
        wire.describe({ type: 'P', name: '' })
        wire.execute({ portal: '', rows: 0 })
      }
    } catch (error) {
      // A value pg cannot encode. The Sync below still ends what was sent; its answer is ignored.
      this.#fail(error)
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
    this.#fail(error)
  }

  handleReadyForQuery(): void {
    if (this.#failed) return
    if (this.#results.length !== this.#steps.length) {
      this.#fail(new Error(`pipeline: ${this.#results.length} of ${this.#steps.length} statements answered`))
      return
    }
    this.#resolve(this.#results)
  }

  /** Rejects once; a name this pipeline parsed may not exist on the server, so it is parsed again. */
  #fail(error: unknown): void {
    if (this.#failed) return
    this.#failed = true
    for (const name of this.#parsed) {
      this.#prepared?.names.delete(name)
      this.#prepared?.doubtful.add(name)
    }
    this.#reject(error)
  }
}

/** Runs `steps` in one round trip; resolves with one result per step, in order. */
export function pipeline(client: pg.ClientBase, steps: readonly PipelineStep[]): Promise<pg.QueryResult[]> {
  if (steps.length === 0) return Promise.resolve([])
  return new Promise((resolve, reject) => {
    client.query(new Pipeline(steps, resolve, reject))
  })
}
