/** Test clients: the real SDK over Node's transport, each with its own encrypted store. */
import { nodeBackend } from '@tacit/crypto/node/backend'
import { type ClientEventName, type ClientEvents, TacitClient } from '../../src/client.ts'
import type { Transport } from '../../src/net/transport.ts'
import { nodeFiles } from '../../src/node/node-files.ts'
import { nodeTransport } from '../../src/node/ws-transport.ts'
import { createMemoryStoreBackend } from '../../src/store/memory-backend.ts'
import { createEncryptedStore } from '../../src/store/sealed-store.ts'
import type { Store } from '../../src/store/store.ts'

/** Small Argon2id parameters: these tests are about messaging, not passphrase hardening. */
export const TEST_KDF = { memoryKiB: 64, iterations: 1, parallelism: 1 }

export async function newStore(): Promise<Store> {
  return createEncryptedStore(createMemoryStoreBackend(), 'test passphrase', {
    crypto: nodeBackend,
    kdfParams: TEST_KDF,
  })
}

/** Records every event a client emits, by name. */
export class Recorder {
  readonly events: { [E in ClientEventName]: ClientEvents[E][] } = {
    message: [],
    edit: [],
    delete: [],
    reaction: [],
    receipt: [],
    typing: [],
    conversation: [],
    membership: [],
    alert: [],
  }
  constructor(client: TacitClient) {
    for (const name of Object.keys(this.events) as ClientEventName[]) {
      client.on(name, (v) => (this.events[name] as unknown[]).push(v))
    }
  }
  texts(conversationId?: string): string[] {
    return this.events.message
      .filter((m) => !conversationId || m.conversationId === conversationId)
      .map((m) => m.text)
  }
}

export async function createAccount(
  serverUrl: string,
  invite: string,
  handle: string,
  store?: Store,
  options: { transport?: Transport } = {},
) {
  const own = store ?? (await newStore())
  const client = await TacitClient.createAccount({
    serverUrl,
    invite,
    handle,
    store: own,
    backend: nodeBackend,
    transport: options.transport ?? nodeTransport(),
    files: nodeFiles(),
  })
  const recorder = new Recorder(client)
  await client.connect()
  return { client, recorder, store: own }
}
