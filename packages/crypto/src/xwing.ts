/**
 * X-Wing (draft-connolly-cfrg-xwing-kem): ML-KEM-768 + X25519, combined with SHA3-256.
 *
 * The combiner and the seed expansion are the draft's few lines of composition; the primitives
 * come from elsewhere: ML-KEM-768 from @noble/post-quantum (through `pq.ts`, which adds the
 * FIPS 203 §7.2 key check), SHA3-256/SHAKE256 from @noble/hashes, and X25519 from the backend —
 * node:crypto (OpenSSL) on Node, WebCrypto in browsers. noble's own `XWing` does X25519 in
 * JavaScript, which made X25519 the larger half of every X-Wing operation; `pq.ts` keeps it as the
 * reference our tests compare against.
 *
 *   expand(sk)   = SHAKE256(sk, 96): d ‖ z (ML-KEM-768 KeyGen_internal seed) ‖ sk_X
 *   pk           = pk_M ‖ X25519(sk_X, 9)
 *   Combiner     = SHA3-256(ss_M ‖ ss_X ‖ ct_X ‖ pk_X ‖ "\.//^\")
 *   Encapsulate  : eseed = m (ML-KEM) ‖ ek_X; ct = ct_M ‖ X25519(ek_X, 9); ss_X = X25519(ek_X, pk_X)
 *   Decapsulate  : ss_M = ML-KEM.Decaps(sk_M, ct_M); ss_X = X25519(sk_X, ct_X)
 */
import { sha3_256, shake256 } from '@noble/hashes/sha3.js'
import type { CryptoBackend } from './backend.ts'
import { abytes, concatBytes } from './bytes.ts'
import { mlKem768 } from './pq.ts'

/** The draft's XWingLabel: the six ASCII characters \.//^\ */
const XWING_LABEL = new Uint8Array([0x5c, 0x2e, 0x2f, 0x2f, 0x5e, 0x5c])
const X25519_LENGTH = 32
const ML_KEM_SEED_LENGTH = 64

export const XWING_SEED_LENGTH = 32
export const XWING_PUBLIC_KEY_LENGTH = mlKem768.publicKeyLength + X25519_LENGTH // 1216
export const XWING_CIPHERTEXT_LENGTH = mlKem768.cipherTextLength + X25519_LENGTH // 1120
export const XWING_SHARED_SECRET_LENGTH = 32
export const XWING_ENCAPSULATION_RANDOMNESS_LENGTH = 64

export interface XWing {
  generate(seed?: Uint8Array): Promise<{ publicKey: Uint8Array; secretKey: Uint8Array }>
  publicKeyOf(secretKey: Uint8Array): Promise<Uint8Array>
  encapsulate(
    publicKey: Uint8Array,
    randomness?: Uint8Array,
  ): Promise<{ cipherText: Uint8Array; sharedSecret: Uint8Array }>
  decapsulate(cipherText: Uint8Array, secretKey: Uint8Array): Promise<Uint8Array>
}

function combine(ssM: Uint8Array, ssX: Uint8Array, ctX: Uint8Array, pkX: Uint8Array): Uint8Array {
  return sha3_256(concatBytes(ssM, ssX, ctX, pkX, XWING_LABEL))
}

export function createXWing(backend: CryptoBackend): XWing {
  async function expand(secretKey: Uint8Array) {
    abytes(secretKey, 'X-Wing secret key', XWING_SEED_LENGTH)
    const expanded = shake256(secretKey, { dkLen: ML_KEM_SEED_LENGTH + X25519_LENGTH })
    const mlKem = mlKem768.generate(expanded.subarray(0, ML_KEM_SEED_LENGTH))
    const skX = expanded.slice(ML_KEM_SEED_LENGTH)
    const pkX = await backend.dh.publicKeyOf('X25519', skX)
    return { mlKem, skX, pkX }
  }

  return Object.freeze({
    async generate(seed?: Uint8Array) {
      const secretKey =
        seed === undefined ? backend.randomBytes(XWING_SEED_LENGTH) : abytes(seed, 'X-Wing seed', 32).slice()
      const { mlKem, pkX } = await expand(secretKey)
      return { publicKey: concatBytes(mlKem.publicKey, pkX), secretKey }
    },
    async publicKeyOf(secretKey: Uint8Array) {
      const { mlKem, pkX } = await expand(secretKey)
      return concatBytes(mlKem.publicKey, pkX)
    },
    async encapsulate(publicKey: Uint8Array, randomness?: Uint8Array) {
      abytes(publicKey, 'X-Wing public key', XWING_PUBLIC_KEY_LENGTH)
      const eseed =
        randomness === undefined
          ? backend.randomBytes(XWING_ENCAPSULATION_RANDOMNESS_LENGTH)
          : abytes(randomness, 'X-Wing encapsulation randomness', XWING_ENCAPSULATION_RANDOMNESS_LENGTH)
      const pkM = publicKey.subarray(0, mlKem768.publicKeyLength)
      const pkX = publicKey.slice(mlKem768.publicKeyLength)
      const ekX = eseed.slice(32)
      const ctX = await backend.dh.publicKeyOf('X25519', ekX)
      const ssX = await backend.dh.sharedSecret('X25519', ekX, pkX)
      const m = mlKem768.encapsulate(pkM, eseed.subarray(0, 32))
      return {
        cipherText: concatBytes(m.cipherText, ctX),
        sharedSecret: combine(m.sharedSecret, ssX, ctX, pkX),
      }
    },
    async decapsulate(cipherText: Uint8Array, secretKey: Uint8Array) {
      abytes(cipherText, 'X-Wing ciphertext', XWING_CIPHERTEXT_LENGTH)
      const { mlKem, skX, pkX } = await expand(secretKey)
      const ctM = cipherText.subarray(0, mlKem768.cipherTextLength)
      const ctX = cipherText.slice(mlKem768.cipherTextLength)
      const ssM = mlKem768.decapsulate(ctM, mlKem.secretKey)
      const ssX = await backend.dh.sharedSecret('X25519', skX, ctX)
      return combine(ssM, ssX, ctX, pkX)
    },
  })
}
