import { nodeBackend } from '@tacit/crypto/node/backend'
import { registerCaseGroups } from '../../../tests/harness/node.ts'
import { protocolCaseGroups } from './cases/index.ts'

registerCaseGroups(protocolCaseGroups(nodeBackend))
