/**
 * Showing a verification or device-link code as a QR code in the terminal. Rendering a QR symbol
 * needs an encoder (Reed-Solomon, masking, version selection), which belongs in a dependency
 * (`qrcode`, whose `toString(data, { type: 'terminal' })` draws with block characters), not in
 * this package. Until that dependency is added, `renderQr` returns undefined and callers print the
 * payload as text, which can be compared or pasted (`tacit verify --scan`).
 */
export interface QrRenderer {
  /** The QR symbol as terminal text, or undefined when this build cannot draw one. */
  render(payload: Uint8Array): string | undefined
}

export const textOnlyQrRenderer: QrRenderer = {
  render() {
    return undefined
  },
}

export function renderQr(payload: Uint8Array, renderer: QrRenderer = textOnlyQrRenderer): string | undefined {
  return renderer.render(payload)
}
