/**
 * The camera scanner's decoding step (`packages/web/src/ui/qr-scan.ts`) on images drawn here from
 * the `qrcode` package's module matrix: the decoder returns a byte-mode code's bytes exactly (all
 * 256 byte values, which a text decoding would alter), and only a Tacit verification code is
 * passed on. The whole path — camera, frames, decoder, check — runs in Chromium in
 * `verification-camera.test.ts`.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { encodeVerificationCode } from '@tacit/protocol/verification/qr-payload'
import { isVerificationCode, loadQrReader } from '../../packages/web/src/ui/qr-scan.ts'
import { qrModules } from './support/fake-camera.ts'

const MODULE_PIXELS = 6
const QUIET_ZONE = 4

/** RGBA pixels of `payload`'s QR code, black on white, as a canvas would hand them over. */
function qrImage(payload: Uint8Array): ImageData {
  const { size, dark } = qrModules(payload)
  const side = (size + 2 * QUIET_ZONE) * MODULE_PIXELS
  const data = new Uint8ClampedArray(side * side * 4).fill(255)
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const row = Math.floor(y / MODULE_PIXELS) - QUIET_ZONE
      const col = Math.floor(x / MODULE_PIXELS) - QUIET_ZONE
      if (row >= 0 && col >= 0 && row < size && col < size && dark(row, col)) {
        data.fill(0, (y * side + x) * 4, (y * side + x) * 4 + 3)
      }
    }
  }
  return { data, width: side, height: side, colorSpace: 'srgb' } as ImageData
}

describe('scanning: decoding a frame', () => {
  it('returns the exact bytes of a verification code and of every byte value', async () => {
    const read = await loadQrReader()
    const code = encodeVerificationCode({
      presenterFingerprint: randomBytes(32),
      scannerFingerprint: randomBytes(32),
    })
    assert.deepEqual(read(qrImage(code)), code)
    const everyByte = Uint8Array.from({ length: 256 }, (_, i) => i)
    assert.deepEqual(read(qrImage(everyByte)), everyByte)
  })

  it('finds nothing in an image without a code', async () => {
    const read = await loadQrReader()
    const blank = new Uint8ClampedArray(200 * 200 * 4).fill(255)
    assert.equal(read({ data: blank, width: 200, height: 200, colorSpace: 'srgb' } as ImageData), null)
  })
})

describe('scanning: which codes are checked', () => {
  it('passes on a Tacit code and any TACV-prefixed bytes up to the cap (the SDK judges them)', () => {
    const code = encodeVerificationCode({
      presenterFingerprint: randomBytes(32),
      scannerFingerprint: randomBytes(32),
    })
    assert.equal(isVerificationCode(code), true)
    assert.equal(isVerificationCode(new TextEncoder().encode('TACV')), true)
    const atCap = new Uint8Array(1024)
    atCap.set(code.subarray(0, 4))
    assert.equal(isVerificationCode(atCap), true)
  })

  it('ignores other QR codes, short ones and ones above MAX_SCANNED_CODE_BYTES', () => {
    assert.equal(isVerificationCode(new TextEncoder().encode('https://example.org/')), false)
    assert.equal(isVerificationCode(new TextEncoder().encode('TAC')), false)
    assert.equal(isVerificationCode(new Uint8Array(0)), false)
    const tooLong = new Uint8Array(1025)
    tooLong.set(new TextEncoder().encode('TACV'))
    assert.equal(isVerificationCode(tooLong), false)
  })
})
