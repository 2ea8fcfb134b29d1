/**
 * Where every conformance case gets its cipher suite: Tacit's own provider on the Node backend,
 * never ts-mls's default provider. Two things make that checkable rather than assumed:
 * - every suite handed out is recorded, and `loadSuite` refuses to return anything else
 *   (`assertOurSuite`); the provider test shows that a ts-mls default suite is refused;
 * - the backend is wrapped in a call counter, so a runner can show that a case's crypto really
 *   reached node:crypto through our backend (`backendCalls`).
 */
import type { CryptoBackend } from '@tacit/crypto/backend'
import { createMlsSuiteCrypto } from '@tacit/crypto/mls-suite'
import { nodeBackend } from '@tacit/crypto/node/backend'
import type { CiphersuiteImpl } from 'ts-mls/crypto/ciphersuite.js'

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

const ours = new WeakSet<object>()
const cache = new Map<number, CiphersuiteImpl>()

/** Throws unless `impl` was built by Tacit's provider in this module. */
export function assertOurSuite(impl: object): void {
  if (!ours.has(impl)) {
    throw new Error('this CiphersuiteImpl was not built by the Tacit provider (library default?)')
  }
}

function buildSuite(id: number): CiphersuiteImpl {
  // MlsSuiteCrypto is declared structurally identical to ts-mls's CiphersuiteImpl (see
  // packages/crypto/src/mls-suite.ts); its HPKE key handles are CryptoKey-shaped objects.
  return createMlsSuiteCrypto(conformanceBackend, id) as unknown as CiphersuiteImpl
}

export async function loadSuite(id: number): Promise<CiphersuiteImpl> {
  let impl = cache.get(id)
  if (impl === undefined) {
    impl = buildSuite(id)
    ours.add(impl)
    cache.set(id, impl)
  }
  assertOurSuite(impl)
  return impl
}
