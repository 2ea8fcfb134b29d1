/**
 * SDK devices for `bench:e2e`, all in the bench's own process (the server is another process):
 * each a `TacitClient` over Node's transport and its own encrypted SQLite store file, exactly as
 * an application would run it. Invites come straight from the server's storage (as
 * `tacit-admin invite create` does), so a hundred accounts do not cost a hundred admin runs.
 */
import { join } from 'node:path'
import { TacitClient } from '@tacit/client/client'
import { decodeEnvelope } from '@tacit/client/envelope'
import type { Transport } from '@tacit/client/net/transport'
import { nodeFiles } from '@tacit/client/node/node-files'
import { nodeTransport } from '@tacit/client/node/ws-transport'
import type { EncryptedStore } from '@tacit/client/store/sealed-store'
import { createSqliteStore } from '@tacit/client/store/sqlite-store'
import { nodeBackend } from '@tacit/crypto/node/backend'
import { decodeClientFrame, decodeServerFrame } from '@tacit/protocol/wire/frames'
import { createInvites } from '../tests/server/harness/provision.ts'

/**
 * Small Argon2id parameters: the passphrase is derived once per store open, never per message,
 * so the default's 64 MiB × 3 would only slow the set-up of a hundred devices.
 */
export const BENCH_KDF = { memoryKiB: 64, iterations: 1, parallelism: 1 }
/** Accounts registered at once (each makes and uploads 21 KeyPackages). */
const CREATE_CONCURRENCY = 4

export interface BenchDevice {
  readonly handle: string
  readonly client: TacitClient
  readonly store: EncryptedStore
}

/** Sizes of application envelopes this process sent (for the raw baseline's payload size). */
export const sentApplicationSizes: number[] = []
const MAX_SIZE_SAMPLES = 1000

/** `onCommitOk` sees the time of each `commit-ok` this device's socket receives. */
function measuringTransport(onCommitOk?: (at: number) => void): Transport {
  const inner = nodeTransport()
  return {
    fetch: inner.fetch,
    openSocket(url) {
      const socket = inner.openSocket(url)
      return {
        ...socket,
        onMessage(fn) {
          socket.onMessage((data) => {
            if (onCommitOk && decodeServerFrame(data).type === 'commit-ok') onCommitOk(performance.now())
            fn(data)
          })
        },
        send(data) {
          if (sentApplicationSizes.length < MAX_SIZE_SAMPLES) {
            const frame = decodeClientFrame(data)
            if (frame.type === 'send' && decodeEnvelope(frame.payload).kind === 'application')
              sentApplicationSizes.push(frame.payload.length)
          }
          socket.send(data)
        },
      }
    },
  }
}

export async function createDevices(o: {
  serverUrl: string
  dataDir: string
  storeDir: string
  handles: readonly string[]
  onCommitOk?: (at: number) => void
}): Promise<BenchDevice[]> {
  const invites = await createInvites({ dataDir: o.dataDir }, o.handles.length)
  const out: BenchDevice[] = new Array(o.handles.length)
  let next = 0
  const worker = async () => {
    while (next < o.handles.length) {
      const i = next++
      const handle = o.handles[i]!
      const store = await createSqliteStore(join(o.storeDir, `${handle}.db`), 'bench passphrase', {
        crypto: nodeBackend,
        kdfParams: BENCH_KDF,
      })
      const client = await TacitClient.createAccount({
        serverUrl: o.serverUrl,
        invite: invites[i]!,
        handle,
        store,
        backend: nodeBackend,
        transport: measuringTransport(o.onCommitOk),
        files: nodeFiles(),
      })
      await client.connect()
      out[i] = { handle, client, store }
    }
  }
  await Promise.all(Array.from({ length: CREATE_CONCURRENCY }, worker))
  return out
}

export async function closeDevices(devices: readonly BenchDevice[]): Promise<void> {
  await Promise.all(
    devices.map(async (d) => {
      await d.client.close()
      await d.store.lock()
    }),
  )
}
