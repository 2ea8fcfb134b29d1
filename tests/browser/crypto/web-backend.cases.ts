import { MAX_RANDOM_BYTES } from '../../../packages/crypto/src/backend.ts'
import { bytesToHex, hexToBytes, utf8 } from '../../../packages/crypto/src/bytes.ts'
import { CryptoError, type CryptoErrorCode } from '../../../packages/crypto/src/errors.ts'
import {
  createWebCryptoBackend,
  MAX_GET_RANDOM_VALUES_BYTES,
  type WebCryptoBackend,
} from '../../../packages/crypto/src/web/backend.ts'
import { decodeDerSignature, encodeDerSignature } from '../../../packages/crypto/src/web/ecdsa-der.ts'
import { KeyCache } from '../../../packages/crypto/src/web/key-cache.ts'
import { type CaseGroup, check, checkBytes, checkEqual, checkRejects } from '../../harness/cases.ts'

/**
 * Cases for what only the WebCrypto backend has: the DER codec at the ECDSA boundary, the key
 * caches, the refusal of algorithms WebCrypto lacks, and getRandomValues slicing. Runtime-neutral:
 * they run under node:test (Node's WebCrypto) and in Chromium. The shared interface cases
 * (`packages/crypto/test/cases/`) run next to them.
 */

function rejectsWith(code: CryptoErrorCode): (error: unknown) => boolean {
  return (error) => CryptoError.is(error, code)
}

/** Wraps `subtle` so that every call is counted by method name. */
function countCalls(subtle: SubtleCrypto): { subtle: SubtleCrypto; calls: Map<string, number> } {
  const calls = new Map<string, number>()
  const proxy = new Proxy(subtle, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property)
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        calls.set(String(property), (calls.get(String(property)) ?? 0) + 1)
        return (value as (...a: unknown[]) => unknown).apply(target, args)
      }
    },
  })
  return { subtle: proxy, calls }
}

const MALFORMED_DER: ReadonlyArray<readonly [string, string]> = [
  ['empty', ''],
  ['not a SEQUENCE', '3106020101020101'],
  ['sequence length too long', '3007020101020101'],
  ['sequence length too short', '3005020101020101'],
  ['trailing byte after the sequence', '300602010102010100'],
  ['trailing integer inside the sequence', '3009020101020101020101'],
  ['long-form length for a short body', '308106020101020101'],
  ['two-byte long-form length', '32820006020101020101'],
  ['indefinite length', '3080020101020101'],
  ['r is not an INTEGER', '3006030101020101'],
  ['empty r', '30050200020101'],
  ['negative r', '3006020181020101'],
  ['r with a redundant leading zero', '300702020001020101'],
  ['s missing', '3003020101'],
  ['r longer than the curve (33 bytes, P-256)', `3026022101${'00'.repeat(32)}020101`],
]

function derCases(): CaseGroup {
  return {
    name: 'WebCrypto backend: ECDSA DER <-> P1363 codec',
    cases: [
      {
        name: 'encodes the minimal DER forms (sign byte, stripped zeros, long form for P-521)',
        run: () => {
          const one = new Uint8Array(64)
          one[31] = 1
          one[63] = 1
          checkBytes(encodeDerSignature(one, 32), hexToBytes('3006020101020101'), 'r = s = 1')
          const high = new Uint8Array(64).fill(0xff)
          const der = encodeDerSignature(high, 32)
          checkEqual(bytesToHex(der.subarray(0, 5)), '3046022100', 'sign byte before a high bit')
          const p521 = new Uint8Array(132).fill(0x80)
          const long = encodeDerSignature(p521, 66)
          checkEqual(bytesToHex(long.subarray(0, 3)), '30818a', 'P-521 uses the 0x81 long form')
          checkEqual(long.length, 3 + 2 * (2 + 67), 'P-521 maximal length')
        },
      },
      {
        name: 'round-trips r ‖ s for P-256, P-384 and P-521, including leading zeros and high bits',
        run: () => {
          let checked = 0
          for (const size of [32, 48, 66]) {
            for (let i = 0; i < 50; i++) {
              const p1363 = crypto.getRandomValues(new Uint8Array(2 * size))
              // Cover the boundaries: leading zero bytes, a top bit that needs a sign byte.
              if (i % 5 === 0) p1363.fill(0, 0, 1 + (i % 7))
              if (i % 5 === 1) p1363[size] = 0x80
              if (i % 5 === 2) p1363.fill(0, size, size + size - 1)
              const decoded = decodeDerSignature(encodeDerSignature(p1363, size), size)
              check(decoded.kind === 'ok', `size ${size} #${i} decodes`)
              checkBytes(decoded.signature, p1363, `size ${size} #${i}`)
              checked++
            }
          }
          checkEqual(checked, 150, 'round trips')
        },
      },
      {
        name: `rejects ${MALFORMED_DER.length} malformed or non-minimal encodings`,
        run: () => {
          for (const [label, hex] of MALFORMED_DER) {
            const result = decodeDerSignature(hexToBytes(hex), 32)
            check(result.kind === 'malformed', `${label}: accepted`)
          }
        },
      },
    ],
  }
}

