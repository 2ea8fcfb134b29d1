import { registerCaseModuleInChromium } from '../../../../tests/harness/browser.ts'

// The file format's vectors (positive, negative, crafted, descriptors) and the verification
// vectors inside headless Chromium, on its own WebCrypto: the code path of the web client.
registerCaseModuleInChromium({
  title: 'files and verification over WebCrypto',
  entry: new URL('./browser.entry.ts', import.meta.url),
  exportName: 'filesBrowserCaseGroups',
  caseTimeoutMs: 120_000,
})
