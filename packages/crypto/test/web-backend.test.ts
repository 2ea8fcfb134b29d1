import { webBackendCaseGroups } from '../../../tests/browser/crypto/web-backend.cases.ts'
import { registerCaseGroups } from '../../../tests/harness/node.ts'
import { webCryptoBackend } from '../src/web/backend.ts'
import { cryptoCaseGroups } from './cases/index.ts'

// The same runtime-neutral cases as the Node backend, over Node 20's WebCrypto (globalThis.crypto);
// `browser.test.ts` runs them again inside headless Chromium.
registerCaseGroups([...cryptoCaseGroups(webCryptoBackend), ...webBackendCaseGroups(webCryptoBackend)])
