import { createMemoryStoreBackend } from '../../src/store/memory-backend.ts'
import { openSqliteStoreBackend } from '../../src/store/sqlite-backend.ts'
import { makeTempDir } from './_helpers.ts'
import { registerBackendContract } from './backend-contract.ts'

registerBackendContract('memory', async () => ({
  backend: createMemoryStoreBackend(),
  cleanup: async () => {},
}))

registerBackendContract('sqlite', async () => {
  const tmp = makeTempDir()
  return { backend: openSqliteStoreBackend(tmp.path, { create: true }), cleanup: async () => tmp.cleanup() }
})
