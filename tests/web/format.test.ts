/**
 * The web screens' pure helpers: delivery state from receipts, handle and passphrase checks,
 * titles, sizes, safety-number input, scanned-code bytes and error texts that hold no secrets.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ClientError } from '@tacit/client/errors'
import { StoreError } from '@tacit/client/store/errors'
import {
  checkHandle,
  checkNewPassphrase,
  deliveryStateOf,
  describeError,
  formatBytes,
  InputError,
  MAX_HANDLES_TYPED,
  normaliseDigits,
  parseHandles,
  peerOf,
  percentOf,
  safeFileName,
  titleOf,
} from '../../packages/web/src/ui/format.ts'

const receipts = (delivered: string[], read: string[]) => ({ receipts: { delivered, read } })

describe('deliveryStateOf', () => {
  it('1:1: sent, then delivered, then read', () => {
    assert.equal(deliveryStateOf(receipts([], []), ['bob']).state, 'sent')
    assert.equal(deliveryStateOf(receipts(['bob'], []), ['bob']).state, 'delivered')
    assert.deepEqual(deliveryStateOf(receipts(['bob'], ['bob']), ['bob']), { state: 'read', label: 'Read' })
  })
  it('a read receipt without a delivery receipt still counts as read', () => {
    assert.equal(deliveryStateOf(receipts([], ['bob']), ['bob']).state, 'read')
  })
  it('group: read only once every other member read it, with counts on the way', () => {
    const others = ['bob', 'carol', 'dave']
    assert.deepEqual(deliveryStateOf(receipts(['bob'], []), others), {
      state: 'sent',
      label: 'Sent, delivered to 1 of 3',
    })
    assert.deepEqual(deliveryStateOf(receipts(['bob', 'carol', 'dave'], ['carol']), others), {
      state: 'delivered',
      label: 'Delivered, read by 1',
    })
    assert.equal(deliveryStateOf(receipts([], ['bob', 'carol', 'dave']), others).state, 'read')
  })
  it('receipts from people no longer in the conversation do not count', () => {
    assert.equal(deliveryStateOf(receipts(['mallory'], ['mallory']), ['bob']).state, 'sent')
  })
  it('a conversation with nobody else is sent', () => {
    assert.equal(deliveryStateOf(receipts([], []), []).state, 'sent')
  })
})

describe('handles', () => {
  it('parses commas, spaces, @ and case, without duplicates', () => {
    assert.deepEqual(parseHandles(' Bob, @carol  dave,bob '), ['bob', 'carol', 'dave'])
  })
  it('rejects empty input, bad handles and too many', () => {
    assert.throws(
      () => parseHandles(' , '),
      (e) => e instanceof InputError && e.code === 'empty',
    )
    assert.throws(
      () => parseHandles('bob, x'),
      (e) => e instanceof InputError && e.code === 'bad-handle',
    )
    assert.throws(
      () => parseHandles('b/o'),
      (e) => e instanceof InputError && e.code === 'bad-handle',
    )
    const many = Array.from({ length: MAX_HANDLES_TYPED + 1 }, (_, i) => `u${i}`).join(',')
    assert.throws(
      () => parseHandles(many),
      (e) => e instanceof InputError && e.code === 'too-many',
    )
    assert.equal(
      parseHandles(many.split(',').slice(0, MAX_HANDLES_TYPED).join(',')).length,
      MAX_HANDLES_TYPED,
    )
  })
  it('checkHandle normalises one handle and rejects a bad one', () => {
    assert.equal(checkHandle('@Alice '), 'alice')
    assert.throws(() => checkHandle('-alice'), InputError)
    assert.throws(() => checkHandle('a'.repeat(33)), InputError)
  })
})

describe('checkNewPassphrase', () => {
  it('needs 8 characters and the same twice', () => {
    assert.equal(checkNewPassphrase('correct horse', 'correct horse'), 'correct horse')
    assert.throws(
      () => checkNewPassphrase('short', 'short'),
      (e) => e instanceof InputError && e.code === 'too-short',
    )
    assert.throws(
      () => checkNewPassphrase('long enough', 'long enougH'),
      (e) => e instanceof InputError && e.code === 'mismatch',
    )
  })
})

describe('titles', () => {
  it('uses the name, else the other members; a 1:1 has a peer', () => {
    assert.equal(titleOf({ name: 'team', members: ['alice', 'bob'] }, 'alice'), 'team')
    assert.equal(titleOf({ name: '', members: ['alice', 'bob', 'carol'] }, 'alice'), 'bob, carol')
    assert.equal(titleOf({ name: '', members: ['alice'] }, 'alice'), 'Just you')
    assert.equal(peerOf({ name: '', members: ['alice', 'bob'] }, 'alice'), 'bob')
    assert.equal(peerOf({ name: '', members: ['alice', 'bob', 'carol'] }, 'alice'), null)
  })
})

describe('numbers', () => {
  it('formats sizes in decimal units', () => {
    assert.equal(formatBytes(0), '0 B')
    assert.equal(formatBytes(999), '999 B')
    assert.equal(formatBytes(1500), '1.5 KB')
    assert.equal(formatBytes(25_000_000), '25 MB')
    assert.equal(formatBytes(-1), '?')
  })
  it('percent is clamped and whole', () => {
    assert.equal(percentOf(0, 10), 0)
    assert.equal(percentOf(5, 10), 50)
    assert.equal(percentOf(11, 10), 100)
    assert.equal(percentOf(0, 0), 100)
  })
  it('normaliseDigits accepts 60 digits with spaces or dashes, nothing else', () => {
    const digits = '0123456789'.repeat(6)
    assert.equal(normaliseDigits(digits.replace(/(\d{5})/g, '$1 ')), digits)
    assert.equal(normaliseDigits(digits.replace(/(\d{5})/g, '$1-')), digits)
    assert.equal(normaliseDigits(digits.slice(1)), null)
    assert.equal(normaliseDigits(`${digits.slice(1)}a`), null)
  })
})

describe('describeError', () => {
  it('gives the user words for the codes they can act on', () => {
    assert.match(describeError(new StoreError('wrong-passphrase', 'x')), /passphrase does not open/)
    assert.match(describeError(new ClientError('verification-failed', 'x')), /NOT verified/)
    assert.match(describeError(new InputError('too-short', 'Use at least 8 characters.')), /at least 8/)
  })
  it("maps the server's refusals by code", () => {
    const used = new ClientError('server', 'x', { serverCode: 'invite-invalid' })
    assert.match(describeError(used), /invite is not valid/)
    assert.match(
      describeError(new ClientError('server', 'x', { serverCode: 'already-exists' })),
      /handle is taken/,
    )
  })
  it('never shows the text of an error (it could hold anything)', () => {
    assert.doesNotMatch(describeError(new ClientError('internal', 'secret plaintext hello')), /secret|hello/)
    const text = describeError(new Error('secret plaintext hello'))
    assert.doesNotMatch(text, /secret|plaintext|hello/)
  })
})

describe('safeFileName', () => {
  it('keeps a base name, no folders, controls or leading dots', () => {
    assert.equal(safeFileName('../../etc/passwd'), 'passwd')
    assert.equal(safeFileName('C:\\x\\report.pdf'), 'report.pdf')
    assert.equal(safeFileName('.bashrc'), 'bashrc')
    assert.equal(safeFileName('a\u0000b\u001bc.txt'), 'abc.txt')
    assert.equal(safeFileName('..'), 'download')
  })
})
