import { registerCaseGroups } from '../../../tests/harness/node.ts'
import { sframeVectorCaseGroups } from './cases/sframe-vectors.cases.ts'

// RFC 9605 vectors over Node's WebCrypto; `browser.test.ts` runs the same cases in Chromium.
registerCaseGroups(sframeVectorCaseGroups())
