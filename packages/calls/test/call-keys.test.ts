import { registerCaseGroups } from '../../../tests/harness/node.ts'
import { callKeysCaseGroups } from './cases/call-keys.cases.ts'

registerCaseGroups(callKeysCaseGroups())
