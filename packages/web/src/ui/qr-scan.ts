/**
 * Reading the other person's verification QR code from the camera: frames of a `<video>` playing
 * the camera stream are drawn to a canvas and handed to `jsqr`, which returns the code's bytes
 * exactly as encoded (byte mode, ISO/IEC 18004 §7.4.5). Only what looks like a Tacit verification
 * code (docs/protocol/verification.md §3: "TACV" and at most `MAX_SCANNED_CODE_BYTES`) is passed
 * on; the check itself — both fingerprints compared in constant time — is the SDK's
 * `verifyContact`.
 *
 * Why a library and not `BarcodeDetector`: Chromium on Linux and Windows and Firefox have no
 * `BarcodeDetector`, and where it exists it returns `rawValue` as text, so the binary payload
 * would arrive altered. `jsqr` is loaded on first use (its own chunk), not with the first page.
 */
import { MAX_SCANNED_CODE_BYTES, VERIFICATION_CODE_MAGIC } from '@tacit/protocol/verification/qr-payload'

/** Longest side of the image handed to the decoder: enough for a code that fills a third of it. */
export const MAX_SCAN_IMAGE_SIDE = 640

export type QrReader = (image: ImageData) => Uint8Array | null

/** The decoder, loaded on first use. */
export async function loadQrReader(): Promise<QrReader> {
  // jsqr is CommonJS with `exports.default = jsQR` and `jsQR.default = jsQR`: `.default.default` is
  // the function whichever way the bundler (or Node's typing) wraps the module.
  const jsQR = (await import('jsqr')).default.default
  return (image) => {
    // Codes are shown dark on light (the QR code component draws them so): no inverted pass.
    const code = jsQR(image.data, image.width, image.height, { inversionAttempts: 'dontInvert' })
    return code === null ? null : Uint8Array.from(code.binaryData)
  }
}

/** Whether scanned bytes are worth checking: a Tacit verification code, not some other QR code. */
export function isVerificationCode(bytes: Uint8Array): boolean {
  if (bytes.length < VERIFICATION_CODE_MAGIC.length || bytes.length > MAX_SCANNED_CODE_BYTES) return false
  // The magic is public: an ordinary comparison is fine here; the fingerprints are compared by the SDK.
  return VERIFICATION_CODE_MAGIC.every((b, i) => bytes[i] === b)
}

/**
 * Grabs the video's current frame, scaled down to at most `MAX_SCAN_IMAGE_SIDE`, as pixels. Null
 * while the video has no frame yet.
 */
export function frameOf(video: HTMLVideoElement, canvas: HTMLCanvasElement): ImageData | null {
  const { videoWidth, videoHeight } = video
  if (videoWidth === 0 || videoHeight === 0) return null
  const scale = Math.min(1, MAX_SCAN_IMAGE_SIDE / Math.max(videoWidth, videoHeight))
  const width = Math.max(1, Math.round(videoWidth * scale))
  const height = Math.max(1, Math.round(videoHeight * scale))
  if (canvas.width !== width) canvas.width = width
  if (canvas.height !== height) canvas.height = height
  const context = canvas.getContext('2d', { willReadFrequently: true })
  if (context === null) return null
  context.drawImage(video, 0, 0, width, height)
  return context.getImageData(0, 0, width, height)
}
