/**
 * A camera for Chromium's fake capture device: a YUV4MPEG2 (.y4m) video whose frames show a QR
 * code, rendered here from the `qrcode` package's module matrix (no binary fixture). Chromium
 * started with `--use-fake-device-for-media-stream --use-fake-ui-for-media-stream
 * --use-file-for-fake-video-capture=<file>` plays the file, looped, to `getUserMedia`; it opens the
 * file each time a capture starts, so a test can write another code to the same path between two
 * scans.
 *
 * Format: the header line `YUV4MPEG2 W<w> H<h> F<fps>:1 Ip A1:1 C420jpeg`, then per frame the line
 * `FRAME` and the planes of 8-bit I420 (Y at full size, then U and V at half width and height).
 */
import { writeFileSync } from 'node:fs'
import QRCode from 'qrcode'

export const CAMERA_WIDTH = 640
export const CAMERA_HEIGHT = 480
const FRAMES_PER_SECOND = 10
/** A short loop: Chromium repeats it for as long as the camera is open. */
const FRAME_COUNT = 4
/** Modules of light margin around the code (ISO/IEC 18004 §9.1 asks for four). */
const QUIET_ZONE = 4
/** Luma of paper and ink, in the video range of BT.601 (16–235), as a camera delivers. */
const LUMA_LIGHT = 220
const LUMA_DARK = 30
/** A grey desk around the code, so the code is not the whole frame. */
const LUMA_BACKGROUND = 120
const CHROMA_NEUTRAL = 128

/** The modules of `payload` as a byte-mode QR code, error correction M (as the web client draws it). */
export function qrModules(payload: Uint8Array): { size: number; dark(row: number, col: number): boolean } {
  const code = QRCode.create([{ data: payload, mode: 'byte' }], { errorCorrectionLevel: 'M' })
  const size = code.modules.size
  return { size, dark: (row, col) => Boolean(code.modules.get(row, col)) }
}

/**
 * One frame's luma plane: the code (with its quiet zone) as large as fits in 80 % of the height,
 * a little off centre, on a grey background.
 */
function lumaPlane(payload: Uint8Array): Uint8Array {
  const { size, dark } = qrModules(payload)
  const dimension = size + 2 * QUIET_ZONE
  const scale = Math.max(1, Math.floor((CAMERA_HEIGHT * 0.8) / dimension))
  const side = dimension * scale
  const left = Math.floor((CAMERA_WIDTH - side) / 2) + 17
  const top = Math.floor((CAMERA_HEIGHT - side) / 2) - 9
  const y = new Uint8Array(CAMERA_WIDTH * CAMERA_HEIGHT).fill(LUMA_BACKGROUND)
  for (let py = 0; py < side; py++) {
    const row = Math.floor(py / scale) - QUIET_ZONE
    for (let px = 0; px < side; px++) {
      const col = Math.floor(px / scale) - QUIET_ZONE
      const inCode = row >= 0 && col >= 0 && row < size && col < size
      y[(top + py) * CAMERA_WIDTH + left + px] = inCode && dark(row, col) ? LUMA_DARK : LUMA_LIGHT
    }
  }
  return y
}

/** The .y4m bytes of a short video that shows the QR code of `payload` in every frame. */
export function qrCodeVideo(payload: Uint8Array): Buffer {
  const header = Buffer.from(
    `YUV4MPEG2 W${CAMERA_WIDTH} H${CAMERA_HEIGHT} F${FRAMES_PER_SECOND}:1 Ip A1:1 C420jpeg\n`,
    'latin1',
  )
  const luma = lumaPlane(payload)
  const chroma = Buffer.alloc((CAMERA_WIDTH / 2) * (CAMERA_HEIGHT / 2) * 2, CHROMA_NEUTRAL)
  const frame = Buffer.concat([Buffer.from('FRAME\n', 'latin1'), luma, chroma])
  return Buffer.concat([header, ...Array.from({ length: FRAME_COUNT }, () => frame)])
}

/** Writes the video of `payload`'s QR code to `path` (the file Chromium's fake camera plays). */
export function writeQrCodeVideo(path: string, payload: Uint8Array): void {
  writeFileSync(path, qrCodeVideo(payload))
}

/** Chromium's flags for a fake camera that plays `videoPath` and a permission prompt that says yes. */
export function fakeCameraArgs(videoPath: string): string[] {
  return [
    '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream',
    `--use-file-for-fake-video-capture=${videoPath}`,
  ]
}
