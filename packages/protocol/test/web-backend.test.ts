import { webCryptoBackend } from '@tacit/crypto/web/backend'
import { registerCaseGroups } from '../../../tests/harness/node.ts'
import { protocolCaseGroups } from './cases/index.ts'

// The same protocol cases over Node's WebCrypto: the browser code path, without a browser.
registerCaseGroups(protocolCaseGroups(webCryptoBackend))
