/**
 * The SQLite writer thread: its own connection to the storage's file (WAL, same durability
 * settings), running group-commit batches one after another in the order they arrive. A batch
 * is one IMMEDIATE transaction and one fsync; its results are posted back only after COMMIT
 * returned, so the main thread still acknowledges nothing before it is durable — but its event
 * loop keeps serving sockets while the fsync runs here.
 */
import { parentPort, workerData } from 'node:worker_threads'
import Database from 'better-sqlite3'
import { SqliteMailboxWriter } from './mailbox-writer.ts'
import {
  decodeBatch,
  encodeResults,
  toWireError,
  type WorkerCommand,
  type WorkerReply,
  type WriterInit,
} from './writer-protocol.ts'

const port = parentPort
if (port === null) throw new Error('writer-worker.ts runs only as a worker thread')
const init = workerData as WriterInit
const reply = (message: WorkerReply) => port.postMessage(message)

let db: Database.Database | null = null
try {
  db = new Database(init.path)
  db.pragma('journal_mode = WAL')
  db.pragma(`synchronous = ${init.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}`)
  db.pragma(`busy_timeout = ${init.busyTimeoutMs}`)
  db.pragma('foreign_keys = ON')
  db.pragma(`cache_size = ${-Math.floor(init.cacheKiB)}`)
  db.pragma(`wal_autocheckpoint = ${Math.floor(init.checkpointPages)}`)
} catch {
  db?.close()
  db = null
  reply({
    type: 'open-failed',
    error: { code: 'unavailable', message: 'the writer cannot open the database' },
  })
}

if (db !== null) {
  const connection = db
  const writer = new SqliteMailboxWriter(connection, init.capacity)
  port.on('message', (command: WorkerCommand) => {
    if (command.type === 'close') {
      connection.close()
      port.close()
      return
    }
    const { batch } = command
    try {
      const { results, errors } = encodeResults(writer.runBatch(decodeBatch(batch)))
      port.postMessage({ type: 'done', id: batch.id, results, errors } satisfies WorkerReply, [results])
    } catch (error) {
      reply({ type: 'failed', id: batch.id, error: toWireError(error) })
    }
  })
  const synchronous = connection.pragma('synchronous', { simple: true })
  reply({
    type: 'ready',
    settings: {
      cacheKiB: -Number(connection.pragma('cache_size', { simple: true })),
      checkpointPages: Number(connection.pragma('wal_autocheckpoint', { simple: true })),
      synchronous: synchronous === 2 ? 'FULL' : synchronous === 1 ? 'NORMAL' : 'OTHER',
    },
  })
}
