/**
 * The bridge between our crypto provider (`@tacit/crypto/mls-suite`) and ts-mls. Every
 * `CiphersuiteImpl` the protocol uses comes from here; there is no path to the library's default
 * provider, and `isTacitCiphersuite` lets tests prove it.
 */
import type { CryptoBackend } from '@tacit/crypto/backend'
import { createMlsSuiteCrypto } from '@tacit/crypto/mls-suite'
import { type Ciphersuite, type CiphersuiteImpl, type CiphersuiteName, ciphersuites } from 'ts-mls'
import type { CryptoProvider } from 'ts-mls/crypto/provider.js'
import { ProtocolError } from './errors.ts'

/** DESIGN.md §3: hybrid post-quantum default — X-Wing + AES-256-GCM + SHA-512 + Ed25519. */
export const DEFAULT_SUITE = 'MLS_256_XWING_AES256GCM_SHA512_Ed25519' satisfies CiphersuiteName
/** For deployments that require IANA-registered suites: 0x0007, P-384 + AES-256-GCM + SHA-384. */
export const IANA_P384_SUITE = 'MLS_256_DHKEMP384_AES256GCM_SHA384_P384' satisfies CiphersuiteName

/** The suites a Tacit deployment may pick. */
export const TACIT_SUITES = [DEFAULT_SUITE, IANA_P384_SUITE] as const
export type TacitSuiteName = (typeof TACIT_SUITES)[number]

export interface CipherSuite {
  readonly name: CiphersuiteName
  /** The wire value (RFC 9420 §17.1; the X-Wing value is not IANA-assigned, see docs/decisions/0001). */
  readonly id: number
  readonly impl: CiphersuiteImpl
  readonly backend: CryptoBackend
}

const ours = new WeakSet<CiphersuiteImpl>()
const cache = new WeakMap<CryptoBackend, Map<CiphersuiteName, Promise<CipherSuite>>>()

export function isTacitCiphersuite(impl: CiphersuiteImpl): boolean {
  return ours.has(impl)
}

export function suiteNameOf(id: number): CiphersuiteName {
  for (const [name, value] of Object.entries(ciphersuites)) if (value === id) return name as CiphersuiteName
  throw new ProtocolError('unsupported-suite', `unknown cipher suite ${id}`)
}

async function build(backend: CryptoBackend, name: CiphersuiteName): Promise<CipherSuite> {
  const id = ciphersuites[name]
  let impl: CiphersuiteImpl
  try {
    // Our suite crypto is structurally ts-mls's CiphersuiteImpl; HPKE key handles are opaque
    // objects of ours where the library's types say CryptoKey, hence the cast at this one place.
    impl = (await createMlsSuiteCrypto(backend, id)) as unknown as CiphersuiteImpl
  } catch (cause) {
    throw new ProtocolError('unsupported-suite', `${name} is not available on the ${backend.name} backend`, {
      cause,
    })
  }
  if (impl.name !== name) throw new ProtocolError('internal', `provider returned ${impl.name} for ${name}`)
  ours.add(impl)
  return Object.freeze({ name, id, impl, backend })
}

/** Any RFC 9420 suite the backend offers (the conformance tests use all of 1–7). */
export function getCipherSuite(
  backend: CryptoBackend,
  suite: CiphersuiteName | number,
): Promise<CipherSuite> {
  const name = typeof suite === 'number' ? suiteNameOf(suite) : suite
  let perBackend = cache.get(backend)
  if (!perBackend) {
    perBackend = new Map()
    cache.set(backend, perBackend)
  }
  let pending = perBackend.get(name)
  if (!pending) {
    pending = build(backend, name)
    pending.catch(() => perBackend.delete(name))
    perBackend.set(name, pending)
  }
  return pending
}

/** A ts-mls `CryptoProvider` backed by our crypto package (never the library's default). */
export function tacitCryptoProvider(backend: CryptoBackend): CryptoProvider {
  return {
    async getCiphersuiteImpl(cs: Ciphersuite): Promise<CiphersuiteImpl> {
      return (await getCipherSuite(backend, cs.name)).impl
    },
  }
}
