/**
 * Small pieces of the CLI on their own: the progress line, the progress bar's on/off rules,
 * neutralising control characters from others, file names chosen by a sender, and the mapping
 * of other packages' errors to exit codes without leaking their messages.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { safeFileName } from '../../packages/cli/src/commands/file.ts'
import { classifyError, EXIT_CODES } from '../../packages/cli/src/errors.ts'
import { formatMessage, sanitize } from '../../packages/cli/src/ui/format.ts'
import { createProgressBar, formatBytes, renderProgressLine } from '../../packages/cli/src/ui/progress-bar.ts'

describe('cli pieces', () => {
  it('renders a progress line within the width, with percent, amounts and rate', () => {
    const line = renderProgressLine({
      label: 'sending a.bin',
      done: 512 * 1024,
      total: 1024 * 1024,
      elapsedMs: 1000,
      width: 80,
    })
    assert.equal(line, 'sending a.bin [##############-------------]  50%  512.0 KiB/1.0 MiB  512.0 KiB/s')
    assert.equal(line.length, 80, 'the bar takes the room left')
    const done = renderProgressLine({ label: 'x', done: 10, total: 10, elapsedMs: 0, width: 40 })
    assert.match(done, /\[#+\] 100% {2}10 B\/10 B$/)
    assert.equal(formatBytes(3 * 1024 ** 3), '3.0 GiB')
  })

  it('draws the progress bar only on a terminal and only when enabled; redraws are throttled', () => {
    const writes: string[] = []
    const target = { isTTY: true, columns: 80, write: (t: string) => writes.push(t) }
    let now = 0
    const bar = createProgressBar(target, 'f', { enabled: true, now: () => now })
    bar.update(1, 100)
    now = 50
    bar.update(2, 100) // within the redraw interval: not drawn
    now = 200
    bar.update(3, 100)
    bar.update(100, 100) // the end is always drawn
    bar.stop()
    assert.equal(writes.filter((w) => w.startsWith('\r')).length, 4)
    assert.equal(writes.at(-1), '\n')
    const off: string[] = []
    createProgressBar({ isTTY: false, write: (t: string) => off.push(t) }, 'f', { enabled: true }).update(
      1,
      2,
    )
    createProgressBar({ isTTY: true, write: (t: string) => off.push(t) }, 'f', { enabled: false }).update(
      1,
      2,
    )
    assert.deepEqual(off, [])
  })

  it('replaces control characters in text from others (no cursor moves, no fake prompts)', () => {
    assert.equal(
      sanitize('hi\u001b[2J\u001b]0;owned\u0007 there\r> '),
      'hi\ufffd[2J\ufffd]0;owned\ufffd there\ufffd> ',
    )
    assert.equal(sanitize('tab\tand\nnewline stay'), 'tab\tand\nnewline stay')
    const line = formatMessage({
      id: 'a'.repeat(32),
      conversationId: 'c',
      sender: 'mallory\u001b[31m',
      sentAt: 0,
      text: '\u009b2J',
      file: undefined,
      edited: false,
      deleted: false,
      reactions: { '\u001bx': ['bob'] },
      own: false,
      status: undefined,
    })
    assert.ok(!line.includes('\u001b') && !line.includes('\u009b'), 'no ESC or CSI left')
  })

  it('keeps only a plain base name of a sender’s file name', () => {
    assert.equal(safeFileName('../../etc/passwd'), 'passwd')
    assert.equal(safeFileName('..\\..\\boot.ini'), 'boot.ini')
    assert.equal(safeFileName('.bashrc'), '_bashrc')
    assert.equal(safeFileName('..'), 'received-file')
    assert.equal(safeFileName('a\u0000b\nc.txt'), 'a_b_c.txt')
  })

  it('maps errors to exit codes by their stable code, and hides messages it cannot vouch for', () => {
    const clientError = (code: string, message: string, extra: object = {}) =>
      Object.assign(new Error(message), { name: 'ClientError', code, ...extra })
    assert.equal(
      classifyError(clientError('server', 'server: invite-invalid', { serverCode: 'invite-invalid' }))
        .exitCode,
      2,
    )
    assert.equal(
      classifyError(clientError('server', 'server: rate-limited', { serverCode: 'rate-limited' })).exitCode,
      3,
    )
    assert.equal(classifyError(clientError('file-tampered', 'file-tampered: x')).exitCode, 4)
    assert.equal(classifyError(clientError('verification-failed', 'verification-failed: x')).exitCode, 4)
    assert.equal(classifyError(clientError('unknown-handle', 'unknown-handle: x')).exitCode, 5)
    assert.equal(classifyError(clientError('not-registered', 'not-registered: x')).exitCode, 2)
    const wrong = classifyError(
      Object.assign(new Error('wrong-passphrase: no'), { name: 'StoreError', code: 'wrong-passphrase' }),
    )
    assert.equal(wrong.exitCode, EXIT_CODES.auth)
    const refused = classifyError(
      new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) }),
    )
    assert.equal(refused.exitCode, 3)
    assert.equal(refused.message, 'cannot reach the server (ECONNREFUSED)')
    const enoent = classifyError(
      Object.assign(new Error("ENOENT: open '/home/bob/secret-plans.txt'"), { code: 'ENOENT' }),
    )
    assert.equal(enoent.exitCode, 5)
    assert.doesNotMatch(enoent.message, /secret-plans/, 'a system error keeps its code, not its path')
    const sdkBug = classifyError(clientError('internal', 'internal: a bug in the SDK'))
    assert.deepEqual([sdkBug.exitCode, sdkBug.message], [70, 'internal: a bug in the SDK'])
    const bug = classifyError(new TypeError('Cannot read properties of undefined (reading "the plaintext")'))
    assert.equal(bug.exitCode, 70)
    assert.doesNotMatch(bug.message, /plaintext/)
  })
})
