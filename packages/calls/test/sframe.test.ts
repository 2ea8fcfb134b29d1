import { registerCaseGroups } from '../../../tests/harness/node.ts'
import { codecHeaderCaseGroups } from './cases/codec-header.cases.ts'
import { sframeContextCaseGroups } from './cases/sframe-context.cases.ts'

registerCaseGroups([...sframeContextCaseGroups(), ...codecHeaderCaseGroups()])
