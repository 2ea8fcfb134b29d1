/**
 * A QR code drawn as one SVG path from the `qrcode` package's module matrix. Drawn as elements
 * (no data: URL, no innerHTML), so the page's Content-Security-Policy needs nothing extra.
 */

import { useMemo } from 'preact/hooks'
import QRCode from 'qrcode'

/** Modules of light margin around the code (ISO/IEC 18004 §9.1 asks for four). */
const QUIET_ZONE = 4

export function QrCode(props: { payload: Uint8Array; label: string; size?: number }) {
  const { path, dimension } = useMemo(() => {
    // Byte mode: the payload is binary (docs/protocol/verification.md §3).
    const code = QRCode.create([{ data: props.payload, mode: 'byte' }], { errorCorrectionLevel: 'M' })
    const n = code.modules.size
    const parts: string[] = []
    for (let row = 0; row < n; row++) {
      for (let col = 0; col < n; col++) {
        if (code.modules.get(row, col)) parts.push(`M${col + QUIET_ZONE} ${row + QUIET_ZONE}h1v1h-1z`)
      }
    }
    return { path: parts.join(''), dimension: n + 2 * QUIET_ZONE }
  }, [props.payload])
  const px = props.size ?? 240
  return (
    <svg
      class="tc-qr"
      role="img"
      aria-label={props.label}
      width={px}
      height={px}
      viewBox={`0 0 ${dimension} ${dimension}`}
      shape-rendering="crispEdges"
    >
      <rect width={dimension} height={dimension} fill="#fff" />
      <path d={path} fill="#000" />
    </svg>
  )
}
