import { nodeBackend } from '@tacit/crypto/node/backend'
import { webCryptoBackend } from '@tacit/crypto/web/backend'
import { registerCaseGroups } from '../../../../tests/harness/node.ts'
import { verificationCases } from './verification.cases.ts'

// The same runtime-neutral cases over node:crypto and over WebCrypto (the browser code path).
registerCaseGroups([verificationCases(nodeBackend), verificationCases(webCryptoBackend)])
