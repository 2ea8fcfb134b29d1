import { nodeBackend } from '@tacit/crypto/node/backend'
import { webCryptoBackend } from '@tacit/crypto/web/backend'
import { registerCaseGroups } from '../../../../tests/harness/node.ts'
import { fileCases } from './files.cases.ts'

// The same runtime-neutral cases over node:crypto and over WebCrypto (the browser code path).
registerCaseGroups([fileCases(nodeBackend), fileCases(webCryptoBackend)])
