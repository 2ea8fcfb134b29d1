import { webCryptoBackend } from '../../../packages/crypto/src/web/backend.ts'
import { cryptoCaseGroups } from '../../../packages/crypto/test/cases/index.ts'
import type { CaseGroup } from '../../harness/cases.ts'
import { webBackendCaseGroups } from './web-backend.cases.ts'

/** The browser entry of the crypto package: the shared cases and the WebCrypto-only ones. */
export function webCryptoCaseGroups(): CaseGroup[] {
  return [...cryptoCaseGroups(webCryptoBackend), ...webBackendCaseGroups(webCryptoBackend)]
}