function cacheCases(): CaseGroup {
  return {
    name: 'WebCrypto backend: imported-key caches',
    cases: [
      {
        name: 'signs and verifies five times with one import of each key, also from fresh arrays',
        run: async () => {
          const counted = countCalls(globalThis.crypto.subtle)
          const backend = createWebCryptoBackend(counted.subtle)
          for (const alg of ['Ed25519', 'P-256'] as const) {
            const pair = await backend.signature.generate(alg)
            counted.calls.clear()
            const message = utf8.encode(`cache ${alg}`)
            for (let i = 0; i < 5; i++) {
              // Copies: the cache is keyed by content, as a client reloading its state needs.
              const signature = await backend.signature.sign(alg, pair.privateKey.slice(), message)
              check(
                await backend.signature.verify(alg, pair.publicKey.slice(), message, signature),
                `${alg} #${i}`,
              )
            }
            checkEqual(counted.calls.get('importKey'), 2, `${alg}: importKey calls for 5 sign + 5 verify`)
            checkEqual(counted.calls.get('sign'), 5, `${alg}: sign calls`)
          }
          checkEqual(backend.keyCacheSizes().signing, 2, 'signing keys cached')
          backend.clearKeyCaches()
          const sizes = backend.keyCacheSizes()
          checkEqual(sizes.signing + sizes.dhPrivate + sizes.public, 0, 'caches empty after clear')
        },
      },
      {
        name: 'an overwritten key array is re-imported, never answered with the old key',
        run: async () => {
          const backend = createWebCryptoBackend()
          const key = (await backend.signature.generate('Ed25519')).privateKey
          const firstPublic = await backend.signature.publicKeyOf('Ed25519', key)
          const message = utf8.encode('m')
          await backend.signature.sign('Ed25519', key, message)
          key.set((await backend.signature.generate('Ed25519')).privateKey)
          const signature = await backend.signature.sign('Ed25519', key, message)
          const secondPublic = await backend.signature.publicKeyOf('Ed25519', key)
          check(bytesToHex(firstPublic) !== bytesToHex(secondPublic), 'new key has a new public key')
          check(
            await backend.signature.verify('Ed25519', secondPublic, message, signature),
            'signed with new key',
          )
          check(
            !(await backend.signature.verify('Ed25519', firstPublic, message, signature)),
            'not the old key',
          )
        },
      },
      {
        name: 'the LRU keeps its bound and evicts the least recently used key',
        run: async () => {
          const cache = new KeyCache(3)
          const loads: number[] = []
          const load = (n: number) => () => {
            loads.push(n)
            return globalThis.crypto.subtle.importKey('raw', new Uint8Array(16).fill(n), 'AES-GCM', false, [
              'encrypt',
            ])
          }
          for (const n of [1, 2, 3]) await cache.resolve('t', Uint8Array.of(n), load(n))
          await cache.resolve('t', Uint8Array.of(1), load(1)) // 1 becomes most recent
          await cache.resolve('t', Uint8Array.of(4), load(4)) // evicts 2
          checkEqual(cache.size, 3, 'bounded size')
          await cache.resolve('t', Uint8Array.of(1), load(1))
          await cache.resolve('t', Uint8Array.of(2), load(2))
          checkEqual(loads.join(','), '1,2,3,4,2', 'loads (1 hit twice, 2 reloaded after eviction)')
        },
      },
      {
        name: 'a failed import is not cached',
        run: async () => {
          const cache = new KeyCache(3)
          let calls = 0
          const failing = () => {
            calls++
            return Promise.reject(new Error('no'))
          }
          await checkRejects(
            () => cache.resolve('t', Uint8Array.of(9), failing),
            () => true,
            'first',
          )
          await checkRejects(
            () => cache.resolve('t', Uint8Array.of(9), failing),
            () => true,
            'second',
          )
          checkEqual(calls, 2, 'import attempted again')
          checkEqual(cache.size, 0, 'nothing kept')
        },
      },
    ],
  }
}

