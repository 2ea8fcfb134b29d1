/** Ed25519 keys for tests (node:crypto), with the raw 32-byte public key the server stores. */
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto'

export interface TestKey {
  readonly publicKey: Uint8Array
  sign(message: Uint8Array): Uint8Array
}

export function generateTestKey(): TestKey {
  const { publicKey, privateKey }: { publicKey: KeyObject; privateKey: KeyObject } =
    generateKeyPairSync('ed25519')
  const x = publicKey.export({ format: 'jwk' }).x!
  return {
    publicKey: new Uint8Array(Buffer.from(x, 'base64url')),
    sign: (message) => new Uint8Array(sign(null, message, privateKey)),
  }
}
