import { XWing } from '@noble/post-quantum/hybrid.js'
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js'
import { abytes } from './bytes.ts'
import { CryptoError } from './errors.ts'

/**
 * Post-quantum KEMs from @noble/post-quantum 0.5.2 (absent from node:crypto 20 and WebCrypto):
 * ML-KEM-768 (FIPS 203) and X-Wing (draft-connolly-cfrg-xwing-kem: ML-KEM-768 + X25519, combined
 * with SHA3-256). Runtime-neutral: both backends use this module. Every length is checked here
 * with a CryptoError before noble sees the input; noble's own failures are mapped to our codes.
 *
 * Inputs are copied before noble sees them: @noble/post-quantum 0.5.2's hybrid encapsulate
 * wipes (cleanBytes) the subarrays it splits the caller's public key into, which zeroes the
 * caller's X-Wing public key after one use. A copy keeps our callers' bytes intact.
 *
 * Randomness: the optional `seed`/`randomness` arguments exist for test vectors (and for HPKE
 * DeriveKeyPair). Callers pass CSPRNG output; without them noble draws from
 * crypto.getRandomValues, which is also a CSPRNG.
 */

export interface KemKeyPair {
  readonly publicKey: Uint8Array
  readonly secretKey: Uint8Array
}

export interface KemEncapsulation {
  readonly cipherText: Uint8Array
  readonly sharedSecret: Uint8Array
}

export interface Kem {
  readonly name: 'ML-KEM-768' | 'X-Wing'
  readonly seedLength: number
  readonly publicKeyLength: number
  readonly secretKeyLength: number
  readonly cipherTextLength: number
  readonly sharedSecretLength: number
  /** Bytes of randomness one encapsulation consumes. */
  readonly encapsulationRandomnessLength: number
  /** Deterministic from `seed` when given (FIPS 203 ML-KEM.KeyGen_internal(d, z); X-Wing GenerateKeyPairDerand). */
  generate(seed?: Uint8Array): KemKeyPair
  publicKeyOf(secretKey: Uint8Array): Uint8Array
  encapsulate(publicKey: Uint8Array, randomness?: Uint8Array): KemEncapsulation
  decapsulate(cipherText: Uint8Array, secretKey: Uint8Array): Uint8Array
}

interface NobleKem {
  keygen(seed?: Uint8Array): { publicKey: Uint8Array; secretKey: Uint8Array }
  getPublicKey(secretKey: Uint8Array): Uint8Array
  encapsulate(publicKey: Uint8Array, msg?: Uint8Array): { cipherText: Uint8Array; sharedSecret: Uint8Array }
  decapsulate(cipherText: Uint8Array, secretKey: Uint8Array): Uint8Array
}

/** ML-KEM modulus q (FIPS 203 §2.4). */
const ML_KEM_Q = 3329

/**
 * FIPS 203 §7.2 encapsulation-key check: every 12-bit coefficient of the encoded vector t
 * (the first `tLength` bytes) must be below q, i.e. ByteEncode12(ByteDecode12(ek)) == ek.
 * noble 0.5.2 does not perform it (Wycheproof mlkem_768_encaps ModulusOverflow cases pass
 * through), so we do, before encapsulating. This is input validation, not arithmetic on keys.
 */
function checkMlKemModulus(publicKey: Uint8Array, tLength: number, name: string): void {
  let bad = 0
  for (let i = 0; i + 3 <= tLength; i += 3) {
    const b0 = publicKey[i]!
    const b1 = publicKey[i + 1]!
    const b2 = publicKey[i + 2]!
    const c0 = b0 | ((b1 & 0x0f) << 8)
    const c1 = (b1 >> 4) | (b2 << 4)
    bad |= (c0 >= ML_KEM_Q ? 1 : 0) | (c1 >= ML_KEM_Q ? 1 : 0)
  }
  if (bad !== 0)
    throw new CryptoError('invalid-public-key', `${name} public key fails the FIPS 203 modulus check`)
}

