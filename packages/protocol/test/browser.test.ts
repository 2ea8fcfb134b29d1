import { registerCaseModuleInChromium } from '../../../tests/harness/browser.ts'

// The protocol's runtime-neutral cases — both suites, credentials, commits, Welcomes, messages,
// adversarial inputs, snapshots — inside headless Chromium on its own WebCrypto.
registerCaseModuleInChromium({
  title: 'protocol over WebCrypto',
  entry: new URL('./cases/browser.entry.ts', import.meta.url),
  exportName: 'protocolBrowserCaseGroups',
  caseTimeoutMs: 60_000,
})
