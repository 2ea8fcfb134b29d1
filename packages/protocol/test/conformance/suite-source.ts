/**
 * Where every conformance case gets its cipher suite: ts-mls's `getCiphersuiteImpl` asked through
 * Tacit's CryptoProvider (`tacitCryptoProvider`, packages/protocol/src/cipher-suite.ts) on the
 * Node backend, never the library's default provider. Checked rather than assumed:
 * - `loadSuite` refuses any suite that the protocol package does not recognise as its own
 *   (`isTacitCiphersuite`) or that this module did not obtain (`assertOurSuite`); the provider
 *   test shows that a ts-mls default suite is refused;
 * - the backend is wrapped in a call counter, so a runner can show that a case's crypto really
 *   reached node:crypto through our backend (`backendCalls`).
 */
import type { CryptoBackend } from '@tacit/crypto/backend'
import { nodeBackend } from '@tacit/crypto/node/backend'
import type { CiphersuiteId, CiphersuiteImpl } from 'ts-mls/crypto/ciphersuite.js'
import { getCiphersuiteFromId } from 'ts-mls/crypto/ciphersuite.js'
import { getCiphersuiteImpl } from 'ts-mls/crypto/getCiphersuiteImpl.js'
import { isTacitCiphersuite, tacitCryptoProvider } from '../../src/cipher-suite.ts'

let calls = 0

/** Number of calls made into the backend by any suite of this module so far. */
export function backendCalls(): number {
  return calls
}

function countOps<T extends object>(ops: T): T {
  const counted: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(ops)) {
    counted[key] =
      typeof value === 'function'
        ? (...args: unknown[]) => {
            calls++
            return (value as (...a: unknown[]) => unknown).apply(ops, args)
          }
        : value
  }
  return counted as T
}

function countCalls(backend: CryptoBackend): CryptoBackend {
  return {
    ...backend,
    randomBytes(length: number) {
      calls++
      return backend.randomBytes(length)
    },
    hash: countOps(backend.hash),
    aead: countOps(backend.aead),
    signature: countOps(backend.signature),
    dh: countOps(backend.dh),
  }
}

export const conformanceBackend: CryptoBackend = countCalls(nodeBackend)

const provider = tacitCryptoProvider(conformanceBackend)
const ours = new WeakSet<object>()
const cache = new Map<number, Promise<CiphersuiteImpl>>()

/** Throws unless `impl` was built by the Tacit provider (and obtained here). */
export function assertOurSuite(impl: CiphersuiteImpl): void {
  if (!ours.has(impl) || !isTacitCiphersuite(impl)) {
    throw new Error('this CiphersuiteImpl was not built by the Tacit provider (library default?)')
  }
}

async function buildSuite(id: number): Promise<CiphersuiteImpl> {
  // The library's own entry point, given our provider: what ts-mls does whenever it needs a suite.
  const impl = await getCiphersuiteImpl(getCiphersuiteFromId(id as CiphersuiteId), provider)
  ours.add(impl)
  return impl
}

export async function loadSuite(id: number): Promise<CiphersuiteImpl> {
  let pending = cache.get(id)
  if (pending === undefined) {
    pending = buildSuite(id)
    cache.set(id, pending)
  }
  const impl = await pending
  assertOurSuite(impl)
  return impl
}
