import { hexToBytes } from '@tacit/crypto/bytes'
import { type CaseGroup, check, checkBytes, checkEqual } from '../../../../tests/harness/cases.ts'
import { AesGcmKey } from '../../src/aes-gcm.ts'

/**
 * The in-thread AES-GCM (`AesGcmKey`) against known answers and against the runtime's WebCrypto
 * (OpenSSL in Node, BoringSSL in Chromium): one key reused for many messages of every length
 * around the block size and the frame sizes of a call, at unaligned offsets, with and without
 * AAD; tampered tag, ciphertext, AAD or nonce must not open.
 */

const h = hexToBytes

/** McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", test cases 13 and 14 (AES-256). */
const KNOWN = [
  { key: '00'.repeat(32), iv: '00'.repeat(12), pt: '', ct: '', tag: '530f8afbc74536b9a963b4f1c4cb738b' },
  {
    key: '00'.repeat(32),
    iv: '00'.repeat(12),
    pt: '00'.repeat(16),
    ct: 'cea7403d4d606b6e074ec5d3baf39d18',
    tag: 'd0d1c8a799996bf0265b98b5d48ab919',
  },
] as const

const LENGTHS = [0, 1, 15, 16, 17, 31, 32, 33, 159, 160, 161, 1199, 1200, 4096, 20_000]

/** Deterministic bytes (a test must not depend on luck), at an offset so views are unaligned. */
function bytes(length: number, seed: number, offset = 0): Uint8Array {
  const out = new Uint8Array(length + offset)
  let x = seed * 2654435761
  for (let i = 0; i < out.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    out[i] = x >>> 24
  }
  return out.subarray(offset)
}

async function webCryptoSeal(
  key: Uint8Array,
  nonce: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
): Promise<Uint8Array> {
  const cryptoKey = await crypto.subtle.importKey('raw', key.slice(), 'AES-GCM', false, ['encrypt'])
  return new Uint8Array(
    await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv: nonce.slice(), additionalData: aad.slice(), tagLength: 128 },
      cryptoKey,
      plaintext.slice(),
    ),
  )
}

export function aesGcmCaseGroups(): CaseGroup[] {
  return [
    {
      name: 'in-thread AES-GCM',
      cases: [
        {
          name: 'known answers (GCM spec test cases 13 and 14)',
          run() {
            for (const [i, v] of KNOWN.entries()) {
              const key = new AesGcmKey(h(v.key))
              const sealed = key.seal(h(v.iv), new Uint8Array(0), h(v.pt))
              checkBytes(sealed, h(v.ct + v.tag), `case ${13 + i}: seal`)
              const opened = key.open(h(v.iv), new Uint8Array(0), sealed)
              check(opened !== undefined, `case ${13 + i}: opens`)
              checkBytes(opened, h(v.pt), `case ${13 + i}: open`)
            }
          },
        },
        {
          name: 'same bytes as WebCrypto for every length, key size and AAD, one key reused',
          async run(env) {
            let compared = 0
            for (const keyBytes of [16, 32]) {
              const rawKey = bytes(keyBytes, keyBytes)
              const key = new AesGcmKey(rawKey)
              for (const [i, length] of LENGTHS.entries()) {
                for (const aadLength of [0, 1, 11, 16, 27]) {
                  const nonce = bytes(12, 1000 + i * 7 + aadLength, 1)
                  const aad = bytes(aadLength, 2000 + i + aadLength, 3)
                  const plaintext = bytes(length, 3000 + i, 1 + (aadLength % 3))
                  const where = `AES-${keyBytes * 8} ${length} B, aad ${aadLength} B`
                  const expected = await webCryptoSeal(rawKey, nonce, aad, plaintext)
                  checkBytes(key.seal(nonce, aad, plaintext), expected, `${where}: seal`)
                  // sealInto at an odd offset of a larger buffer (a frame behind clear bytes).
                  const frame = new Uint8Array(expected.length + 5)
                  key.sealInto(nonce, aad, plaintext, frame, 3)
                  checkBytes(frame.subarray(3, 3 + expected.length), expected, `${where}: sealInto`)
                  const sealed = frame.subarray(3, 3 + expected.length)
                  const opened = key.open(nonce, aad, sealed)
                  check(opened !== undefined, `${where}: opens`)
                  checkBytes(opened, plaintext, `${where}: open`)
                  compared++
                }
              }
            }
            env.log(`in-thread AES-GCM: ${compared} messages identical to WebCrypto`)
            checkEqual(compared, 2 * LENGTHS.length * 5, 'every combination ran')
          },
        },
        {
          name: 'a changed tag, ciphertext, AAD, nonce or length does not open',
          run() {
            const key = new AesGcmKey(bytes(32, 9))
            const nonce = bytes(12, 10)
            const aad = bytes(20, 11)
            const sealed = key.seal(nonce, aad, bytes(200, 12))
            const flip = (b: Uint8Array, at: number) => {
              const c = b.slice()
              c[at]! ^= 0x01
              return c
            }
            const attempts: Array<[string, Uint8Array, Uint8Array, Uint8Array]> = [
              ['tag bit', nonce, aad, flip(sealed, sealed.length - 1)],
              ['ciphertext bit', nonce, aad, flip(sealed, 0)],
              ['aad bit', nonce, flip(aad, 5), sealed],
              ['nonce bit', flip(nonce, 11), aad, sealed],
              ['truncated', nonce, aad, sealed.subarray(0, sealed.length - 1)],
              ['shorter than a tag', nonce, aad, sealed.subarray(0, 15)],
            ]
            for (const [what, n, a, c] of attempts) {
              check(key.open(n, a, c) === undefined, `${what}: rejected`)
            }
            // A rejected message leaves the key usable (the GHASH state is reset per message).
            checkBytes(key.open(nonce, aad, sealed) ?? new Uint8Array(0), bytes(200, 12), 'still opens')
          },
        },
      ],
    },
  ]
}
