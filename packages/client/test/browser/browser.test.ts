import { registerCaseModuleInChromium } from '../../../../tests/harness/browser.ts'

// The SDK's browser adapters (src/browser/) in headless Chromium: Blob files, the one-tab lock,
// the IndexedDB store opener.
registerCaseModuleInChromium({
  title: 'client browser adapters',
  entry: new URL('./browser-adapters.entry.ts', import.meta.url),
  exportName: 'browserAdapterCaseGroups',
})
