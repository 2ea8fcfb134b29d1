/**
 * Showing a verification or device-link code as a QR code in the terminal. `qrcode` encodes it
 * (version selection, Reed-Solomon, masking — ISO/IEC 18004); the drawing is ours: two modules
 * per character cell (half blocks), black on an explicit white background so the symbol scans
 * whatever the terminal's own colours are, inside the four-module light quiet zone the standard
 * asks for (ISO/IEC 18004:2015 §6.3.8). `qrcode`'s own terminal renderer leaves one module, and
 * on a dark terminal the finder patterns then touch dark background.
 *
 * The payload goes in one byte-mode segment as it is (a verification code is binary,
 * docs/protocol/verification.md §3), at error-correction level M. Callers print the payload as
 * text too, which can be compared or pasted (`tacit verify --scan`).
 */
import QRCode from 'qrcode'

/** Error correction of the symbol: M restores ~15 % of damaged modules (a smudged screen). */
export const QR_ERROR_CORRECTION = 'M'

/** Light modules around the symbol on every side (ISO/IEC 18004:2015 §6.3.8). */
export const QR_QUIET_ZONE = 4

/** White background and black foreground for a whole line; reset after it. */
const LINE_START = '\x1b[47m\x1b[30m'
const LINE_END = '\x1b[0m'
/** A cell's upper and lower module, dark (1) or light (0). */
const HALF_BLOCKS: Record<string, string> = { '00': ' ', '10': '\u2580', '01': '\u2584', '11': '\u2588' }

function symbolOf(payload: Uint8Array) {
  return QRCode.create([{ data: payload, mode: 'byte' }], { errorCorrectionLevel: QR_ERROR_CORRECTION })
}

/** The QR symbol of `payload` as terminal text (ANSI colours, half-block characters). */
export function renderQr(payload: Uint8Array): string {
  const { modules } = symbolOf(payload)
  const size = modules.size
  const dark = (x: number, y: number) =>
    x >= 0 && y >= 0 && x < size && y < size && modules.get(y, x) === 1 ? '1' : '0'
  // An odd number of module rows leaves the last cell row's lower half light: more quiet zone.
  const lines: string[] = []
  for (let y = -QR_QUIET_ZONE; y < size + QR_QUIET_ZONE; y += 2) {
    let line = ''
    for (let x = -QR_QUIET_ZONE; x < size + QR_QUIET_ZONE; x++)
      line += HALF_BLOCKS[dark(x, y) + dark(x, y + 1)]
    lines.push(LINE_START + line + LINE_END)
  }
  return `${lines.join('\n')}\n`
}

/** Character cells the drawn symbol takes across (its modules and the quiet zone each side). */
export function qrColumns(payload: Uint8Array): number {
  return symbolOf(payload).modules.size + 2 * QR_QUIET_ZONE
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
