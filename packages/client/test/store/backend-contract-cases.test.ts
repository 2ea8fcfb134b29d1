import { registerCaseGroups } from '../../../../tests/harness/node.ts'
import { createMemoryStoreBackend } from '../../src/store/memory-backend.ts'
import { openSqliteStoreBackend } from '../../src/store/sqlite-backend.ts'
import { makeTempDir } from './_helpers.ts'
import { backendContractCases } from './backend-contract-cases.ts'

// The runtime-neutral port of the backend contract, run here on the Node media so that the port
// itself is shown to hold for backends already known to meet the contract; `indexeddb-browser.test.ts`
// runs the same cases on IndexedDB in Chromium.
registerCaseGroups([
  backendContractCases('memory', async () => ({
    backend: createMemoryStoreBackend(),
    cleanup: async () => {},
  })),
  backendContractCases('sqlite', async () => {
    const tmp = makeTempDir()
    return {
      backend: openSqliteStoreBackend(tmp.path, { create: true }),
      cleanup: async () => tmp.cleanup(),
    }
  }),
])