function unsupportedCases(backend: WebCryptoBackend): CaseGroup {
  const zeros = (n: number) => new Uint8Array(n)
  return {
    name: 'WebCrypto backend: algorithms WebCrypto lacks are refused, never emulated',
    cases: [
      {
        name: 'ChaCha20-Poly1305, Ed448 and X448: supports() is false and every call throws unsupported-algorithm',
        run: async () => {
          for (const alg of ['ChaCha20-Poly1305', 'Ed448', 'X448'] as const)
            check(!backend.supports(alg), alg)
          const attempts: Array<[string, () => Promise<unknown>]> = [
            ['seal', () => backend.aead.seal('ChaCha20-Poly1305', zeros(32), zeros(12), zeros(0), zeros(1))],
            ['open', () => backend.aead.open('ChaCha20-Poly1305', zeros(32), zeros(12), zeros(0), zeros(17))],
            ['Ed448 generate', () => backend.signature.generate('Ed448')],
            ['Ed448 sign', () => backend.signature.sign('Ed448', zeros(57), zeros(1))],
            ['Ed448 verify', () => backend.signature.verify('Ed448', zeros(57), zeros(1), zeros(114))],
            ['Ed448 publicKeyOf', () => backend.signature.publicKeyOf('Ed448', zeros(57))],
            ['X448 generate', () => backend.dh.generate('X448')],
            ['X448 sharedSecret', () => backend.dh.sharedSecret('X448', zeros(56), zeros(56))],
            ['X448 publicKeyOf', () => backend.dh.publicKeyOf('X448', zeros(56))],
          ]
          for (const [label, attempt] of attempts) {
            await checkRejects(attempt, rejectsWith('unsupported-algorithm'), label)
          }
        },
      },
      {
        name: 'supports() is true for every classical algorithm WebCrypto offers',
        run: () => {
          for (const alg of [
            'SHA-256',
            'SHA-384',
            'SHA-512',
            'AES-128-GCM',
            'AES-256-GCM',
            'Ed25519',
            'P-256',
            'P-384',
            'P-521',
            'X25519',
          ] as const) {
            check(backend.supports(alg), alg)
          }
        },
      },
    ],
  }
}

