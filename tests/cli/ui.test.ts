/**
 * Small pieces of the CLI on their own: the progress bar (cli-progress) and its on/off rules,
 * the QR symbol read back module by module,
 * neutralising control characters from others, file names chosen by a sender, and the mapping
 * of other packages' errors to exit codes without leaking their messages.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import QRCode from 'qrcode'
import { safeFileName } from '../../packages/cli/src/commands/file.ts'
import { classifyError, EXIT_CODES } from '../../packages/cli/src/errors.ts'
import { formatMessage, sanitize } from '../../packages/cli/src/ui/format.ts'
import { createProgressBar, formatBytes } from '../../packages/cli/src/ui/progress-bar.ts'
import {
  QR_ERROR_CORRECTION,
  QR_QUIET_ZONE,
  qrColumns,
  renderQr,
  renderQrIfFits,
} from '../../packages/cli/src/ui/qr.ts'

describe('cli pieces', () => {
  it('draws the transfer progress with cli-progress on a terminal: label, bar, percent, amounts, rate', () => {
    const writes: string[] = []
    const target = { isTTY: true, columns: 100, write: (t: string) => writes.push(t) }
    const bar = createProgressBar(target, 'sending {bar}.bin', { enabled: true })
    bar.update(0, 4 * 1024 * 1024)
    // Many updates in a row: redraws are throttled (REDRAW_INTERVAL_MS), not one per update.
    const updates = 10_000
    for (let i = 1; i <= updates; i++) bar.update((i * 2 * 1024 * 1024) / updates, 4 * 1024 * 1024)
    bar.update(4 * 1024 * 1024, 4 * 1024 * 1024)
    bar.stop()
    const lines = writes.map(stripAnsi).filter((w) => w.includes('['))
    assert.ok(lines.length >= 2, 'drawn at the start and at the end')
    assert.ok(lines.length < updates / 10, `redraws are throttled (${lines.length} for ${updates} updates)`)
    const first = lines[0]!
    assert.match(first, /^sending \{bar\}\.bin \[-+\] 0% {2}0 B\/4\.0 MiB/, 'the label is shown as it is')
    const last = lines.at(-1)!
    assert.match(last, /^sending \{bar\}\.bin \[#+\] 100% {2}4\.0 MiB\/4\.0 MiB {2}\S+ \S*B\/s$/)
    assert.ok(last.length <= 100, 'fits the terminal')
    assert.equal(writes.at(-1), '\n', 'the line is ended')
    assert.equal(formatBytes(3 * 1024 ** 3), '3.0 GiB')
  })

  it('draws no progress bar when disabled (--json) or when stderr is not a terminal', () => {
    const off: string[] = []
    for (const [target, enabled] of [
      [{ isTTY: false, columns: 80, write: (t: string) => off.push(t) }, true],
      [{ isTTY: true, columns: 80, write: (t: string) => off.push(t) }, false],
    ] as const) {
      const bar = createProgressBar(target, 'f', { enabled })
      bar.update(1, 2)
      bar.update(2, 2)
      bar.stop()
    }
    assert.deepEqual(off, [])
  })

  it('draws a QR symbol in the terminal whose modules are the encoding of the payload', () => {
    const payload = Uint8Array.from({ length: 69 }, (_, i) => (i * 37 + 11) & 0xff)
    const drawn = renderQr(payload)
    // The reference symbol: the same payload as one byte-mode segment at the same level.
    const reference = QRCode.create([{ data: payload, mode: 'byte' }], {
      errorCorrectionLevel: QR_ERROR_CORRECTION,
    })
    assert.equal(reference.segments.length, 1)
    assert.deepEqual(
      Uint8Array.from(reference.segments[0]!.data as Uint8Array),
      payload,
      'byte mode, the payload as it is',
    )
    const size = reference.modules.size
    const grid = readHalfBlockSymbol(drawn)
    const zone = QR_QUIET_ZONE
    assert.equal(zone, 4, 'the quiet zone ISO/IEC 18004 asks for')
    assert.equal(qrColumns(payload), size + 2 * zone)
    // The symbol's rows are odd in number: the last cell row's lower half is one more light row.
    assert.equal(grid.length, size + 2 * zone + 1)
    // Four light modules all round, then the symbol module for module.
    for (const [y, row] of grid.entries()) {
      assert.equal(row.length, size + 2 * zone, `row ${y} width`)
      for (const [x, dark] of row.entries()) {
        const inside = x >= zone && y >= zone && x < size + zone && y < size + zone
        const expected = inside ? reference.modules.get(y - zone, x - zone) === 1 : false
        assert.equal(dark, expected, `module (${x}, ${y})`)
      }
    }
    // Different payloads draw different symbols (the drawing depends on the data).
    assert.notEqual(renderQr(payload.map((b) => b ^ 1)), drawn)
    assert.equal(
      renderQrIfFits(payload, size + 2 * zone - 1),
      undefined,
      'a symbol that would wrap is not drawn',
    )
    assert.equal(renderQrIfFits(payload, undefined), undefined)
    assert.equal(renderQrIfFits(payload, size + 2 * zone), drawn)
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

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape sequences start with ESC
const ANSI = /\x1b(\[[0-9;?]*[A-Za-z]|[78])/g

function stripAnsi(text: string): string {
  return text.replace(ANSI, '')
}

/**
 * Reads back a symbol drawn with half blocks in black on white (qrcode's small terminal
 * renderer): each character cell is two modules, the upper and the lower one. A cell drawn
 * after a colour reset in white foreground (`ESC[37m▀`) is the bottom border below the symbol,
 * whose lower half is outside the drawing.
 */
function readHalfBlockSymbol(drawn: string): boolean[][] {
  const cell: Record<string, [boolean, boolean]> = {
    ' ': [false, false],
    '▀': [true, false],
    '▄': [false, true],
    '█': [true, true],
  }
  const rows: boolean[][] = []
  for (const line of drawn.split('\n')) {
    // Every line sets a white background and black foreground, and resets at its end.
    if (line.length === 0) continue
    assert.ok(line.startsWith('\x1b[47m\x1b[30m') && line.endsWith('\x1b[0m'), 'colours of every line')
    const upper: boolean[] = []
    const lower: boolean[] = []
    for (const ch of stripAnsi(line)) {
      const halves = cell[ch]
      assert.ok(halves, `unexpected character ${JSON.stringify(ch)} in the symbol`)
      upper.push(halves[0])
      lower.push(halves[1])
    }
    rows.push(upper, lower)
  }
  return rows
}
