/**
 * A small world of users and devices for protocol tests: identity keys, credentials, device
 * signature keys, KeyPackages, and the directory the authentication service trusts. Runtime-neutral
 * (runs in Node and in Chromium).
 */
import type { CryptoBackend } from '@tacit/crypto/backend'
import { createAuthenticationService } from '../../src/authentication.ts'
import { type CipherSuite, getCipherSuite } from '../../src/cipher-suite.ts'
import {
  generateIdentityKeyPair,
  type IdentityKeyPair,
  issueCredential,
  type TacitCredential,
} from '../../src/credential.ts'
import type { GroupConfig } from '../../src/group.ts'
import {
  createKeyPackage,
  type GeneratedKeyPackage,
  generateSignatureKeyPair,
  type SignatureKeyPair,
} from '../../src/key-package.ts'
import { type Policy, standardPolicy } from '../../src/policy.ts'

export interface TestDevice {
  readonly handle: string
  readonly deviceId: string
  readonly credential: TacitCredential
  readonly signatureKeyPair: SignatureKeyPair
  readonly config: GroupConfig
  keyPackage(lastResort?: boolean): Promise<GeneratedKeyPackage>
}

export interface TestWorld {
  readonly suite: CipherSuite
  readonly directory: Map<string, Uint8Array>
  readonly identities: Map<string, IdentityKeyPair>
  user(handle: string): Promise<IdentityKeyPair>
  device(handle: string, deviceId?: string, policy?: Policy): Promise<TestDevice>
}

export async function createWorld(
  backend: CryptoBackend,
  suiteName: CipherSuite['name'],
): Promise<TestWorld> {
  const suite = await getCipherSuite(backend, suiteName)
  const directory = new Map<string, Uint8Array>()
  const identities = new Map<string, IdentityKeyPair>()
  let counter = 0
  const world: TestWorld = {
    suite,
    directory,
    identities,
    async user(handle) {
      let identity = identities.get(handle)
      if (!identity) {
        identity = await generateIdentityKeyPair(backend)
        identities.set(handle, identity)
        directory.set(handle, identity.publicKey)
      }
      return identity
    },
    async device(handle, deviceId = `d${++counter}`, policy = standardPolicy({ admins: ['alice'] })) {
      const identity = await world.user(handle)
      const signatureKeyPair = await generateSignatureKeyPair(suite)
      const credential = await issueCredential(backend, identity, {
        handle,
        deviceId,
        signatureKey: signatureKeyPair.publicKey,
      })
      const auth = createAuthenticationService({ backend, identityOf: (h) => directory.get(h) ?? null })
      const config: GroupConfig = { suite, auth, policy }
      return {
        handle,
        deviceId,
        credential,
        signatureKeyPair,
        config,
        keyPackage: (lastResort = false) =>
          createKeyPackage({
            suite,
            credential,
            signatureKeyPair,
            lastResort,
            now: Math.floor(Date.now() / 1000),
          }),
      }
    },
  }
  return world
}
