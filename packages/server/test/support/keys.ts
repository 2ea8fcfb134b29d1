/** Ed25519 keys for tests (node:crypto), with the raw 32-byte public key the server stores. */
import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto'

export interface TestKey {
  readonly publicKey: Uint8Array
  sign(message: Uint8Array): Uint8Array
}

/** RFC 8410 §4: an Ed25519 SubjectPublicKeyInfo is these 12 bytes, then the raw key. */
const ED25519_SPKI_PREFIX_BYTES = 12

export function generateTestKey(): TestKey {
  // Encoded by the generation itself, not exported from its KeyObjects afterwards: Node 20 can
  // deadlock when a GC finalises the generation job during such an export (packages/crypto's
  // generateRaw says how).
  const { publicKey, privateKey } = generateKeyPairSync('ed25519', {
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
  })
  const key = createPrivateKey({ key: privateKey, format: 'der', type: 'pkcs8' })
  return {
    publicKey: new Uint8Array(publicKey.subarray(ED25519_SPKI_PREFIX_BYTES)),
    sign: (message) => new Uint8Array(sign(null, message, key)),
  }
}
