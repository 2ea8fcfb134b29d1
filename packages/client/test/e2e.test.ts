/**
 * The SDK end to end: real server process on 127.0.0.1 (SQLite, then PostgreSQL in a fresh
 * schema, dropped after), real WebSockets, real MLS, the encrypted store. Each scenario waits
 * with bounded waits (`sync()` drains a mailbox; `waitFor` fails instead of hanging).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { nodeBackend } from '@tacit/crypto/node/backend'
import { bytesToBase64url } from '@tacit/protocol/wire/encoding'
import { TacitClient } from '../src/client.ts'
import { nodeTransport } from '../src/node/ws-transport.ts'
import { createAccount, newStore, Recorder } from './support/clients.ts'
import { lookedUpHandles, mitmTransport, substituteIdentityKey } from './support/mitm.ts'
import { dropSchema, type ServerProcess, startServer, waitFor } from './support/server.ts'

function suite(backend: 'sqlite' | 'postgres'): void {
  describe(`client SDK end to end on ${backend}`, () => {
    const schema = `client_e2e_${Date.now()}_${process.pid}`
    let server: ServerProcess
    const clients: TacitClient[] = []
    type Account = Awaited<ReturnType<typeof createAccount>>
    let alice: Account
    let bob: Account
    let carol: Account
    const account = async (handle: string) => {
      const a = await createAccount(server.url, await server.invite(), handle)
      clients.push(a.client)
      return a
    }

    before(async () => {
      server = await startServer(backend === 'postgres' ? { postgresSchema: schema } : {})
      alice = await account('alice')
      bob = await account('bob')
      carol = await account('carol')
    })

    after(async () => {
      await Promise.all(clients.map((c) => c.close()))
      await server.stop()
      if (backend === 'postgres') await dropSchema(schema)
    })

    it('1:1 chat: both sides read each other, with the name kept inside the group', async () => {
      const id = await alice.client.createConversation({ members: ['bob'], name: 'lunch' })
      await bob.client.sync()
      const [summary] = (await bob.client.listConversations()).filter((c) => c.id === id)
      assert.ok(summary, 'bob joined from the Welcome')
      assert.deepEqual(summary.members, ['alice', 'bob'])
      assert.equal(summary.name, 'lunch')
      await alice.client.sendText(id, 'hello bob')
      await bob.client.sync()
      assert.deepEqual(bob.recorder.texts(id), ['hello bob'])
      await bob.client.sendText(id, 'hi alice')
      await alice.client.sync()
      assert.deepEqual(alice.recorder.texts(id), ['hello bob', 'hi alice'])
      const history = await bob.client.history(id)
      assert.deepEqual(
        history.map((m) => [m.sender.handle, m.text, m.outgoing]),
        [
          ['alice', 'hello bob', false],
          ['bob', 'hi alice', true],
        ],
      )
    })

    it('receipts, edits, deletes, reactions and typing round-trip', async () => {
      const id = await alice.client.createConversation({ members: ['bob'] })
      await bob.client.sync()
      const m1 = await alice.client.sendText(id, 'first')
      const m2 = await alice.client.sendText(id, 'second')
      await bob.client.sync() // bob receives and sends delivered receipts
      await alice.client.sync()
      let mine = await alice.client.history(id)
      assert.deepEqual(
        mine.map((m) => m.receipts.delivered),
        [['bob'], ['bob']],
      )
      assert.equal((await bob.client.listConversations()).find((c) => c.id === id)?.unreadCount, 2)
      await bob.client.markRead(id, m1)
      assert.equal((await bob.client.listConversations()).find((c) => c.id === id)?.unreadCount, 1)
      await bob.client.react(id, m2, '👍')
      await bob.client.setTyping(id, true)
      await alice.client.editMessage(id, m1, 'first (edited)')
      await alice.client.deleteMessage(id, m2)
      await alice.client.sync()
      mine = await alice.client.history(id)
      assert.deepEqual(mine[0]!.receipts.read, ['bob'])
      assert.deepEqual(mine[1]!.reactions, { '👍': ['bob'] })
      assert.ok(
        alice.recorder.events.typing.some((t) => t.conversationId === id && t.handle === 'bob' && t.typing),
      )
      await bob.client.sync()
      const theirs = await bob.client.history(id)
      assert.equal(theirs[0]!.text, 'first (edited)')
      assert.equal(theirs[0]!.edited, true)
      assert.equal(theirs[1]!.deleted, true)
      assert.equal(theirs[1]!.text, '')
      await assert.rejects(bob.client.editMessage(id, m1, 'not yours'), /only your own/)
    })

    it('group of three: add, remove; the removed member reads nothing later', async () => {
      const id = await alice.client.createConversation({ members: ['bob'], name: 'team' })
      await bob.client.sync()
      await alice.client.addMembers(id, ['carol'])
      await Promise.all([bob.client.sync(), carol.client.sync()])
      assert.deepEqual((await carol.client.conversation(id)).members, ['alice', 'bob', 'carol'])
      await carol.client.sendText(id, 'carol here')
      await Promise.all([alice.client.sync(), bob.client.sync()])
      assert.ok(alice.recorder.texts(id).includes('carol here'))
      assert.ok(bob.recorder.texts(id).includes('carol here'))

      await alice.client.removeMembers(id, ['carol'])
      await Promise.all([bob.client.sync(), carol.client.sync()])
      const removed = carol.recorder.events.membership.find((m) => m.conversationId === id && m.removedSelf)
      assert.ok(removed, 'carol learns she was removed')
      assert.equal((await carol.client.conversation(id)).active, false)
      assert.deepEqual((await bob.client.conversation(id)).members, ['alice', 'bob'])
      await bob.client.sendText(id, 'after carol left')
      await Promise.all([alice.client.sync(), carol.client.sync()])
      assert.ok(alice.recorder.texts(id).includes('after carol left'))
      assert.ok(!carol.recorder.texts(id).includes('after carol left'))
      assert.ok(!(await carol.client.history(id)).some((m) => m.text === 'after carol left'))
      await assert.rejects(carol.client.sendText(id, 'still here?'), /no longer in the conversation/)
    })

    it('delivers to a client that was offline', async () => {
      const id = await alice.client.createConversation({ members: ['carol'] })
      await carol.client.close()
      await alice.client.sendText(id, 'while you were away 1')
      await alice.client.sendText(id, 'while you were away 2')
      const store = (carol.client as unknown as { store: Awaited<ReturnType<typeof newStore>> }).store
      const again = await TacitClient.open({ store, backend: nodeBackend, transport: nodeTransport() })
      clients.push(again)
      const rec = new Recorder(again)
      await again.sync()
      assert.deepEqual(rec.texts(id), ['while you were away 1', 'while you were away 2'])
      carol = { client: again, recorder: rec, store }
    })

    it('a device back from away catches up before it sends: a member added meanwhile reads it', async () => {
      const erin = await account('erin')
      const frank = await account('frank')
      const id = await alice.client.createConversation({ members: ['erin'] })
      await erin.client.sync()
      await erin.client.close()
      await alice.client.addMembers(id, ['frank'])
      await frank.client.sync()
      // Back again, erin sends at once, without a sync of her own: the SDK applies the commit
      // that added frank first, so the message is in the epoch frank holds.
      const again = await TacitClient.open({
        store: erin.store,
        backend: nodeBackend,
        transport: nodeTransport(),
      })
      clients.push(again)
      await again.connect()
      await again.sendText(id, 'sent right after reconnecting')
      assert.deepEqual((await again.conversation(id)).members, ['alice', 'erin', 'frank'])
      await Promise.all([alice.client.sync(), frank.client.sync()])
      assert.ok(frank.recorder.texts(id).includes('sent right after reconnecting'))
      assert.ok(alice.recorder.texts(id).includes('sent right after reconnecting'))
      assert.deepEqual(
        frank.recorder.events.alert.filter((a) => a.kind === 'undecryptable'),
        [],
      )
    })

    it('a Welcome whose member lookups fail for a while is joined once they succeed, not dropped', async () => {
      const mitm = mitmTransport()
      const gina = await createAccount(server.url, await server.invite(), 'gina', undefined, {
        transport: mitm,
      })
      clients.push(gina.client)
      const hank = await account('hank')
      let failures = 0
      // gina's directory lookups of hank (alone or in a batch) fail, as a timeout or a dropped
      // connection would, the first three times.
      mitm.set(async (request, forward) => {
        if ((await lookedUpHandles(request)).includes('hank') && failures < 3) {
          failures++
          throw new TypeError('fetch failed')
        }
        return forward(request)
      })
      const id = await alice.client.createConversation({ members: ['gina', 'hank'], name: 'flaky' })
      await gina.client.sync()
      assert.equal(failures, 3)
      assert.deepEqual((await gina.client.conversation(id)).members, ['alice', 'gina', 'hank'])
      assert.deepEqual(gina.recorder.events.alert, [])
      await hank.client.sendText(id, 'hello gina')
      await gina.client.sync()
      assert.deepEqual(gina.recorder.texts(id), ['hello gina'])
    })

    it("a Welcome naming a member whose credential the directory's identity key did not sign is refused", async () => {
      const mitm = mitmTransport()
      const ivan = await createAccount(server.url, await server.invite(), 'ivan', undefined, {
        transport: mitm,
      })
      clients.push(ivan.client)
      const jill = await account('jill')
      // ivan has never met jill; the directory he asks gives a key other than the one that
      // signed jill's credential. Trust on first use adopts it, so jill's leaf must be refused.
      mitm.set(substituteIdentityKey('jill', bytesToBase64url(new Uint8Array(32).fill(9))))
      const id = await alice.client.createConversation({ members: ['ivan', 'jill'], name: 'forged' })
      await ivan.client.sync()
      await waitFor(
        () => ivan.recorder.events.alert.some((a) => a.kind === 'identity-changed' && a.handle === 'jill'),
        "ivan's identity-changed alert for jill",
      )
      assert.ok(ivan.recorder.events.alert.some((a) => a.kind === 'undecryptable'))
      assert.ok(!(await ivan.client.listConversations()).some((c) => c.id === id), 'ivan did not join')
      // jill, the real one, joined; alice and the other members see nothing wrong.
      await jill.client.sync()
      assert.deepEqual((await jill.client.conversation(id)).members, ['alice', 'ivan', 'jill'])
      assert.deepEqual(jill.recorder.events.alert, [])
    })

    it('a member learns of several people added at once with one directory request', async () => {
      const mitm = mitmTransport()
      const kate = await createAccount(server.url, await server.invite(), 'kate', undefined, {
        transport: mitm,
      })
      clients.push(kate.client)
      const id = await alice.client.createConversation({ members: ['kate'], name: 'growing' })
      await kate.client.sync()
      const newcomers = ['lena', 'mike', 'nina']
      for (const h of newcomers) await account(h)
      const mark = mitm.log.length
      await alice.client.addMembers(id, newcomers)
      await kate.client.sync()
      assert.deepEqual((await kate.client.conversation(id)).members, ['alice', 'kate', ...newcomers])
      const lookups = mitm.log.slice(mark).filter((r) => r.path.startsWith('/v1/accounts/'))
      assert.deepEqual(
        lookups.map((r) => `${r.method} ${r.path}`),
        ['POST /v1/accounts/lookup'],
      )
    })

    it('concurrent commits from two members both land, nobody is stuck', async () => {
      const id = await alice.client.createConversation({ members: ['bob', 'carol'] })
      await Promise.all([bob.client.sync(), carol.client.sync()])
      // Both commit for the same epoch: the server takes one, the other catches up and retries.
      await Promise.all([
        alice.client.updateOwnLeaf(id),
        bob.client.updateOwnLeaf(id),
        carol.client.updateOwnLeaf(id),
      ])
      await Promise.all([alice.client.sync(), bob.client.sync(), carol.client.sync()])
      await alice.client.sendText(id, 'after the race')
      await bob.client.sendText(id, 'bob after the race')
      await Promise.all([alice.client.sync(), bob.client.sync(), carol.client.sync()])
      assert.ok(carol.recorder.texts(id).includes('after the race'))
      assert.ok(carol.recorder.texts(id).includes('bob after the race'))
      assert.ok(alice.recorder.texts(id).includes('bob after the race'))
      assert.deepEqual(
        alice.recorder.events.alert.filter((a) => a.kind === 'undecryptable'),
        [],
      )
    })

    it("a user's second device joins their conversations and sees new messages", async () => {
      const id = await alice.client.createConversation({ members: ['bob'], name: 'two devices' })
      await bob.client.sync()
      const laptopStore = await newStore()
      const { code } = await TacitClient.beginDeviceLink({
        serverUrl: server.url,
        store: laptopStore,
        backend: nodeBackend,
      })
      const answer = await bob.client.approveDeviceLink(code)
      const laptop = await TacitClient.completeDeviceLink({
        answer,
        store: laptopStore,
        backend: nodeBackend,
        transport: nodeTransport(),
      })
      clients.push(laptop)
      const laptopEvents = new Recorder(laptop)
      assert.equal(laptop.handle, 'bob')
      await laptop.sync()
      const joined = await laptop.listConversations()
      assert.ok(
        joined.some((c) => c.id === id),
        'the laptop is in the conversation',
      )
      assert.equal((await bob.client.devices()).length, 2)
      await alice.client.sendText(id, 'to both of your devices')
      await Promise.all([bob.client.sync(), laptop.sync()])
      assert.ok(bob.recorder.texts(id).includes('to both of your devices'))
      assert.deepEqual(laptopEvents.texts(id), ['to both of your devices'])
      await laptop.sendText(id, 'from the laptop')
      await Promise.all([alice.client.sync(), bob.client.sync()])
      assert.ok(alice.recorder.texts(id).includes('from the laptop'))
      const onPhone = (await bob.client.history(id)).find((m) => m.text === 'from the laptop')
      assert.equal(onPhone?.outgoing, true, "the phone shows the laptop's message as its user's own")
      // New conversations include both of bob's devices.
      const id2 = await alice.client.createConversation({ members: ['bob'] })
      await Promise.all([bob.client.sync(), laptop.sync()])
      assert.ok((await laptop.listConversations()).some((c) => c.id === id2))
      // Revoking the laptop removes it everywhere; messages still flow to the phone.
      await bob.client.revokeDevice(laptop.deviceId)
      assert.equal((await bob.client.devices()).length, 1)
      await alice.client.sync()
      await alice.client.sendText(id, 'after revocation')
      await bob.client.sync()
      assert.ok(bob.recorder.texts(id).includes('after revocation'))
    })
  })
}

suite('sqlite')
if (process.env.TACIT_TEST_POSTGRES !== '0') suite('postgres')
