import type { CaseGroup } from '../../../../tests/harness/cases.ts'
import { callKeysCaseGroups } from './call-keys.cases.ts'
import { codecHeaderCaseGroups } from './codec-header.cases.ts'
import { sframeContextCaseGroups } from './sframe-context.cases.ts'
import { sframeVectorCaseGroups } from './sframe-vectors.cases.ts'

/** Every runtime-neutral case of the calls package, for the Chromium harness. */
export function callsBrowserCaseGroups(): CaseGroup[] {
  return [
    ...sframeVectorCaseGroups(),
    ...sframeContextCaseGroups(),
    ...callKeysCaseGroups(),
    ...codecHeaderCaseGroups(),
  ]
}
