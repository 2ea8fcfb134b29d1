/**
 * Random identifiers and secrets, their hashes, and Ed25519 verification — all from node:crypto.
 * Secrets (session and delivery tokens, invite codes) are stored only as SHA-256 hashes: a leaked
 * database does not let anyone use them. They are 128 bits or more of CSPRNG output, so a plain
 * hash (no salt, no stretching) is enough.
 */
import { createHash, createPublicKey, randomBytes, timingSafeEqual, verify } from 'node:crypto'
import { bytesToBase64url } from '@tacit/protocol/wire/encoding'
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES } from '@tacit/protocol/wire/limits'

export function randomSecret(bytes: number): Uint8Array {
  return new Uint8Array(randomBytes(bytes))
}

/** 16 random bytes as base64url: device ids, blob ids. */
export function randomId(): string {
  return bytesToBase64url(randomSecret(16))
}

export function hashSecret(secret: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(secret).digest())
}

export function sha256(data: Uint8Array): Uint8Array {
  return hashSecret(data)
}

/** Constant-time equality for secrets of public length. */
export function equalSecrets(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}

/** RFC 8032 §5.1.7 verification; false (never a throw) for malformed keys or signatures. */
export function verifyEd25519(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== ED25519_PUBLIC_KEY_BYTES || signature.length !== ED25519_SIGNATURE_BYTES)
    return false
  try {
    const key = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: bytesToBase64url(publicKey) },
      format: 'jwk',
    })
    return verify(null, message, key, signature)
  } catch {
    return false
  }
}
