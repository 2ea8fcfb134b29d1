import type { CaseGroup } from '../../../../tests/harness/cases.ts'
import type { CryptoBackend } from '../../src/backend.ts'
import { aeadCases } from './aead.cases.ts'
import { argon2Cases } from './argon2.cases.ts'
import { basicsCases } from './basics.cases.ts'
import { dhCases } from './dh.cases.ts'
import { hpkeCases } from './hpke.cases.ts'
import { macKdfCases } from './mac-kdf.cases.ts'
import { mlsCryptoBasicsCases } from './mls-crypto-basics.cases.ts'
import { mlsSuiteCases } from './mls-suite.cases.ts'
import { pqCases } from './pq.cases.ts'
import { signatureCases } from './signature.cases.ts'

/**
 * Every runtime-neutral case group of the crypto package, for one backend. The Node test
 * (`node-backend.test.ts`) and the WebCrypto tests (Node and headless Chromium) register this list.
 */
export function cryptoCaseGroups(backend: CryptoBackend): CaseGroup[] {
  return [
    basicsCases(backend),
    macKdfCases(backend),
    aeadCases(backend),
    signatureCases(backend),
    dhCases(backend),
    pqCases(backend),
    hpkeCases(backend),
    mlsCryptoBasicsCases(backend),
    mlsSuiteCases(backend),
    // Argon2id is backend-independent (@noble/hashes); the light scope runs everywhere, the
    // heavy memory tiers once, in argon2.test.ts.
    argon2Cases('light'),
  ]
}
