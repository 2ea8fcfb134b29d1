import { registerCaseModuleInChromium } from '../../../../tests/harness/browser.ts'

// The IndexedDB backend in headless Chromium: the StoreBackend contract (the same cases
// `backend-contract-cases.test.ts` runs on memory and SQLite), the sealed store over IndexedDB,
// and a raw scan of the database for known plaintexts.
registerCaseModuleInChromium({
  title: 'client store over IndexedDB',
  entry: new URL('./indexeddb.entry.ts', import.meta.url),
  exportName: 'indexedDbCaseGroups',
})