/** ML-KEM-768: k = 3 polynomials of 384 bytes each precede the 32-byte seed rho in ek. */
const ML_KEM_768_T_LENGTH = 3 * 384

function makeKem(
  name: Kem['name'],
  noble: NobleKem,
  lengths: Omit<Kem, 'name' | 'generate' | 'publicKeyOf' | 'encapsulate' | 'decapsulate'>,
): Kem {
  return Object.freeze({
    name,
    ...lengths,
    generate(seed?: Uint8Array): KemKeyPair {
      if (seed !== undefined) abytes(seed, `${name} seed`, lengths.seedLength)
      const { publicKey, secretKey } = noble.keygen(seed?.slice())
      return { publicKey, secretKey }
    },
    publicKeyOf(secretKey: Uint8Array): Uint8Array {
      abytes(secretKey, `${name} secret key`, lengths.secretKeyLength)
      try {
        return noble.getPublicKey(secretKey.slice())
      } catch (cause) {
        throw new CryptoError('invalid-key', `${name} secret key is malformed`, { cause })
      }
    },
    encapsulate(publicKey: Uint8Array, randomness?: Uint8Array): KemEncapsulation {
      abytes(publicKey, `${name} public key`, lengths.publicKeyLength)
      if (randomness !== undefined) {
        abytes(randomness, `${name} encapsulation randomness`, lengths.encapsulationRandomnessLength)
      }
      // Both KEMs start their public key with an ML-KEM-768 encapsulation key.
      checkMlKemModulus(publicKey, ML_KEM_768_T_LENGTH, name)
      try {
        const { cipherText, sharedSecret } = noble.encapsulate(publicKey.slice(), randomness?.slice())
        return { cipherText, sharedSecret }
      } catch (cause) {
        // FIPS 203 §7.2: the encapsulation key must pass the modulus check.
        throw new CryptoError('invalid-public-key', `${name} public key is malformed`, { cause })
      }
    },
    decapsulate(cipherText: Uint8Array, secretKey: Uint8Array): Uint8Array {
      abytes(cipherText, `${name} ciphertext`, lengths.cipherTextLength)
      abytes(secretKey, `${name} secret key`, lengths.secretKeyLength)
      try {
        // ML-KEM decapsulation never fails on a well-formed ciphertext: a forged one yields the
        // implicit-rejection secret (FIPS 203 §6.3), so nothing distinguishes it here.
        return noble.decapsulate(cipherText.slice(), secretKey.slice())
      } catch (cause) {
        // FIPS 203 §7.3: the decapsulation key's embedded hash check failed.
        throw new CryptoError('invalid-key', `${name} secret key is malformed`, { cause })
      }
    },
  })
}

/** ML-KEM-768 (FIPS 203). The secret key is the 2400-byte expanded decapsulation key; seed = d ‖ z. */
export const mlKem768: Kem = makeKem('ML-KEM-768', ml_kem768, {
  seedLength: 64,
  publicKeyLength: 1184,
  secretKeyLength: 2400,
  cipherTextLength: 1088,
  sharedSecretLength: 32,
  encapsulationRandomnessLength: 32,
})

/**
 * X-Wing (draft-connolly-cfrg-xwing-kem): the secret key is the 32-byte seed, expanded with
 * SHAKE256 into the ML-KEM-768 seed (64 bytes) and the X25519 scalar (32 bytes); the public key
 * is pk_M ‖ pk_X (1184 + 32); the ciphertext is ct_M ‖ ct_X (1088 + 32); encapsulation randomness
 * is 64 bytes (32 for ML-KEM, 32 for the ephemeral X25519 key).
 */
export const xWing: Kem = makeKem('X-Wing', XWing, {
  seedLength: 32,
  publicKeyLength: 1216,
  secretKeyLength: 32,
  cipherTextLength: 1120,
  sharedSecretLength: 32,
  encapsulationRandomnessLength: 64,
})
