import { webCryptoBackend } from '@tacit/crypto/web/backend'
import type { CaseGroup } from '../../../../tests/harness/cases.ts'
import { verificationCases } from '../verification/verification.cases.ts'
import { fileCases } from './files.cases.ts'

/** The file-format and verification cases over the browser's own WebCrypto. */
export function filesBrowserCaseGroups(): CaseGroup[] {
  return [fileCases(webCryptoBackend), verificationCases(webCryptoBackend)]
}
