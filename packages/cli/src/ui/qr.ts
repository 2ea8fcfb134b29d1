/**
 * Showing a verification or device-link code as a QR code in the terminal, drawn by `qrcode`
 * (the encoder: version selection, Reed-Solomon, masking — ISO/IEC 18004) with its `terminal`
 * renderer in `small` mode: two modules per character cell (half blocks), black on an explicit
 * white background, so the symbol scans whatever the terminal's own colours are.
 *
 * The payload goes in one byte-mode segment as it is (a verification code is binary,
 * docs/protocol/verification.md §3), at error-correction level M. Callers print the payload as
 * text too, which can be compared or pasted (`tacit verify --scan`).
 */
import QRCode from 'qrcode'

/** Error correction of the symbol: M restores ~15 % of damaged modules (a smudged screen). */
export const QR_ERROR_CORRECTION = 'M'

/** The QR symbol of `payload` as terminal text (ANSI colours, half-block characters). */
export function renderQr(payload: Uint8Array): string {
  let drawn: string | undefined
  let failure: unknown
  // With a callback, qrcode renders synchronously (lib/server.js `render`).
  QRCode.toString(
    [{ data: payload, mode: 'byte' }],
    { type: 'terminal', small: true, errorCorrectionLevel: QR_ERROR_CORRECTION },
    (error, text) => {
      failure = error
      drawn = text
    },
  )
  if (failure || drawn === undefined) throw failure ?? new Error('the QR renderer returned nothing')
  return drawn
}

/** Character cells the drawn symbol takes across (its modules and a one-module border each side). */
export function qrColumns(payload: Uint8Array): number {
  return (
    QRCode.create([{ data: payload, mode: 'byte' }], { errorCorrectionLevel: QR_ERROR_CORRECTION }).modules
      .size + 2
  )
}

/**
 * `renderQr` when the symbol fits in `columns` (a wrapped symbol cannot be scanned); undefined
 * when it does not, or when the width is unknown (not a terminal). A device-link code carries
 * two public keys (~1,700 characters): its symbol is ~150 columns wide.
 */
export function renderQrIfFits(payload: Uint8Array, columns: number | undefined): string | undefined {
  if (columns === undefined) return undefined
  try {
    return qrColumns(payload) <= columns ? renderQr(payload) : undefined
  } catch {
    return undefined // Above a QR symbol's capacity: the text is shown anyway.
  }
}
