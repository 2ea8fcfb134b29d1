// RFC 9420 conformance, the building blocks: tree math, length headers, labeled crypto, secret
// tree, key schedule, PSKs and transcript hashes. See harness.ts.
import { registerVectorFile } from './harness.ts'
import { runCryptoBasics } from './runners/crypto-basics.ts'
import { runDeserialization } from './runners/deserialization.ts'
import { runKeySchedule } from './runners/key-schedule.ts'
import { type PskSecretVector, runPskSecret } from './runners/psk-secret.ts'
import { runSecretTree } from './runners/secret-tree.ts'
import { runTranscriptHashes } from './runners/transcript-hashes.ts'
import { runTreeMath } from './runners/tree-math.ts'

registerVectorFile('tree-math', { crypto: false }, runTreeMath)
registerVectorFile('deserialization', { crypto: false }, runDeserialization)
registerVectorFile('crypto-basics', { crypto: true }, runCryptoBasics)
registerVectorFile('secret-tree', { crypto: true }, runSecretTree)
registerVectorFile('key-schedule', { crypto: true }, runKeySchedule)
// With no PSKs, psk_secret is all zeros (§8.4) and involves no crypto.
registerVectorFile('psk_secret', { crypto: (v: PskSecretVector) => v.psks.length > 0 }, runPskSecret)
registerVectorFile('transcript-hashes', { crypto: true }, runTranscriptHashes)

import { runMessageProtection } from './runners/message-protection.ts'

registerVectorFile('message-protection', { crypto: true }, runMessageProtection)
