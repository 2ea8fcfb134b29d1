import { type CaseGroup, check, checkBytes } from '../../../../tests/harness/cases.ts'
import type { CryptoBackend } from '../../src/backend.ts'
import { hexToBytes, utf8 } from '../../src/bytes.ts'

/** Smoke checks every backend must pass before the vector files are worth running. */
export function basicsCases(backend: CryptoBackend): CaseGroup {
  return {
    name: `crypto basics (${backend.name})`,
    cases: [
      {
        name: 'SHA-256("abc") matches FIPS 180-4 example',
        run: async () => {
          const d = await backend.hash.digest('SHA-256', utf8.encode('abc'))
          checkBytes(
            d,
            hexToBytes('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'),
            'digest',
          )
        },
      },
      {
        name: 'randomBytes returns the requested length and is not constant',
        run: () => {
          const a = backend.randomBytes(32)
          const b = backend.randomBytes(32)
          check(a.length === 32 && b.length === 32, 'length')
          check(
            a.some((x, i) => x !== b[i]),
            'two 32-byte draws were equal',
          )
        },
      },
    ],
  }
}
