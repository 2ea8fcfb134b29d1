/**
 * End to end: the real `tacit` binary, as separate processes for alice, bob and carol (each with
 * its own profile folder and encrypted store), against the real server process on 127.0.0.1.
 *
 * Stores are made with TACIT_INSECURE_FAST_KDF=1 (small Argon2id parameters) so that the ~30
 * runs of the binary stay within the test's time; the default parameters are used by one run
 * (the wrong-passphrase test) to show the path users take.
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { type E2eServer, startE2eServer } from '../e2e/support/server.ts'
import { runTacit, spawnTacit, TACIT_BIN, waitForOutput } from './support/tacit-process.ts'

const PASSPHRASE = 'correct horse battery staple'

describe('tacit end to end (real server, real binary)', () => {
  let server: E2eServer
  let home: string
  const profile = (who: string) => join(home, who)
  const env = (extra: Record<string, string> = {}) => ({
    TACIT_SERVER: server.url,
    TACIT_PASSPHRASE: PASSPHRASE,
    TACIT_INSECURE_FAST_KDF: '1',
    ...extra,
  })
  const tacit = (who: string, args: string[], extra: Record<string, string> = {}) =>
    runTacit(['--profile', profile(who), ...args], { env: env(extra) })
  const json = <T>(r: { stdout: string; stderr: string; code: number | null }): T => {
    assert.equal(r.code, 0, r.stderr)
    return JSON.parse(r.stdout) as T
  }

  before(async () => {
    server = await startE2eServer()
    home = mkdtempSync(join(tmpdir(), 'tacit-cli-profiles-'))
  })

  after(async () => {
    const code = await server?.stop()
    rmSync(home, { recursive: true, force: true })
    assert.equal(code, 0, 'the server shuts down cleanly')
  })

  it('account create with an invite; a used invite is refused (2) and leaves no profile behind', async () => {
    const invite = await server.invite()
    const alice = json<{ account: { handle: string; deviceId: string; profile: string } }>(
      await tacit('alice', ['account', 'create', '--invite', invite, 'alice', '--json']),
    )
    assert.equal(alice.account.handle, 'alice')
    assert.match(alice.account.deviceId, /^[A-Za-z0-9_-]{22}$/)
    assert.equal(alice.account.profile, profile('alice'))
    const reused = await tacit('dave', ['account', 'create', '--invite', invite, 'dave'])
    assert.equal(reused.code, 2, reused.stderr)
    assert.match(withoutKdfWarning(reused.stderr), /^tacit: .*invite-invalid\n$/)
    const again = await tacit('alice', ['account', 'create', '--invite', await server.invite(), 'alice2'])
    assert.equal(again.code, 7, `a profile with an account is a conflict: ${again.stderr}`)
    for (const who of ['bob', 'carol']) {
      const r = await tacit(who, ['account', 'create', '--invite', await server.invite(), who, '--json'])
      assert.equal(r.code, 0, r.stderr)
    }
    const shown = json<{ account: { handle: string } }>(await tacit('bob', ['account', 'show', '--json']))
    assert.equal(shown.account.handle, 'bob')
    const devices = json<{ devices: { current: boolean }[] }>(await tacit('bob', ['devices', '--json']))
    assert.deepEqual(
      devices.devices.map((d) => d.current),
      [true],
    )
  })

  it('a wrong passphrase exits 2, says so in one line, and leaves the store file as it was', async () => {
    const store = join(profile('bob'), 'tacit.db')
    const digest = () => createHash('sha256').update(readFileSync(store)).digest('hex')
    const before = digest()
    const r = await tacit('bob', ['group', 'list'], { TACIT_PASSPHRASE: 'not the passphrase' })
    assert.equal(r.code, 2)
    assert.equal(r.stderr, 'tacit: wrong-passphrase: the passphrase does not open this store\n')
    assert.equal(digest(), before)
    const none = await tacit('nobody', ['group', 'list'])
    assert.equal(none.code, 2)
    assert.match(none.stderr, /no account in .*nobody/)
  })

  it('on a terminal the passphrase is asked at a hidden prompt and never echoed', async () => {
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(TACIT_BIN)} --profile ${JSON.stringify(profile('bob'))} group list --json`
    const t = spawnTacitRaw('script', ['-qfec', command, '/dev/null'], env({ TACIT_PASSPHRASE: '' }))
    await waitForOutput(t.stdout, (s) => s.includes('Passphrase: '), 60_000)
    t.child.stdin!.write(`${PASSPHRASE}\r`)
    const done = await t.done
    assert.equal(done.code, 0, done.stdout)
    assert.ok(!done.stdout.includes(PASSPHRASE), 'the passphrase is not echoed')
    assert.match(done.stdout, /\{"conversations":\[\]\}/)
  })

  let team = ''

  it('group create, send and read with --json, add and remove; the removed member reads nothing later', async () => {
    const created = json<{ conversation: { id: string; name: string; members: string[] } }>(
      await tacit('alice', ['group', 'create', '--name', 'team', 'bob', '--json']),
    )
    team = created.conversation.id
    assert.deepEqual(created.conversation.members, ['alice', 'bob'])
    assert.equal(created.conversation.name, 'team')
    const sent = json<{ conversation: string; message: { id: string } }>(
      await tacit('alice', ['send', 'team', 'hello', 'bob', '--json']),
    )
    assert.equal(sent.conversation, team)
    const read = json<{ messages: { id: string; sender: string; text: string }[] }>(
      await tacit('bob', ['read', 'team', '--json']),
    )
    assert.deepEqual(
      read.messages.map((m) => [m.id, m.sender, m.text]),
      [[sent.message.id, 'alice', 'hello bob']],
    )
    const added = json<{ conversation: { members: string[] } }>(
      await tacit('bob', ['group', 'add', team.slice(0, 10), 'carol', '--json']),
    )
    assert.deepEqual(added.conversation.members, ['alice', 'bob', 'carol'])
    await tacit('alice', ['send', 'team', 'welcome carol'])
    const carolList = json<{ conversations: { id: string; name: string }[] }>(
      await tacit('carol', ['group', 'list', '--json']),
    )
    assert.deepEqual(
      carolList.conversations.map((c) => [c.id, c.name]),
      [[team, 'team']],
      'the name reached carol inside the group',
    )
    const removed = json<{ conversation: { members: string[] }; removed: string[] }>(
      await tacit('alice', ['group', 'remove', 'team', 'carol', '--json']),
    )
    assert.deepEqual(removed.conversation.members, ['alice', 'bob'])
    await tacit('alice', ['send', 'team', 'after carol left'])
    const carolRead = json<{ messages: { text: string }[] }>(await tacit('carol', ['read', team, '--json']))
    assert.deepEqual(
      carolRead.messages.map((m) => m.text),
      ['welcome carol'],
      'carol sees what was sent while she was a member, and nothing after',
    )
    const bobRead = json<{ messages: { text: string }[] }>(await tacit('bob', ['read', 'team', '--json']))
    assert.deepEqual(
      bobRead.messages.map((m) => m.text),
      ['hello bob', 'welcome carol', 'after carol left'],
    )
    const notMember = await tacit('carol', ['group', 'add', team, 'carol'])
    assert.notEqual(notMember.code, 0, 'a removed member cannot change the group')
  })

  it('read --follow --json prints JSON lines as messages arrive, and stops at --timeout', async () => {
    const follow = spawnTacit(
      ['--profile', profile('bob'), 'read', 'team', '--follow', '--json', '--timeout', '90'],
      {
        env: env(),
      },
    )
    // The history comes first (three messages), then what arrives.
    await waitForOutput(follow.stdout, (s) => s.split('\n').filter(Boolean).length >= 3, 60_000)
    const r = await tacit('alice', ['send', 'team', 'live'])
    assert.equal(r.code, 0, r.stderr)
    const out = await waitForOutput(follow.stdout, (s) => s.includes('"text":"live"'), 60_000)
    follow.child.kill('SIGINT')
    const done = await follow.done
    assert.equal(done.code, 0, 'Ctrl-C ends a follow cleanly')
    const lines = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; message?: { text: string } })
    assert.deepEqual(
      lines.filter((l) => l.type === 'message').map((l) => l.message!.text),
      ['hello bob', 'welcome carol', 'after carol left', 'live'],
    )
  })

  it('chat in a pseudo-terminal: an incoming message appears above the prompt, the half-typed line is kept', async () => {
    // `script` (util-linux) gives the chat a real terminal; its stdin is our pipe.
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(TACIT_BIN)} --profile ${JSON.stringify(profile('bob'))} chat team --history 1`
    const chat = spawnTacitRaw('script', ['-qfec', command, '/dev/null'], env())
    const plain = () => stripAnsi(chat.stdout())
    await waitForOutput(plain, (s) => s.includes('/help for commands') && s.includes('> '), 60_000)
    chat.child.stdin!.write('half a li')
    await waitForOutput(plain, (s) => s.includes('> half a li'), 30_000)
    const sent = await tacit('alice', ['send', 'team', 'while you type'])
    assert.equal(sent.code, 0, sent.stderr)
    const screen = await waitForOutput(
      plain,
      (s) => /alice: while you type[\s\S]*> half a li/.test(s),
      60_000,
    )
    const incoming = screen.lastIndexOf('alice: while you type')
    assert.ok(
      screen.indexOf('> half a li', incoming) > incoming,
      'the prompt and pending input are redrawn below',
    )
    // Lines are handled in order: the message is sent before /quit is.
    chat.child.stdin!.write('ne\r/quit\r')
    const done = await chat.done
    assert.equal(done.code, 0, done.stderr)
    const read = json<{ messages: { sender: string; text: string }[] }>(
      await tacit('alice', ['read', 'team', '--json']),
    )
    const last = read.messages.at(-1)
    assert.deepEqual([last?.sender, last?.text], ['bob', 'half a line'])
  })

  it('file send and get: the bytes arrive intact, no progress bar in --json mode, no overwrite (7)', async () => {
    // An ordinary document: 300,000 bytes, 5 chunks of 64 KiB with a short last one, padded to
    // its size bucket. (Small files once failed the upload's checkpoint check after the last
    // chunk; fixed in the file format, 2fe93d6, with a regression property test there.)
    const data = randomBytes(300_000)
    const source = join(home, 'report.bin')
    writeFileSync(source, data)
    const sent = json<{ message: { id: string }; file: { name: string; size: number } }>(
      await tacit('alice', ['file', 'send', 'team', source, '--name', 'report.bin', '--json']),
    )
    assert.deepEqual(sent.file, { name: 'report.bin', size: data.length, resumedFrom: 0 })
    const listed = json<{ messages: { id: string; file?: { name: string; size: number } }[] }>(
      await tacit('bob', ['read', 'team', '--json']),
    )
    assert.deepEqual(listed.messages.find((m) => m.id === sent.message.id)?.file, {
      name: 'report.bin',
      size: data.length,
      mediaType: 'application/octet-stream',
    })
    const target = join(home, 'received.bin')
    const fetched = await tacit('bob', [
      'file',
      'get',
      'team',
      sent.message.id.slice(0, 8),
      '-o',
      target,
      '--json',
    ])
    assert.doesNotMatch(fetched.stderr, /\r|\[[#-]/, 'no progress bar without a terminal')
    assert.ok(!fetched.stderr.includes('\x1b'), 'no cursor moves without a terminal')
    const got = json<{ file: { name: string; size: number; path: string } }>(fetched)
    assert.equal(got.file.path, target)
    assert.ok(readFileSync(target).equals(data), 'the same bytes')
    const again = await tacit('bob', ['file', 'get', 'team', sent.message.id, '-o', target])
    assert.equal(again.code, 7, again.stderr)
    const missing = await tacit('bob', ['file', 'get', 'team', 'ffffffff'])
    assert.equal(missing.code, 5, missing.stderr)
  })

  it('verify: both sides print the same safety number; --scan marks verified, a wrong code exits 4', async () => {
    type V = { safetyNumber: string; groups: string[]; verificationCode: string; verified: boolean }
    const a = json<V>(await tacit('alice', ['verify', 'bob', '--json']))
    const b = json<V>(await tacit('bob', ['verify', 'alice', '--json']))
    assert.match(a.safetyNumber, /^\d{60}$/)
    assert.equal(a.safetyNumber, b.safetyNumber)
    assert.equal(a.groups.join(''), a.safetyNumber)
    assert.equal(a.verified, false)
    const human = await tacit('alice', ['verify', 'bob'])
    assert.equal(human.code, 0, human.stderr)
    assert.match(human.stdout, /^Safety number for you and bob:\n\n( {4}\d{5} \d{5} \d{5} \d{5}\n){3}\n/)
    assert.ok(human.stdout.includes(`    ${a.verificationCode}\n`), 'the code is printed for --scan')
    assert.match(human.stdout, /bob is not verified\. If the numbers match, run: tacit verify bob --mark\n$/)
    // Carol's code is about carol and alice: scanning it as bob's must fail and mark nothing.
    const carols = json<V>(await tacit('carol', ['verify', 'alice', '--json']))
    const wrong = await tacit('alice', ['verify', 'bob', '--scan', carols.verificationCode])
    assert.equal(wrong.code, 4, wrong.stderr)
    assert.equal(json<V>(await tacit('alice', ['verify', 'bob', '--json'])).verified, false)
    const scanned = json<V & { scanned: string }>(
      await tacit('alice', ['verify', 'bob', '--scan', b.verificationCode, '--json']),
    )
    assert.equal(scanned.scanned, 'match')
    assert.equal(scanned.verified, true)
    const marked = json<V>(await tacit('bob', ['verify', 'alice', '--mark', '--json']))
    assert.equal(marked.verified, true)
  })

  it('account link: a second device of alice gets the account and later messages; devices lists both', async () => {
    const link = spawnTacit(['--profile', profile('alice-laptop'), 'account', 'link', '--json'], {
      env: env(),
    })
    const first = await waitForOutput(link.stdout, (s) => s.includes('\n'), 60_000)
    const { code } = JSON.parse(first.split('\n')[0]!) as { event: string; code: string }
    const approved = json<{ answer: string }>(
      await tacit('alice', ['account', 'link', '--approve', code, '--json']),
    )
    link.child.stdin!.end(`${approved.answer}\n`)
    const done = await link.done
    assert.equal(done.code, 0, done.stderr)
    const linked = JSON.parse(done.stdout.trim().split('\n').at(-1)!) as {
      event: string
      account: { handle: string }
    }
    assert.deepEqual([linked.event, linked.account.handle], ['linked', 'alice'])
    const devices = json<{ devices: { current: boolean }[] }>(
      await tacit('alice', ['devices', 'list', '--json']),
    )
    assert.deepEqual(devices.devices.map((d) => d.current).sort(), [false, true])
    assert.equal((await tacit('bob', ['send', 'team', 'to both of alice'])).code, 0)
    const laptop = json<{ messages: { text: string }[] }>(
      await tacit('alice-laptop', ['read', 'team', '--json']),
    )
    assert.deepEqual(
      laptop.messages.map((m) => m.text),
      ['to both of alice'],
    )
  })
})

/** Stores made with TACIT_INSECURE_FAST_KDF say so on stderr; the rest is the command's own. */
function withoutKdfWarning(stderr: string): string {
  return stderr.replace(/^tacit: warning: TACIT_INSECURE_FAST_KDF.*\n/, '')
}

function stripAnsi(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escape sequences are what is removed
  return s.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '')
}

/** Like spawnTacit, for another program (script) that runs tacit inside a pseudo-terminal. */
function spawnTacitRaw(program: string, args: string[], extraEnv: Record<string, string>) {
  return spawnTacit(args, { env: extraEnv, program })
}
