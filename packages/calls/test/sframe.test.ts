import { registerCaseGroups } from '../../../tests/harness/node.ts'
import { aesGcmCaseGroups } from './cases/aes-gcm.cases.ts'
import { codecHeaderCaseGroups } from './cases/codec-header.cases.ts'
import { sframeContextCaseGroups } from './cases/sframe-context.cases.ts'

registerCaseGroups([...aesGcmCaseGroups(), ...sframeContextCaseGroups(), ...codecHeaderCaseGroups()])
