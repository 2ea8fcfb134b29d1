/**
 * The real `tacit` binary: --help on every command (with examples), argument errors and their
 * exit codes, and a missing passphrase — none of which needs a server or an account.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { EXIT_CODES } from '../../packages/cli/src/errors.ts'
import { allCommands } from '../../packages/cli/src/registry.ts'
import { runTacit } from './support/tacit-process.ts'

/** Two at a time: the machine has two cores shared by the whole team. */
async function inPairs<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = []
  for (let i = 0; i < items.length; i += 2) out.push(...(await Promise.all(items.slice(i, i + 2).map(fn))))
  return out
}

describe('tacit --help and argument errors (real binary)', () => {
  it('tacit --help lists every command and the exit codes', async () => {
    const r = await runTacit(['--help'])
    assert.equal(r.code, 0, r.stderr)
    for (const spec of allCommands()) assert.ok(r.stdout.includes(`  ${spec.name} `), `lists ${spec.name}`)
    for (const [, code] of Object.entries(EXIT_CODES))
      assert.match(r.stdout, new RegExp(`\\n\\s+${code}  \\S`))
    const bare = await runTacit([])
    assert.equal(bare.code, 1, 'no command is a usage error')
    assert.match(bare.stderr, /^tacit: end-to-end encrypted/)
  })

  it('every command has --help with usage, options and examples', async () => {
    const specs = allCommands()
    assert.equal(specs.length, 15, 'the commands of docs/cli.md')
    const results = await inPairs(specs, async (spec) => ({
      spec,
      r: await runTacit([...spec.name.split(' '), '--help']),
    }))
    for (const { spec, r } of results) {
      assert.equal(r.code, 0, `${spec.name}: ${r.stderr}`)
      assert.ok(r.stdout.startsWith(`Usage: tacit ${spec.name}`), `${spec.name} usage line`)
      assert.match(r.stdout, /\nExamples:\n {2}tacit /, `${spec.name} has examples`)
      assert.ok(spec.examples.length > 0)
      for (const e of spec.examples) assert.ok(r.stdout.includes(e), `${spec.name} shows its examples`)
      assert.match(r.stdout, /--profile <dir>/, `${spec.name} lists the global options`)
    }
  })

  it('argument errors exit 1 with one line; --json adds one error document', async () => {
    // The full table of argument errors runs in-process (commands.test.ts); these two go through
    // the binary to check the exit code and streams of the real process.
    const r = await runTacit(['sned', 'bob', 'hi'])
    assert.equal(r.code, EXIT_CODES.usage, r.stderr)
    assert.equal(r.stderr, 'tacit: unknown command "sned" (see: tacit --help)\n')
    assert.equal(r.stdout, '')
    const json = await runTacit(['send', '--json'])
    assert.equal(json.code, 1)
    assert.deepEqual(JSON.parse(json.stdout), {
      error: { code: 'usage', message: 'missing <conversation> (see: tacit send --help)', exitCode: 1 },
    })
  })

  it('without TACIT_PASSPHRASE and without a terminal, asking for the passphrase fails with exit 2', async () => {
    const r = await runTacit(['--profile', '/nonexistent/tacit-profile', 'group', 'list'])
    assert.equal(r.code, EXIT_CODES.auth, r.stderr)
    assert.match(r.stderr, /no passphrase: set TACIT_PASSPHRASE/)
  })
})