function randomAndKeyCases(backend: WebCryptoBackend): CaseGroup {
  return {
    name: 'WebCrypto backend: randomness, HMAC/HKDF composition, key encodings',
    cases: [
      {
        name: `randomBytes fills in slices of at most ${MAX_GET_RANDOM_VALUES_BYTES} bytes`,
        run: () => {
          const slices: number[] = []
          const strict = createWebCryptoBackend(undefined, (array) => {
            if (array.length > MAX_GET_RANDOM_VALUES_BYTES) throw new Error('QuotaExceededError')
            slices.push(array.length)
            return globalThis.crypto.getRandomValues(array)
          })
          const out = strict.randomBytes(200_000)
          checkEqual(out.length, 200_000, 'length')
          checkEqual(slices.join(','), '65536,65536,65536,3392', 'slices')
          check(
            out.subarray(196_608).some((b) => b !== 0),
            'the last slice was filled',
          )
          checkEqual(strict.randomBytes(0).length, 0, 'empty request')
        },
      },
      {
        name: 'randomBytes refuses negative, fractional and too-large lengths',
        run: async () => {
          await checkRejects(() => backend.randomBytes(-1), rejectsWith('invalid-length'), 'negative')
          await checkRejects(() => backend.randomBytes(1.5), rejectsWith('invalid-length'), 'fractional')
          await checkRejects(
            () => backend.randomBytes(MAX_RANDOM_BYTES + 1),
            rejectsWith('limit-exceeded'),
            'above MAX_RANDOM_BYTES',
          )
        },
      },
      {
        name: 'HMAC with an empty key equals the RFC 2104 zero-padded key (WebCrypto refuses empty keys)',
        run: async () => {
          // HMAC-SHA-256 with an empty key over an empty message.
          const expected = hexToBytes('b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad')
          checkBytes(
            await backend.hash.hmac('SHA-256', new Uint8Array(0), new Uint8Array(0)),
            expected,
            'empty',
          )
          check(
            await backend.hash.hmacVerify('SHA-256', new Uint8Array(0), new Uint8Array(0), expected),
            'verify',
          )
          check(
            !(await backend.hash.hmacVerify(
              'SHA-256',
              new Uint8Array(0),
              new Uint8Array(0),
              expected.subarray(0, 16),
            )),
            'a truncated tag does not verify',
          )
        },
      },
      {
        name: 'HKDF (RFC 5869 A.1 and A.3): extract via HMAC, expand composed from HMAC',
        run: async () => {
          const ikm = new Uint8Array(22).fill(0x0b)
          const prk1 = await backend.hash.hkdfExtract(
            'SHA-256',
            hexToBytes('000102030405060708090a0b0c'),
            ikm,
          )
          checkBytes(
            prk1,
            hexToBytes('077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5'),
            'A.1 PRK',
          )
          const okm1 = await backend.hash.hkdfExpand('SHA-256', prk1, hexToBytes('f0f1f2f3f4f5f6f7f8f9'), 42)
          checkBytes(
            okm1,
            hexToBytes(
              '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
            ),
            'A.1 OKM',
          )
          const prk3 = await backend.hash.hkdfExtract('SHA-256', new Uint8Array(0), ikm)
          checkBytes(
            prk3,
            hexToBytes('19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04'),
            'A.3 PRK',
          )
          const okm3 = await backend.hash.hkdfExpand('SHA-256', prk3, new Uint8Array(0), 42)
          checkBytes(
            okm3,
            hexToBytes(
              '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8',
            ),
            'A.3 OKM',
          )
          checkEqual(
            (await backend.hash.hkdfExpand('SHA-256', prk3, new Uint8Array(0), 0)).length,
            0,
            'L = 0',
          )
          checkEqual(
            (await backend.hash.hkdfExpand('SHA-256', prk3, new Uint8Array(0), 255 * 32)).length,
            8160,
            'max',
          )
          await checkRejects(
            () => backend.hash.hkdfExpand('SHA-256', prk3, new Uint8Array(0), 255 * 32 + 1),
            rejectsWith('limit-exceeded'),
            'L above 255 * HashLen',
          )
        },
      },
      {
        name: 'keys cross the boundary as raw bytes: wrong lengths, off-range scalars and compressed points are refused',
        run: async () => {
          const message = utf8.encode('m')
          await checkRejects(
            () => backend.signature.sign('Ed25519', new Uint8Array(31), message),
            rejectsWith('invalid-length'),
            'short Ed25519 seed',
          )
          await checkRejects(
            () => backend.signature.sign('P-256', new Uint8Array(32), message),
            rejectsWith('invalid-key'),
            'P-256 scalar 0',
          )
          await checkRejects(
            () => backend.signature.sign('P-256', new Uint8Array(32).fill(0xff), message),
            rejectsWith('invalid-key'),
            'P-256 scalar above n',
          )
          const pair = await backend.dh.generate('P-256')
          const compressed = Uint8Array.of(
            0x02 + (pair.publicKey[64]! & 1),
            ...pair.publicKey.subarray(1, 33),
          )
          await checkRejects(
            () => backend.dh.sharedSecret('P-256', pair.privateKey, compressed),
            rejectsWith('invalid-length'),
            'compressed point (33 bytes)',
          )
          const notUncompressed = pair.publicKey.slice()
          notUncompressed[0] = 0x06
          await checkRejects(
            () => backend.dh.sharedSecret('P-256', pair.privateKey, notUncompressed),
            rejectsWith('invalid-public-key'),
            'hybrid-form prefix',
          )
          const offCurve = pair.publicKey.slice()
          offCurve[64]! ^= 1
          await checkRejects(
            () => backend.dh.sharedSecret('P-256', pair.privateKey, offCurve),
            rejectsWith('invalid-public-key'),
            'point off the curve',
          )
          check(
            !(await backend.signature.verify('P-256', offCurve, message, new Uint8Array(8))),
            'verify false',
          )
        },
      },
      {
        name: 'X25519 with a low-order peer point is refused (RFC 7748 §6.1 all-zero check)',
        run: async () => {
          const own = await backend.dh.generate('X25519')
          // u = 0 and u = 1 are points of small order: the shared secret is all zero.
          for (const u of [new Uint8Array(32), Uint8Array.of(1, ...new Uint8Array(31))]) {
            await checkRejects(
              () => backend.dh.sharedSecret('X25519', own.privateKey, u),
              rejectsWith('invalid-public-key'),
              `u = ${u[0]}`,
            )
          }
        },
      },
      {
        name: 'ECDSA signatures leave the backend as strict DER for P-256, P-384 and P-521',
        run: async () => {
          for (const [alg, size] of [
            ['P-256', 32],
            ['P-384', 48],
            ['P-521', 66],
          ] as const) {
            const pair = await backend.signature.generate(alg)
            const signature = await backend.signature.sign(alg, pair.privateKey, utf8.encode(alg))
            check(decodeDerSignature(signature, size).kind === 'ok', `${alg} DER`)
            check(
              await backend.signature.verify(alg, pair.publicKey, utf8.encode(alg), signature),
              `${alg} verify`,
            )
            check(
              !(await backend.signature.verify(alg, pair.publicKey, utf8.encode('x'), signature)),
              `${alg} other`,
            )
          }
        },
      },
    ],
  }
}

/** Every WebCrypto-only group, for one backend over the platform's WebCrypto. */
export function webBackendCaseGroups(backend: WebCryptoBackend): CaseGroup[] {
  return [derCases(), cacheCases(), unsupportedCases(backend), randomAndKeyCases(backend)]
}
