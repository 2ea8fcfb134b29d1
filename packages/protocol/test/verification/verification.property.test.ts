/**
 * Properties of safety numbers (docs/protocol/verification.md §2): the same for both sides, and
 * different after any single bit flip of either identity key.
 */
import { test } from 'node:test'
import { nodeBackend } from '@tacit/crypto/node/backend'
import fc from 'fast-check'
import {
  combineFingerprints,
  computeFingerprint,
  computeSafetyNumber,
} from '../../src/verification/safety-number.ts'

const handle = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{1,31}$/)
const identityKey = fc.uint8Array({ minLength: 32, maxLength: 32 })
// Each run costs a few fingerprints of 5200 SHA-512 each: keep the count small and fixed.
const RUNS = 12

test('safety numbers are symmetric and change with any bit of either key', { timeout: 300_000 }, async () => {
  let runs = 0
  await fc.assert(
    fc.asyncProperty(
      handle,
      identityKey,
      handle,
      identityKey,
      fc.boolean(),
      fc.integer({ min: 0, max: 255 }),
      async (ha, ka, hb, kb, flipA, bit) => {
        runs++
        const a = { handle: ha, identityKey: ka }
        const b = { handle: hb, identityKey: kb }
        const fa = await computeFingerprint(nodeBackend, a)
        const fb = await computeFingerprint(nodeBackend, b)
        const ab = combineFingerprints(fa, fb)
        if (ab.digits !== combineFingerprints(fb, fa).digits) throw new Error('not symmetric')
        if (ab.digits !== (await computeSafetyNumber(nodeBackend, b, a)).digits)
          throw new Error('wrapper differs')
        if (!/^\d{60}$/.test(ab.digits)) throw new Error('not 60 digits')
        const flipped = (flipA ? ka : kb).slice()
        flipped[bit >> 3] = flipped[bit >> 3]! ^ (1 << (bit & 7))
        const fFlipped = await computeFingerprint(nodeBackend, {
          handle: flipA ? ha : hb,
          identityKey: flipped,
        })
        const changed = flipA ? combineFingerprints(fFlipped, fb) : combineFingerprints(fa, fFlipped)
        if (changed.digits === ab.digits)
          throw new Error(`bit ${bit} of key ${flipA ? 'a' : 'b'} did not change it`)
      },
    ),
    { numRuns: RUNS },
  )
  if (runs !== RUNS) throw new Error(`expected ${RUNS} runs, got ${runs}`)
})
