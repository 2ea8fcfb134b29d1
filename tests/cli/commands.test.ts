/**
 * The command layer in-process, against a fake SDK (support/fake-client.ts): argument checks,
 * conversation names, --json shapes, exit codes of mapped errors, the verify output format and
 * the chat session. The same commands against the real SDK and server: e2e.test.ts.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { COMMANDS, isGroup } from '../../packages/cli/src/registry.ts'
import { nodeBackend } from '../../packages/crypto/src/node/backend.ts'
import { computeSafetyNumber } from '../../packages/protocol/src/verification/safety-number.ts'
import { FakeWorld } from './support/fake-client.ts'
import { runCliOnce, startCli, waitFor } from './support/in-process.ts'

function world() {
  const w = new FakeWorld()
  w.addAccount('alice', 'correct horse', '/profiles/alice')
  w.addAccount('bob', 'correct horse', '/profiles/bob')
  w.addAccount('carol', 'correct horse', '/profiles/carol')
  return w
}
const as = (who: string) => ['--profile', `/profiles/${who}`]

describe('tacit commands (fake SDK)', () => {
  it('send to a handle starts a 1:1 chat once, and read --json returns the messages', async () => {
    const w = world()
    const f = w.factory()
    const first = await runCliOnce([...as('alice'), 'send', 'bob', 'hello', 'bob', '--json'], f)
    assert.equal(first.code, 0, first.stderr)
    const doc = JSON.parse(first.stdout) as { conversation: string; message: { id: string } }
    assert.match(doc.message.id, /^[0-9a-f]{32}$/)
    const second = await runCliOnce([...as('alice'), 'send', 'bob', 'again'], f)
    assert.equal(second.code, 0, second.stderr)
    assert.equal(w.conversations.size, 1, 'the second send reuses the 1:1 chat')
    const read = await runCliOnce([...as('bob'), 'read', 'alice', '--json'], f)
    assert.equal(read.code, 0, read.stderr)
    const got = JSON.parse(read.stdout) as {
      conversation: string
      messages: { text: string; sender: string }[]
    }
    assert.equal(got.conversation, doc.conversation)
    assert.deepEqual(
      got.messages.map((m) => [m.sender, m.text]),
      [
        ['alice', 'hello bob'],
        ['alice', 'again'],
      ],
    )
    assert.deepEqual(w.reads.at(-1)?.ids.length, 2, 'reading marks the messages read')
  })

  it('a named group of two is not the 1:1 chat: send to a handle starts a separate one', async () => {
    const w = world()
    const f = w.factory()
    assert.equal((await runCliOnce([...as('alice'), 'group', 'create', '--name', 'pair', 'bob'], f)).code, 0)
    assert.equal((await runCliOnce([...as('alice'), 'send', 'bob', 'direct'], f)).code, 0)
    assert.equal(w.conversations.size, 2)
    const direct = [...w.conversations.values()].find((c) => c.name === undefined)
    assert.deepEqual(
      w.messages.map((m) => m.conversationId),
      [direct?.id],
    )
  })

  it('group create/add/remove/list with names, ids and id prefixes', async () => {
    const w = world()
    const f = w.factory()
    const created = await runCliOnce(
      [...as('alice'), 'group', 'create', '--name', 'team', 'bob', '--json'],
      f,
    )
    assert.equal(created.code, 0, created.stderr)
    const id = (JSON.parse(created.stdout) as { conversation: { id: string } }).conversation.id
    const added = await runCliOnce([...as('alice'), 'group', 'add', 'team', 'carol', '--json'], f)
    assert.deepEqual(
      (JSON.parse(added.stdout) as { conversation: { members: string[] } }).conversation.members,
      ['alice', 'bob', 'carol'],
    )
    const again = await runCliOnce([...as('alice'), 'group', 'add', 'team', 'carol'], f)
    assert.equal(again.code, 1)
    assert.match(again.stderr, /already members: carol/)
    const removed = await runCliOnce([...as('alice'), 'group', 'remove', id.slice(0, 8), 'bob', '--json'], f)
    assert.equal(removed.code, 0, removed.stderr)
    const list = await runCliOnce([...as('carol'), 'group', 'list', '--json'], f)
    assert.deepEqual(JSON.parse(list.stdout), {
      conversations: [{ id, name: 'team', members: ['alice', 'carol'], active: true }],
    })
    const bobs = await runCliOnce([...as('bob'), 'group', '--json'], f)
    assert.deepEqual(JSON.parse(bobs.stdout), { conversations: [] }, '`group` alone lists; bob was removed')
    const missing = await runCliOnce([...as('bob'), 'read', 'team'], f)
    assert.equal(missing.code, 5, 'an unknown conversation is exit code 5')
  })

  it('maps SDK errors to exit codes: wrong passphrase 2, no account 2, unknown handle 5', async () => {
    const w = world()
    const f = w.factory()
    const wrong = await runCliOnce([...as('alice'), 'group', 'list', '--json'], f, {
      TACIT_PASSPHRASE: 'nope nope',
    })
    assert.equal(wrong.code, 2)
    assert.equal((JSON.parse(wrong.stdout) as { error: { code: string } }).error.code, 'auth')
    assert.doesNotMatch(wrong.stderr + wrong.stdout, /nope nope|correct horse/, 'no passphrase in errors')
    const none = await runCliOnce(['--profile', '/profiles/nobody', 'group', 'list'], f)
    assert.equal(none.code, 2)
    assert.match(none.stderr, /tacit account create/)
    const unknown = await runCliOnce([...as('alice'), 'group', 'create', 'zed'], f)
    assert.equal(unknown.code, 5, unknown.stderr)
    const tooLong = await runCliOnce([...as('alice'), 'send', 'bob', 'x'.repeat(64 * 1024 + 1)], f)
    assert.equal(tooLong.code, 1)
    assert.equal(w.messages.length, 0, 'nothing was sent')
  })

  it('verify prints the 60-digit safety number both sides compute, and --scan checks the code', async () => {
    const w = world()
    const f = w.factory()
    const a = await runCliOnce([...as('alice'), 'verify', 'bob', '--json'], f)
    const b = await runCliOnce([...as('bob'), 'verify', 'alice', '--json'], f)
    assert.equal(a.code, 0, a.stderr)
    type V = { safetyNumber: string; groups: string[]; verificationCode: string; verified: boolean }
    const va = JSON.parse(a.stdout) as V
    const vb = JSON.parse(b.stdout) as V
    assert.match(va.safetyNumber, /^\d{60}$/)
    assert.equal(va.safetyNumber, vb.safetyNumber, 'the same number on both sides')
    const expected = await computeSafetyNumber(
      nodeBackend,
      { handle: 'alice', identityKey: w.accounts.get('alice')!.identityKey },
      { handle: 'bob', identityKey: w.accounts.get('bob')!.identityKey },
    )
    assert.equal(va.safetyNumber, expected.digits)
    assert.equal(va.groups.length, 12)
    assert.match(va.verificationCode, /^54414356/, 'the code starts with "TACV"')
    assert.equal(va.verified, false)
    const human = await runCliOnce([...as('alice'), 'verify', 'bob'], f)
    assert.match(human.stdout, /^Safety number for you and bob:\n\n( {4}\d{5} \d{5} \d{5} \d{5}\n){3}/)
    assert.match(human.stdout, /run: tacit verify bob --mark/)
    // Carol's screen is not Bob's: scanning it must fail with exit code 4 and mark nothing.
    const carols = JSON.parse(
      (await runCliOnce([...as('carol'), 'verify', 'alice', '--json'], f)).stdout,
    ) as V
    const bad = await runCliOnce([...as('alice'), 'verify', 'bob', '--scan', carols.verificationCode], f)
    assert.equal(bad.code, 4, bad.stderr)
    assert.equal(w.accounts.get('alice')!.verified.has('bob'), false)
    const good = await runCliOnce(
      [...as('alice'), 'verify', 'bob', '--scan', vb.verificationCode, '--json'],
      f,
    )
    assert.equal(good.code, 0, good.stderr)
    assert.equal((JSON.parse(good.stdout) as V).verified, true)
    assert.equal(w.accounts.get('alice')!.verified.has('bob'), true)
  })

  it('chat over a pipe: an incoming message appears while a line is half typed; typing is announced', async () => {
    const w = world()
    const f = w.factory()
    await runCliOnce([...as('alice'), 'send', 'bob', 'before'], f)
    const chat = startCli([...as('bob'), 'chat', 'alice'], f)
    await waitFor(chat.stdout, (s) => s.includes('before'))
    chat.stdin.write('half a li')
    await waitFor(
      () => JSON.stringify(w.typing),
      (s) => s.includes('"typing":true'),
    )
    assert.deepEqual(w.typing[0], {
      handle: 'bob',
      conversationId: [...w.conversations.keys()][0],
      typing: true,
    })
    await runCliOnce([...as('alice'), 'send', 'bob', 'while you type'], f)
    await waitFor(chat.stdout, (s) => s.includes('alice: while you type'))
    chat.stdin.write('ne\n/members\n/quit\n')
    assert.equal(await chat.code, 0, chat.stderr())
    assert.match(chat.stdout(), /members: alice, bob/)
    assert.deepEqual(
      w.messages.map((m) => [m.sender, m.text]),
      [
        ['alice', 'before'],
        ['alice', 'while you type'],
        ['bob', 'half a line'],
      ],
    )
    assert.equal(w.typing.at(-1)?.typing, false, 'typing is withdrawn when the line is sent')
  })

  it('argument errors exit 1 with one line on stderr and nothing on stdout', async () => {
    const f = world().factory()
    const cases: [string[], RegExp][] = [
      [['sned', 'bob', 'hi'], /unknown command "sned"/],
      [['send'], /missing <conversation>/],
      [['send', 'bob'], /missing <text>/],
      [['group', 'frobnicate'], /unknown command "group frobnicate"/],
      [['devices', 'frobnicate'], /unknown command "devices frobnicate"/],
      [['read', 'bob', '--limit', 'many'], /--limit takes a whole number/],
      [['read', 'bob', '--limit', '0'], /--limit must be between 1 and/],
      [['read', 'bob', '--frob'], /Unknown option '--frob'/],
      [['read', 'bob', 'extra'], /unexpected argument "extra"/],
      [['verify', 'Not A Handle'], /is not a handle/],
      [['verify', 'bob', '--scan', 'xyz'], /--scan takes the verification code in hex/],
      [['--server', 'ftp://x', 'account', 'create', '--invite', 'AAAAAAAAAAAAAAAAAAAAAA', 'alice'], /http/],
      [['--server', 'not a url', 'group', 'list'], /not a URL/],
      [['account', 'create', 'alice'], /missing --invite/],
      [['account', 'create', '--invite', 'bad code!', 'alice'], /is not an invite code/],
      [['account', 'create', '--invite', 'AAAAAAAAAAAAAAAAAAAAAA', 'alice'], /no server: pass --server/],
      [['devices', 'revoke', 'short'], /device id is 22 characters/],
      [['group', 'create', '--name', 'x'], /missing <handle>/],
      [[...as('alice'), 'group', 'create', 'alice'], /name at least one other member/],
      [[...as('alice'), 'send', 'bob', '   '], /the message is empty/],
      [[...as('alice'), 'verify', 'alice'], /that is you/],
    ]
    for (const [args, pattern] of cases) {
      const r = await runCliOnce(args, f)
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, pattern, args.join(' '))
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, 'one line')
      assert.equal(r.stdout, '')
    }
  })

  it('option values may start with "-" (invite codes and ids are base64url); "--" ends options', async () => {
    const w = world()
    const seen: string[] = []
    const f = w.factory()
    const factory = {
      ...f,
      createAccount: async (p: Parameters<typeof f.createAccount>[0]) => {
        seen.push(p.invite)
        return f.createAccount(p)
      },
    }
    const r = await runCliOnce(
      [
        '--server',
        'http://127.0.0.1:1',
        '--profile',
        '/profiles/dave',
        'account',
        'create',
        '--invite',
        '-AbCdEfGhIjKlMnOpQrStU',
        'dave',
      ],
      factory,
    )
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(seen, ['-AbCdEfGhIjKlMnOpQrStU'])
    const dash = await runCliOnce([...as('alice'), 'send', 'bob', '--', '-5', 'degrees', '--json'], f)
    assert.equal(dash.code, 0, dash.stderr)
    assert.equal(w.messages.at(-1)?.text, '-5 degrees --json', 'after "--" everything is text')
  })

  it('an id that starts with "-" is named as it is shown, without "--"; a typo is still an unknown option', async () => {
    const w = world()
    const f = w.factory()
    // Conversation ids are base64url of 32 bytes: one in 64 starts with '-', one in 4096 with '--'.
    const dash = '-nQp6A9xdTgUPv8bvS27KR3nrwknx2BNPqASpBoUtfA'
    const twoDashes = '--Qp6A9xdTgUPv8bvS27KR3nrwknx2BNPqASpBoUtfB'
    w.conversations.set(dash, { id: dash, name: 'team', members: ['alice', 'bob'] })
    w.conversations.set(twoDashes, { id: twoDashes, name: 'crew', members: ['alice', 'bob', 'carol'] })
    const sentTo = (args: string[]) => runCliOnce([...as('alice'), '--json', ...args], f)
    for (const [args, id] of [
      [['send', dash, 'by', 'id'], dash],
      [['send', dash.slice(0, 10), 'by', 'prefix'], dash],
      [['send', twoDashes, 'two', 'dashes'], twoDashes],
      [['send', twoDashes.slice(0, 8), 'two', 'dashes', 'prefix'], twoDashes],
      [['send', '--', dash, 'after', '--'], dash],
    ] as const) {
      const r = await sentTo([...args])
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`)
      assert.equal((JSON.parse(r.stdout) as { conversation: string }).conversation, id, args.join(' '))
    }
    assert.deepEqual(
      w.messages.map((m) => m.text),
      ['by id', 'by prefix', 'two dashes', 'two dashes prefix', 'after --'],
    )
    const read = await runCliOnce([...as('bob'), 'read', dash.slice(0, 7), '--json'], f)
    assert.equal(read.code, 0, read.stderr)
    const added = await runCliOnce([...as('alice'), 'group', 'add', dash, 'carol', '--json'], f)
    assert.equal(added.code, 0, added.stderr)
    assert.deepEqual(w.conversations.get(dash)?.members, ['alice', 'bob', 'carol'])
    // Only the slot that takes an id reads a leading '-' as part of it.
    const cases: [string[], RegExp][] = [
      [['read', '--frobnicate'], /Unknown option '--frobnicate'/],
      [['read', '-x'], /Unknown option '-x'/],
      [['send', 'team', dash], /Unknown option '-n'/],
      [['read', 'team', '-nQp6A9x'], /Unknown option '-n'/],
      [['send', 'team', '-5', 'degrees'], /Unknown option '-5'/],
      [['devices', 'revoke', '-Zt3k0Qy2Jd7w8PzQmV0x'], /device id is 22 characters/],
    ]
    for (const [args, pattern] of cases) {
      const r = await runCliOnce([...as('alice'), ...args], f)
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, pattern, args.join(' '))
    }
    const help = await runCliOnce(['read', '-hhhhhhh'], f)
    assert.equal(help.code, 0, "a cluster of the command's own short flags is still flags")
    assert.ok(help.stdout.startsWith('Usage: tacit read'))
  })

  it('every long option is lowercase words, so an id with a capital or a digit is never taken for one', () => {
    for (const c of COMMANDS.flatMap((x) => (isGroup(x) ? x.subcommands : [x])))
      for (const name of Object.keys(c.options))
        assert.match(name, /^[a-z]+(?:-[a-z]+)*$/, `${c.name} --${name}`)
  })

  it('group help lists the subcommands; `help <command>` is the same as `<command> --help`', async () => {
    const f = world().factory()
    for (const g of COMMANDS.filter(isGroup)) {
      const r = await runCliOnce([g.name, '--help'], f)
      assert.equal(r.code, 0)
      for (const s of g.subcommands)
        assert.ok(r.stdout.includes(`tacit ${s.name}`), `${g.name} lists ${s.name}`)
    }
    const viaHelp = await runCliOnce(['help', 'file', 'get'], f)
    const viaFlag = await runCliOnce(['file', 'get', '--help'], f)
    assert.ok(viaHelp.stdout.startsWith('Usage: tacit file get'))
    assert.equal(viaHelp.stdout, viaFlag.stdout)
    const fileAlone = await runCliOnce(['file'], f)
    assert.equal(fileAlone.code, 1, '`file` has no default subcommand')
    assert.match(fileAlone.stderr, /tacit file send/)
  })
})
