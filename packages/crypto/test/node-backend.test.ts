import { registerCaseGroups } from '../../../tests/harness/node.ts'
import { nodeBackend } from '../src/node/backend.ts'
import { cryptoCaseGroups } from './cases/index.ts'

registerCaseGroups(cryptoCaseGroups(nodeBackend))
