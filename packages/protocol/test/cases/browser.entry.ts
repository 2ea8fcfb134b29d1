import { webCryptoBackend } from '@tacit/crypto/web/backend'
import type { CaseGroup } from '../../../../tests/harness/cases.ts'
import { protocolCaseGroups } from './index.ts'

/** The protocol cases over the browser's WebCrypto, in both Tacit suites. */
export function protocolBrowserCaseGroups(): CaseGroup[] {
  return protocolCaseGroups(webCryptoBackend)
}
