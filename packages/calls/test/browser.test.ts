import { registerCaseModuleInChromium } from '../../../tests/harness/browser.ts'

// The RFC 9605 vectors and the SFrame/call-key cases inside headless Chromium, on its WebCrypto.
registerCaseModuleInChromium({
  title: 'calls over WebCrypto',
  entry: new URL('./cases/browser.entry.ts', import.meta.url),
  exportName: 'callsBrowserCaseGroups',
})
