// RFC 9420 conformance, the ratchet tree: validation, operations and TreeKEM.
import { registerVectorFile } from './harness.ts'
import { runTreeOperations } from './runners/tree-operations.ts'
import { runTreeValidation } from './runners/tree-validation.ts'

registerVectorFile('tree-validation', { crypto: true }, runTreeValidation)
registerVectorFile('tree-operations', { crypto: true }, runTreeOperations)

import { runTreeKem } from './runners/treekem.ts'

registerVectorFile('treekem', { crypto: true }, runTreeKem)
