import type { CryptoBackend } from '@tacit/crypto/backend'
import type { CaseGroup } from '../../../../tests/harness/cases.ts'
import { TACIT_SUITES, type TacitSuiteName } from '../../src/cipher-suite.ts'
import { adversarialCases } from './adversarial.cases.ts'
import { credentialCases } from './credential.cases.ts'
import { groupCases } from './group.cases.ts'
import { privateMessageCases } from './private-message.cases.ts'

/** Runtime-neutral protocol cases for one backend, in both Tacit suites (Node and Chromium). */
export function protocolCaseGroups(
  backend: CryptoBackend,
  suites: readonly TacitSuiteName[] = TACIT_SUITES,
): CaseGroup[] {
  return suites.flatMap((suite) => [
    credentialCases(backend, suite),
    groupCases(backend, suite),
    adversarialCases(backend, suite),
    privateMessageCases(backend, suite),
  ])
}
