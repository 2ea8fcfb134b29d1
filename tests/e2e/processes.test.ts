/**
 * End to end across processes: the real server process on 127.0.0.1 and every client device in
 * its own process (`support/client-agent.ts`: the SDK over an encrypted SQLite store), talking
 * only through the server. The same scenarios run with the server on SQLite and on PostgreSQL
 * (a fresh schema, dropped after; TACIT_TEST_POSTGRES=0 leaves that suite out).
 *
 * Scenarios: a 1:1 chat; a group of three with add and remove (the removed member's state is
 * shown not to open what is sent after); a 100 MiB file; delivery to a process started after
 * the messages were sent; two processes committing for the same epoch; a second device.
 *
 * Processes: alice, bob and carol (long-lived); carol again after being offline; dave (only
 * creates his account, then is gone); bob's second device. Every call has a bounded wait and
 * every process is ended in `after`.
 */
import assert from 'node:assert/strict'
import { createHash, randomFillSync } from 'node:crypto'
import {
  closeSync,
  createReadStream,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
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
/** 100 MiB: the file scenario (issue #4 item 7). */
const FILE_BYTES = 100 * 1024 * 1024
/** Upload or download of FILE_BYTES on a loaded machine (a few MB/s at worst). */
const FILE_TIMEOUT_MS = 240_000

function writeRandomFile(path: string, size: number): string {
  const hash = createHash('sha256')
  const chunk = new Uint8Array(4 * 1024 * 1024)
  const fd = openSync(path, 'w')
  try {
    for (let done = 0; done < size; done += chunk.length) {
      randomFillSync(chunk)
      hash.update(chunk)
      writeSync(fd, chunk)
    }
  } finally {
    closeSync(fd)
  }
  return hash.digest('hex')
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256')
  await pipeline(createReadStream(path), hash)
  return hash.digest('hex')
}

function readSlice(path: string, at: number, length: number): Buffer {
  const fd = openSync(path, 'r')
  try {
    const b = Buffer.alloc(length)
    readSync(fd, b, 0, length, at)
    return b
  } finally {
    closeSync(fd)
  }
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
      const history = await bob.call<{ sender: string; text: string; outgoing: boolean }[]>('history', { id })
      assert.deepEqual(
        history.map((m) => [m.sender, m.text, m.outgoing]),
        [
          ['alice', 'hello bob', false],
          ['bob', 'hi alice', true],
        ],
      )
    })

    it('group of three: add and remove; the removed member cannot open what is sent after', async (t) => {
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

      const aliceSentBefore = (await alice.call<Tapped[]>('tapped')).length
      await alice.call('removeMembers', { id, handles: ['carol'] })
      const removal = (await alice.call<Tapped[]>('tapped'))
        .slice(aliceSentBefore)
        .filter((x) => x.direction === 'out' && x.kind === 'commit' && x.groupId === id)
      assert.equal(removal.length, 1, 'one removal commit left alice')
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
      t.diagnostic(`carol's epoch-${saved.epoch} state on the later message: ${JSON.stringify(withOld)}`)
      // Even processing the removal commit herself from that state leaves her without the new epoch.
      const withCommit = await carol.call<Decrypted & { removedSelf?: boolean }>('tryDecrypt', {
        id,
        mls: afterRemoval.mls,
        commitFirst: removal[0]!.mls,
      })
      assert.deepEqual(withCommit, { ok: false, code: 'not-member', removedSelf: true })
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

    it('a 100 MiB file from one process to another, identical on arrival, never in the clear on the server', async () => {
      const source = join(dir, 'source.bin')
      const sourceHash = writeRandomFile(source, FILE_BYTES)
      const { id } = await alice.call<{ id: string }>('createConversation', { members: ['bob'] })
      await bob.call('sync')
      const sent = await alice.call<{ messageId: string; size: number }>(
        'sendFile',
        { id, path: source, name: 'report.bin' },
        FILE_TIMEOUT_MS,
      )
      assert.equal(sent.size, FILE_BYTES)
      await bob.call('sync')
      const message = (
        await bob.call<{ id: string; kind: string; file?: { name: string; size: number } }[]>('history', {
          id,
        })
      ).find((m) => m.id === sent.messageId)
      assert.deepEqual(message?.file, { name: 'report.bin', size: FILE_BYTES })
      const destination = join(dir, 'received.bin')
      const got = await bob.call<{ size: number }>(
        'downloadFile',
        { id, messageId: sent.messageId, destination },
        FILE_TIMEOUT_MS,
      )
      assert.equal(got.size, FILE_BYTES)
      assert.equal(await sha256Of(destination), sourceHash)
      if (backend === 'sqlite') {
        // Every file of the server's data folder (database, WAL): no 64-byte run of the file.
        const needles = [0, FILE_BYTES / 2, FILE_BYTES - 64].map((at) => readSlice(source, at, 64))
        const files = readdirSync(server.dataDir)
          .map((f) => join(server.dataDir, f))
          .filter((f) => statSync(f).isFile())
        // Database and WAL together hold the ciphertext (a checkpoint may have moved part of it).
        const stored = files.reduce((sum, f) => sum + statSync(f).size, 0)
        assert.ok(stored > FILE_BYTES, `the ciphertext is stored in the data folder (${stored} bytes)`)
        for (const f of files) {
          const data = readFileSync(f)
          for (const n of needles) assert.equal(data.indexOf(n), -1, f)
        }
      }
      rmSync(source)
      rmSync(destination)
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
