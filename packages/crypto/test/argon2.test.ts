import { registerCaseGroups } from '../../../tests/harness/node.ts'
import { argon2Cases } from './cases/argon2.cases.ts'

// Argon2 is backend-independent (noble), so the full set runs once here, on Node; the `light`
// scope is the one meant for the per-backend and browser case lists.
registerCaseGroups([argon2Cases('full')])
