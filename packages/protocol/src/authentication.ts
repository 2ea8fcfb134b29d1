/**
 * Tacit's authentication service (RFC 9420 §5.3.1): the library calls it for every credential it
 * meets — in KeyPackages, Welcomes, ratchet trees, Update and Commit leaf nodes. A credential is
 * accepted only when all of these hold:
 *  1. it is a BasicCredential whose identity decodes as a TacitCredential (`credential.ts`);
 *  2. the device signature key inside it is the leaf's signature key;
 *  3. the user's identity key signed it;
 *  4. that identity key is the one the caller trusts for the handle (`identityOf`, answered from
 *     the key directory after its key-transparency proof was checked, or from a verified contact).
 * Anything else is rejected: there is no "accept unknown" mode.
 */
import type { CryptoBackend } from '@tacit/crypto/backend'
import { decodeCredential, sameKey, verifyCredentialSignature } from './credential.ts'
import { ProtocolError } from './errors.ts'

/** Returns the identity key trusted for `handle`, or null when the handle is unknown. */
export type IdentityResolver = (handle: string) => Promise<Uint8Array | null> | Uint8Array | null

/**
 * Looks many handles up at once, so that the `IdentityResolver` calls that follow answer from what
 * it learned (one key-directory request instead of one per handle). Its answer is not used.
 */
export type IdentityPrefetch = (handles: readonly string[]) => Promise<unknown>

/** The shape ts-mls 1.6.4 calls (`ClientConfig.authService`), and our own `prepare`. */
export interface MlsAuthenticationService {
  validateCredential(credential: MlsCredentialLike, signaturePublicKey: Uint8Array): Promise<boolean>
  /**
   * Called by `group.ts` with the credentials a commit is about to add, before the library
   * validates them one by one. It only warms the identity lookups; it decides nothing, and a
   * failure is left for the validation to meet and report.
   */
  prepare?(credentials: readonly MlsCredentialLike[]): Promise<void>
}

/** Structural view of ts-mls's `Credential` (we only accept the basic kind). */
export type MlsCredentialLike =
  | { credentialType: 'basic'; identity: Uint8Array }
  | { credentialType: string; [field: string]: unknown }

export type CredentialRejection =
  | 'not-basic'
  | 'malformed'
  | 'signature-key-mismatch'
  | 'bad-identity-signature'
  | 'unknown-handle'
  | 'identity-key-mismatch'

export interface CredentialCheck {
  readonly ok: boolean
  readonly reason?: CredentialRejection
}

export async function checkMlsCredential(
  backend: CryptoBackend,
  identityOf: IdentityResolver,
  credential: MlsCredentialLike,
  signaturePublicKey: Uint8Array,
): Promise<CredentialCheck> {
  if (credential.credentialType !== 'basic' || !(credential.identity instanceof Uint8Array)) {
    return { ok: false, reason: 'not-basic' }
  }
  let decoded: ReturnType<typeof decodeCredential>
  try {
    decoded = decodeCredential(credential.identity)
  } catch (error) {
    if (ProtocolError.is(error)) return { ok: false, reason: 'malformed' }
    throw error
  }
  if (!sameKey(decoded.signatureKey, signaturePublicKey))
    return { ok: false, reason: 'signature-key-mismatch' }
  if (!(await verifyCredentialSignature(backend, decoded)))
    return { ok: false, reason: 'bad-identity-signature' }
  const trusted = await identityOf(decoded.handle)
  if (trusted === null) return { ok: false, reason: 'unknown-handle' }
  if (!sameKey(trusted, decoded.identityKey)) return { ok: false, reason: 'identity-key-mismatch' }
  return { ok: true }
}

/**
 * Builds the authentication service handed to ts-mls. `onReject` sees why a credential failed
 * (for alerts such as "a verified contact's identity key changed"); it never sees key material.
 */
export function createAuthenticationService(params: {
  backend: CryptoBackend
  identityOf: IdentityResolver
  prefetch?: IdentityPrefetch
  onReject?: (handle: string | null, reason: CredentialRejection) => void
}): MlsAuthenticationService {
  const { backend, identityOf, prefetch, onReject } = params
  return {
    async validateCredential(credential, signaturePublicKey) {
      const result = await checkMlsCredential(backend, identityOf, credential, signaturePublicKey)
      if (!result.ok && onReject) onReject(handleOf(credential), result.reason!)
      return result.ok
    },
    async prepare(credentials) {
      if (prefetch === undefined) return
      const handles = new Set<string>()
      for (const credential of credentials) {
        const handle = handleOf(credential)
        if (handle !== null) handles.add(handle)
      }
      if (handles.size < 2) return // One handle is one lookup either way.
      try {
        await prefetch([...handles])
      } catch {
        // The validation looks the handles up again, one by one, and reports what fails.
      }
    },
  }
}

/** The handle a credential names, or null when it is not a well-formed Tacit credential. */
function handleOf(credential: MlsCredentialLike): string | null {
  try {
    if (credential.credentialType === 'basic' && credential.identity instanceof Uint8Array) {
      return decodeCredential(credential.identity).handle
    }
  } catch {
    // Malformed: the validation rejects it.
  }
  return null
}
