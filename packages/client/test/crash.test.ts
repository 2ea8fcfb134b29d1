/**
 * Crash safety (DESIGN.md §7, issue #4 item 3): a sender and a receiver, each a separate Node
 * process over its own SQLite store, are killed with SIGKILL at random points while sending,
 * committing self-updates and receiving, then restarted. At the end every message was received
 * exactly once, in order, nothing failed to decrypt, and both agree on the epoch.
 * Bounded: CRASH_ROUNDS kills, each worker run at most WORKER_TIMEOUT_MS.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { nodeBackend } from '@tacit/crypto/node/backend'
import { TacitClient } from '../src/client.ts'
import { nodeTransport } from '../src/node/ws-transport.ts'
import { createSqliteStore, openSqliteStore } from '../src/store/sqlite-store.ts'
import { TEST_KDF } from './support/clients.ts'
import { REPO_ROOT, type ServerProcess, startServer } from './support/server.ts'

const TOTAL = 24
const CRASH_ROUNDS = 6
const WORKER_TIMEOUT_MS = 60_000
const WORKER = join(REPO_ROOT, 'packages/client/test/crash/worker.ts')

interface Worker {
  readonly child: ChildProcess
  readonly done: Promise<string>
  /** Resolves once the worker has printed `steps` progress lines, or has exited. */
  reached(steps: number): Promise<void>
}

function startWorker(args: string[]): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let waiting: { steps: number; resolve: () => void } | undefined
  const steps = () => out.split('step\n').length - 1
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString()
    if (waiting !== undefined && steps() >= waiting.steps) waiting.resolve()
  })
  child.stderr!.on('data', (d: Buffer) => {
    out += d.toString()
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), WORKER_TIMEOUT_MS)
  const done = new Promise<string>((resolve) =>
    child.once('exit', () => {
      clearTimeout(timer)
      resolve(out)
    }),
  )
  const reached = (target: number) =>
    new Promise<void>((resolve) => {
      if (steps() >= target || child.exitCode !== null) return resolve()
      waiting = { steps: target, resolve }
      child.once('exit', () => resolve())
    })
  return { child, done, reached }
}

describe('crash safety with SIGKILL', () => {
  let server: ServerProcess
  let dir: string
  let conversationId: string
  const paths = { alice: '', bob: '' }

  before(async () => {
    server = await startServer()
    dir = mkdtempSync(join(tmpdir(), 'tacit-crash-'))
    for (const handle of ['alice', 'bob'] as const) {
      paths[handle] = join(dir, `${handle}.db`)
      const store = await createSqliteStore(paths[handle], 'crash test', {
        crypto: nodeBackend,
        kdfParams: TEST_KDF,
      })
      const client = await TacitClient.createAccount({
        serverUrl: server.url,
        invite: await server.invite(),
        handle,
        store,
        backend: nodeBackend,
        transport: nodeTransport(),
      })
      await client.close()
      await store.lock()
    }
    const store = await openSqliteStore(paths.alice, 'crash test', { crypto: nodeBackend })
    const alice = await TacitClient.open({ store, backend: nodeBackend, transport: nodeTransport() })
    conversationId = await alice.createConversation({ members: ['bob'] })
    await alice.close()
    await store.lock()
  })

  after(async () => {
    await server.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('loses, duplicates and fails to decrypt nothing', async () => {
    let kills = 0
    for (let round = 0; round < CRASH_ROUNDS; round++) {
      const sender = startWorker(['sender', paths.alice, conversationId, String(TOTAL)])
      const receiver = startWorker(['receiver', paths.bob])
      // Random points in the work, counted in the workers' own progress lines (a fixed delay missed
      // the work entirely on a fast machine): right after connecting, or after a few messages sent
      // or syncs made, and then up to 50 ms further into the next one.
      await Promise.all(
        [sender, receiver].map(async (w) => {
          await w.reached(1 + Math.floor(Math.random() * 4))
          await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 50)))
          if (w.child.exitCode === null && (round === 0 || Math.random() < 0.8)) {
            w.child.kill('SIGKILL')
            kills++
          }
        }),
      )
      await Promise.all([sender.done, receiver.done].map((d) => d.catch(() => '')))
      for (const w of [sender, receiver]) if (w.child.exitCode === null) w.child.kill('SIGKILL')
    }
    // Let both finish undisturbed.
    const sender = startWorker(['sender', paths.alice, conversationId, String(TOTAL)])
    assert.match(await sender.done, /done/)
    const receiver = startWorker(['receiver', paths.bob])
    assert.match(await receiver.done, /done/)
    assert.ok(kills >= 1, 'at least one process was killed')

    const expected = Array.from({ length: TOTAL }, (_, i) => `m${i}`)
    const read = async (path: string) => {
      const store = await openSqliteStore(path, 'crash test', { crypto: nodeBackend })
      const client = await TacitClient.open({ store, backend: nodeBackend, transport: nodeTransport() })
      const alerts: string[] = []
      client.on('alert', (a) => alerts.push(a.kind))
      await client.connect()
      await client.sync()
      const texts = (await client.history(conversationId)).map((m) => m.text)
      const summary = await client.conversation(conversationId)
      await client.close()
      await store.lock()
      return { texts, alerts, summary }
    }
    const bob = await read(paths.bob)
    const alice = await read(paths.alice)
    assert.deepEqual(alice.texts, expected, 'the sender has each message once')
    assert.deepEqual(
      [...bob.texts].sort(),
      [...expected].sort(),
      'the receiver has each message exactly once',
    )
    assert.deepEqual(bob.texts, expected, 'in the order sent')
    assert.deepEqual(bob.alerts, [])
    assert.deepEqual(alice.alerts, [])
    assert.deepEqual(bob.summary.members, ['alice', 'bob'])
  })
})
