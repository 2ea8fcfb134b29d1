// The conformance inventory (16 files, 785 cases) and the proof that the cases run through
// Tacit's provider: suites come only from suite-source.ts, and the library's default is refused.
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { test } from 'node:test'
import type { CiphersuiteId } from 'ts-mls/crypto/ciphersuite.js'
import { getCiphersuiteFromId, getCiphersuiteNameFromId } from 'ts-mls/crypto/ciphersuite.js'
import { getCiphersuiteImpl } from 'ts-mls/crypto/getCiphersuiteImpl.js'
import { isTacitCiphersuite } from '../../src/cipher-suite.ts'
import {
  EXCLUDED_CASES,
  KNOWN_PROVIDER_FAILURES,
  loadVectorFile,
  TOTAL_VECTOR_CASES,
  VECTOR_DIR,
  VECTOR_FILES,
  type VectorFileName,
} from './harness.ts'
import { assertOurSuite, backendCalls, loadSuite } from './suite-source.ts'

const SUITES_IN_VECTORS = [1, 2, 3, 4, 5, 6, 7]
/** Written down, bug by bug, in docs/decisions/0003-mls-conformance.md. */
const EXPECTED_KNOWN_FAILURES = 0
const EXPECTED_EXCLUSIONS = 0

test('the vector folder holds exactly the 16 files, 785 cases in all', () => {
  const files = readdirSync(VECTOR_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort()
  assert.deepEqual(files, Object.keys(VECTOR_FILES).sort())
  let total = 0
  for (const name of Object.keys(VECTOR_FILES) as VectorFileName[]) {
    const cases = loadVectorFile(name).length
    assert.equal(cases, VECTOR_FILES[name], `${name}.json case count`)
    total += cases
  }
  assert.equal(total, TOTAL_VECTOR_CASES)
  const excluded = Object.values(EXCLUDED_CASES).reduce((n, list) => n + list.length, 0)
  const known = Object.values(KNOWN_PROVIDER_FAILURES).reduce((n, list) => n + (list?.length ?? 0), 0)
  console.log(
    `mls-conformance total: ${total} cases in ${files.length} files; ${excluded} excluded; ` +
      `${known} run as known provider failures; ${total - excluded - known} must pass`,
  )
  assert.equal(excluded, EXPECTED_EXCLUSIONS)
  assert.equal(known, EXPECTED_KNOWN_FAILURES)
})

test('every suite in the vectors comes from the Tacit provider', async () => {
  for (const id of SUITES_IN_VECTORS) {
    const impl = await loadSuite(id)
    assert.doesNotThrow(() => assertOurSuite(impl))
    assert.equal(isTacitCiphersuite(impl), true, `suite ${id} is recognised by the protocol package`)
    assert.equal(impl.name, getCiphersuiteNameFromId(id as CiphersuiteId), `suite ${id} name`)
    const before = backendCalls()
    await impl.hash.digest(new Uint8Array([1, 2, 3]))
    assert.ok(backendCalls() > before, `suite ${id} hashes through the Tacit backend`)
  }
})

test("a suite from ts-mls's default provider is refused", async () => {
  const libraryDefault = await getCiphersuiteImpl(getCiphersuiteFromId(1))
  assert.throws(() => assertOurSuite(libraryDefault), /not built by the Tacit provider/)
  // A copy has the same functions but is not the object the provider built.
  const copy = { ...(await loadSuite(1)) }
  assert.throws(() => assertOurSuite(copy), /not built by the Tacit provider/)
  assert.equal(isTacitCiphersuite(libraryDefault), false)
})
