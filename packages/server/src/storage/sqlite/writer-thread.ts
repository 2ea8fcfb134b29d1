/**
 * The main thread's side of the SQLite writer thread (`writer-worker.ts`): posts one
 * group-commit batch at a time and resolves with its results once the worker reports COMMIT.
 * If the worker dies, every batch in flight and every later one fails with `unavailable` (the
 * caller then answers `unavailable` and the client retries; nothing was acknowledged).
 */
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { Settled, WriteCall } from '../group-commit.ts'
import { StorageError } from '../storage.ts'
import {
  decodeResults,
  encodeBatch,
  fromWireError,
  type WorkerCommand,
  type WorkerReply,
  type WriterInit,
  type WriterSettings,
} from './writer-protocol.ts'

/** How long opening the worker's connection may take before the storage gives up. */
export const WRITER_START_TIMEOUT_MS = 30_000

/**
 * Starts `writer-worker.ts`. Run from TypeScript source (tsx, as `npm start` does), the worker
 * registers tsx itself first: on Node 20 a worker thread does not inherit the `--import tsx`
 * loader hooks of the main thread.
 */
function spawnWorker(init: WriterInit): Worker {
  const entry = new URL(
    import.meta.url.endsWith('.ts') ? './writer-worker.ts' : './writer-worker.js',
    import.meta.url,
  )
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { workerData: init })
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}) })`
  return new Worker(boot, { eval: true, workerData: init })
}

interface Waiting {
  readonly resolve: (results: Settled<bigint[][] | number>[]) => void
  readonly reject: (error: unknown) => void
}

export class SqliteWriterThread {
  readonly #worker: Worker
  readonly #waiting = new Map<number, Waiting>()
  #nextId = 1
  #broken: StorageError | null = null
  readonly #exited: Promise<void>

  /** The writer connection's settings, as its SQLite reported them when it opened. */
  readonly settings: WriterSettings

  private constructor(worker: Worker, settings: WriterSettings) {
    this.#worker = worker
    this.settings = settings
    // Referenced only while a batch is out: an idle writer keeps no process alive.
    worker.unref()
    this.#exited = new Promise((resolve) => worker.once('exit', () => resolve()))
    worker.on('message', (reply: WorkerReply) => this.#onReply(reply))
    worker.on('error', () => this.#fail('the SQLite writer thread failed'))
    worker.on('exit', () => this.#fail('the SQLite writer thread stopped'))
  }

  static async start(init: WriterInit): Promise<SqliteWriterThread> {
    const worker = spawnWorker(init)
    const first = await new Promise<WorkerReply | Error>((resolve) => {
      const timer = setTimeout(() => resolve(new Error('timeout')), WRITER_START_TIMEOUT_MS)
      const done = (value: WorkerReply | Error) => {
        clearTimeout(timer)
        worker.off('message', done)
        worker.off('error', done)
        resolve(value)
      }
      worker.on('message', done)
      worker.on('error', done)
      worker.once('exit', () => done(new Error('exited')))
    })
    if (first instanceof Error || first.type !== 'ready') {
      await worker.terminate()
      const reason =
        first instanceof Error ? undefined : first.type === 'open-failed' ? first.error : undefined
      throw reason
        ? fromWireError(reason)
        : new StorageError('unavailable', 'the SQLite writer thread did not start', { cause: first })
    }
    return new SqliteWriterThread(worker, first.settings)
  }

  run(calls: readonly WriteCall[]): Promise<Settled<bigint[][] | number>[]> {
    if (this.#broken !== null) return Promise.reject(this.#broken)
    const id = this.#nextId
    this.#nextId = this.#nextId >= Number.MAX_SAFE_INTEGER ? 1 : this.#nextId + 1
    const batch = encodeBatch(id, calls)
    return new Promise((resolve, reject) => {
      if (this.#waiting.size === 0) this.#worker.ref()
      this.#waiting.set(id, { resolve, reject })
      const command: WorkerCommand = { type: 'batch', batch }
      this.#worker.postMessage(command, [batch.calls])
    })
  }

  /** Call after the group-commit queue drained: no batch is in flight any more. */
  async close(): Promise<void> {
    if (this.#broken === null) {
      this.#broken = new StorageError('unavailable', 'storage is closed')
      const command: WorkerCommand = { type: 'close' }
      // Held until the worker closed its connection and exited.
      this.#worker.ref()
      this.#worker.postMessage(command)
    }
    await this.#exited
  }

  #settle(id: number): Waiting | undefined {
    const waiting = this.#waiting.get(id)
    this.#waiting.delete(id)
    if (this.#waiting.size === 0) this.#worker.unref()
    return waiting
  }

  #onReply(reply: WorkerReply): void {
    if (reply.type === 'done') this.#settle(reply.id)?.resolve(decodeResults(reply.results, reply.errors))
    else if (reply.type === 'failed') this.#settle(reply.id)?.reject(fromWireError(reply.error))
  }

  #fail(message: string): void {
    this.#broken ??= new StorageError('unavailable', message)
    const error = new StorageError('unavailable', message)
    for (const w of this.#waiting.values()) w.reject(error)
    this.#waiting.clear()
    this.#worker.unref()
  }
}
