/**
 * A client process for the crash test: opens an account from its SQLite store and plays one
 * role until done or killed (SIGKILL, at any moment).
 *   sender <store> <conversationId> <total>: sends `m<i>` for every i not yet in its history,
 *     committing a self-update every 4th message (send, commit and receive all get interrupted).
 *   receiver <store>: syncs its mailbox over and over.
 * Prints `step` after connecting and after each message sent or sync made (the test picks its
 * kill points by them), and `done` when its part is finished.
 */
import { nodeBackend } from '@tacit/crypto/node/backend'
import { TacitClient } from '../../src/client.ts'
import { nodeTransport } from '../../src/node/ws-transport.ts'
import { openSqliteStore } from '../../src/store/sqlite-store.ts'

const [role, path, conversationId, totalText] = process.argv.slice(2)
const store = await openSqliteStore(path!, 'crash test', { crypto: nodeBackend })
const client = await TacitClient.open({ store, backend: nodeBackend, transport: nodeTransport() })
await client.connect()
await client.sync()
const step = (): void => void process.stdout.write('step\n')
step()
if (role === 'sender') {
  const total = Number(totalText)
  for (;;) {
    const sent = new Set((await client.history(conversationId!)).filter((m) => m.outgoing).map((m) => m.text))
    const next = Array.from({ length: total }, (_, i) => `m${i}`).find((t) => !sent.has(t))
    if (next === undefined) break
    await client.sendText(conversationId!, next)
    step()
    if (Number(next.slice(1)) % 4 === 3) await client.updateOwnLeaf(conversationId!)
    await client.sync()
  }
} else {
  for (let i = 0; i < 20; i++) {
    await client.sync()
    step()
  }
}
await client.sync()
process.stdout.write('done\n')
await client.close()
await store.lock()
process.exit(0)
