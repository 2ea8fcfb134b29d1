// RFC 9420 conformance, whole scenarios: a passive client joins by Welcome and follows commits.
import { registerVectorFile } from './harness.ts'
import { runPassiveClient } from './runners/passive-client.ts'

registerVectorFile('passive-client-welcome', { crypto: true }, runPassiveClient)
registerVectorFile('passive-client-handling-commit', { crypto: true }, runPassiveClient)
registerVectorFile('passive-client-random', { crypto: true }, runPassiveClient)
