import { registerCaseModuleInChromium } from '../../../tests/harness/browser.ts'

// The crypto package's runtime-neutral cases over Chromium's own WebCrypto, one node:test test per
// case; `web-backend.test.ts` runs the same list over Node's WebCrypto.
registerCaseModuleInChromium({
  title: 'crypto over WebCrypto',
  entry: new URL('../../../tests/browser/crypto/webcrypto.entry.ts', import.meta.url),
  exportName: 'webCryptoCaseGroups',
})
