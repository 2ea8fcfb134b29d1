/**
 * End to end across processes: the real server process on 127.0.0.1 and every client device in
 * its own process (`support/client-agent.ts`: the SDK over an encrypted SQLite store), talking
 * only through the server. The same scenarios run with the server on SQLite and on PostgreSQL
 * (a fresh schema, dropped after; TACIT_TEST_POSTGRES=0 leaves that suite out).
 *
 * Processes: alice, bob and carol (long-lived); carol again after being offline; dave (only
 * creates his account, then is gone); bob's second device. Every call has a bounded wait and
 * every process is ended in `after`.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { Agent, waitFor } from './support/agent-process.ts'
import { type E2eServer, startE2eServer } from './support/server.ts'

interface Received {
  conversationId: string
  sender: string
  text: string
}
interface Summary {
  id: string
  name: string
  members: string[]
  active: boolean
}
interface Tapped {
  direction: 'out' | 'in'
  kind: string
  groupId: string | null
  mls: string | null
}
type Decrypted = { ok: true; kind: string; text?: string | null } | { ok: false; code: string }

function suite(backend: 'sqlite' | 'postgres'): void {
  describe(`end to end across processes, server on ${backend}`, () => {
    let server: E2eServer
    let dir: string
    const agents: Agent[] = []
    let alice: Agent
    let bob: Agent
    let carol: Agent
    const storeOf = (who: string) => join(dir, `${who}.db`)
    const start = async (who: string) => {
      const a = await Agent.start(who)
      agents.push(a)
      return a
    }
    const createAccount = async (who: string) => {
      const a = await start(who)
      await a.call('create', {
        store: storeOf(who),
        serverUrl: server.url,
        invite: await server.invite(),
        handle: who,
      })
      return a
    }
    const texts = async (a: Agent, id: string) =>
      (await a.call<Received[]>('received', { id })).map((m) => m.text)
    const syncAll = (...as: Agent[]) => Promise.all(as.map((a) => a.call('sync')))

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'tacit-e2e-stores-'))
      server = await startE2eServer(
        backend === 'postgres' ? { postgresSchema: `e2e_${Date.now()}_${process.pid}` } : {},
      )
      ;[alice, bob, carol] = await Promise.all([
        createAccount('alice'),
        createAccount('bob'),
        createAccount('carol'),
      ])
      const dave = await createAccount('dave')
      await dave.stop() // dave's KeyPackages stay on the server: he can be added while away.
    })

    after(async () => {
      await Promise.all(agents.map((a) => a.stop().catch(() => a.kill())))
      await server?.stop()
      rmSync(dir, { recursive: true, force: true })
    })

    it('1:1 chat between two processes, the name kept inside the group', async () => {
      const { id } = await alice.call<{ id: string }>('createConversation', {
        members: ['bob'],
        name: 'lunch',
      })
      await bob.call('sync')
      const summary = await bob.call<Summary>('conversation', { id })
      assert.deepEqual([summary.name, summary.members], ['lunch', ['alice', 'bob']])
      await alice.call('sendText', { id, text: 'hello bob' })
      await bob.call('sync')
      assert.deepEqual(await texts(bob, id), ['hello bob'])
      await bob.call('sendText', { id, text: 'hi alice' })
      await alice.call('sync')
      assert.deepEqual(await texts(alice, id), ['hi alice'])
      assert.deepEqual(await bob.call('history', { id }), [
        { sender: 'alice', text: 'hello bob', outgoing: false },
        { sender: 'bob', text: 'hi alice', outgoing: true },
      ])
    })

    it('group of three: add and remove; the removed member cannot open what is sent after', async () => {
      const { id } = await alice.call<{ id: string }>('createConversation', {
        members: ['bob'],
        name: 'team',
      })
      await bob.call('sync')
      await alice.call('addMembers', { id, handles: ['carol'] })
      await syncAll(bob, carol)
      assert.deepEqual((await carol.call<Summary>('conversation', { id })).members, ['alice', 'bob', 'carol'])
      await carol.call('sendText', { id, text: 'carol here' })
      await syncAll(alice, bob)
      assert.deepEqual(await texts(alice, id), ['carol here'])
      assert.deepEqual(await texts(bob, id), ['carol here'])

      // Carol's state while she is a member; a message of that epoch opens with it (control).
      await syncAll(alice, bob, carol)
      const saved = await carol.call<{ epoch: string }>('saveGroupState', { id })
      const before = await bob.call<{ mls: string }>('sendTextCaptured', { id, text: 'before removal' })
      assert.deepEqual(await carol.call<Decrypted>('tryDecrypt', { id, mls: before.mls }), {
        ok: true,
        kind: 'application',
        text: 'before removal',
      })

      await alice.call('removeMembers', { id, handles: ['carol'] })
      await syncAll(bob, carol)
      assert.ok((await carol.call<string[]>('removedFrom')).includes(id), 'carol learns she was removed')
      assert.equal((await carol.call<Summary>('conversation', { id })).active, false)
      assert.deepEqual((await bob.call<Summary>('conversation', { id })).members, ['alice', 'bob'])

      const afterRemoval = await bob.call<{ mls: string }>('sendTextCaptured', {
        id,
        text: 'after carol left',
      })
      await syncAll(alice, carol)
      assert.ok((await texts(alice, id)).includes('after carol left'), 'alice (still a member) reads it')
      // The server did not route it to carol; and had it (or anyone) handed her the ciphertext,
      // neither her state from before the removal nor her state now opens it.
      const carolSaw = await carol.call<Tapped[]>('tapped')
      assert.ok(!carolSaw.some((t) => t.mls === afterRemoval.mls))
      const withOld = await carol.call<Decrypted>('tryDecrypt', { id, mls: afterRemoval.mls })
      assert.equal(withOld.ok, false, `state of epoch ${saved.epoch} must not open a later epoch's message`)
      await carol.call('saveGroupState', { id })
      const withNow = await carol.call<Decrypted>('tryDecrypt', { id, mls: afterRemoval.mls })
      assert.deepEqual(withNow, { ok: false, code: 'not-member' })
      assert.ok(!(await texts(carol, id)).includes('after carol left'))
      assert.ok(
        !(await carol.call<{ text: string }[]>('history', { id })).some((m) => m.text === 'after carol left'),
      )
      await assert.rejects(
        carol.call('sendText', { id, text: 'still here?' }),
        /no longer in the conversation/,
      )
    })

    it('delivers to a client process started after the messages were sent', async () => {
      await carol.stop()
      assert.equal(carol.running, false)
      const { id } = await alice.call<{ id: string }>('createConversation', {
        members: ['carol'],
        name: 'later',
      })
      await alice.call('sendText', { id, text: 'while you were away 1' })
      await alice.call('sendText', { id, text: 'while you were away 2' })
      carol = await start('carol (restarted)')
      await carol.call('open', { store: storeOf('carol') })
      await carol.call('sync')
      assert.equal((await carol.call<Summary>('conversation', { id })).name, 'later')
      assert.deepEqual(await texts(carol, id), ['while you were away 1', 'while you were away 2'])
    })

    it('concurrent commits: two processes add members for the same epoch; one conflict, both land', async () => {
      const { id } = await alice.call<{ id: string }>('createConversation', { members: ['bob'] })
      await bob.call('sync')
      const conflictsBefore = await server.metric('tacit_commits_total', { outcome: 'conflict' })
      // Each process holds its commit frame until both have one ready: both are for this epoch.
      await Promise.all([alice.call('armCommitGate'), bob.call('armCommitGate')])
      const adds = [
        alice.call('addMembers', { id, handles: ['carol'] }),
        bob.call('addMembers', { id, handles: ['dave'] }),
      ]
      await waitFor(
        async () =>
          (await alice.call<number>('commitHeld')) === 1 && (await bob.call<number>('commitHeld')) === 1,
        'both commits to be ready',
      )
      await Promise.all([alice.call('releaseCommits'), bob.call('releaseCommits')])
      await Promise.all(adds)
      const conflictsAfter = await server.metric('tacit_commits_total', { outcome: 'conflict' })
      assert.equal(conflictsAfter - conflictsBefore, 1, 'the server refused exactly one of the two')
      const seen = (await alice.call<number>('epochConflicts')) + (await bob.call<number>('epochConflicts'))
      assert.equal(seen, 1, 'exactly one process was told epoch-conflict')
      await syncAll(alice, bob, carol)
      for (const a of [alice, bob, carol]) {
        assert.deepEqual((await a.call<Summary>('conversation', { id })).members, [
          'alice',
          'bob',
          'carol',
          'dave',
        ])
      }
      await bob.call('sendText', { id, text: 'after the race' })
      await syncAll(alice, carol)
      assert.deepEqual(await texts(alice, id), ['after the race'])
      assert.deepEqual(await texts(carol, id), ['after the race'])
    })

    it("a user's second device, in its own process, joins their conversations and sees new messages", async () => {
      const { id } = await alice.call<{ id: string }>('createConversation', { members: ['bob'], name: 'two' })
      await bob.call('sync')
      const laptop = await start('bob laptop')
      const { code } = await laptop.call<{ code: string }>('beginLink', {
        store: storeOf('bob-laptop'),
        serverUrl: server.url,
      })
      const { answer } = await bob.call<{ answer: string }>('approveLink', { code })
      const linked = await laptop.call<{ handle: string }>('completeLink', { answer })
      assert.equal(linked.handle, 'bob')
      await laptop.call('sync')
      assert.ok(
        (await laptop.call<Summary[]>('listConversations')).some((c) => c.id === id && c.name === 'two'),
      )
      assert.equal((await bob.call<unknown[]>('devices')).length, 2)
      await alice.call('sendText', { id, text: 'to both of your devices' })
      await syncAll(bob, laptop)
      assert.deepEqual(await texts(bob, id), ['to both of your devices'])
      assert.deepEqual(await texts(laptop, id), ['to both of your devices'])
      await laptop.call('sendText', { id, text: 'from the laptop' })
      await syncAll(alice, bob)
      assert.deepEqual(await texts(alice, id), ['from the laptop'])
      const onPhone = (await bob.call<{ text: string; outgoing: boolean }[]>('history', { id })).find(
        (m) => m.text === 'from the laptop',
      )
      assert.equal(onPhone?.outgoing, true, "the phone shows the laptop's message as its user's own")
    })
  })
}

suite('sqlite')
if (process.env.TACIT_TEST_POSTGRES !== '0') suite('postgres')
