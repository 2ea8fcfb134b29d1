import { bytesToHex, hexToBytes } from '@tacit/crypto/bytes'
import {
  type CaseGroup,
  check,
  checkBytes,
  checkEqual,
  type TestEnv,
} from '../../../../tests/harness/cases.ts'
import { CallsError } from '../../src/errors.ts'
import {
  decodeSFrameHeader,
  deriveSFrameKeyMaterial,
  encodeSFrameHeader,
  importSFrameAeadKey,
  SFrameContext,
  type SFrameSuiteId,
  sframeKeyLabel,
  sframeNonce,
  sframeSaltLabel,
  sframeSuite,
} from '../../src/sframe.ts'

/**
 * The RFC 9605 test vectors (`sframe/rfc9605-era/test-vectors.json`, sframe-wg/sframe commit
 * 025d568, the one RFC 9605 cites as [TestVectors]). The file holds three lists:
 * - `header`: 289 (kid, ctr, encoded) triples for §4.3, KID and CTR up to 2^64-1;
 * - `aes_ctr_hmac`: 3 vectors of the §4.5.1 compound AEAD (suites 1..3) with key, nonce, aad, pt, ct;
 * - `sframe`: 5 end-to-end vectors (suites 1..5): base_key → labels, secret, key, salt (§4.4.2),
 *   nonce, aad = header ‖ metadata, and the full SFrame ciphertext (§4.4.3).
 * Every vector runs; the counts are printed and asserted against the file's own list lengths and
 * against the numbers known for this file, so a changed file or a skipped vector fails.
 */

const VECTOR_FILE = 'sframe/rfc9605-era/test-vectors.json'
export const EXPECTED_VECTOR_COUNTS = { header: 289, aesCtrHmac: 3, sframe: 5 } as const

interface HeaderVector {
  readonly kid: bigint
  readonly ctr: bigint
  readonly encoded: string
}

type Hex = string
interface AesCtrHmacVector {
  readonly cipher_suite: number
  readonly key: Hex
  readonly enc_key: Hex
  readonly auth_key: Hex
  readonly nonce: Hex
  readonly aad: Hex
  readonly pt: Hex
  readonly ct: Hex
}

interface SFrameVector {
  readonly cipher_suite: number
  readonly kid: bigint
  readonly ctr: bigint
  readonly base_key: Hex
  readonly sframe_key_label: Hex
  readonly sframe_salt_label: Hex
  readonly sframe_secret: Hex
  readonly sframe_key: Hex
  readonly sframe_salt: Hex
  readonly metadata: Hex
  readonly nonce: Hex
  readonly aad: Hex
  readonly pt: Hex
  readonly ct: Hex
}

interface VectorFile {
  readonly header: HeaderVector[]
  readonly aes_ctr_hmac: AesCtrHmacVector[]
  readonly sframe: SFrameVector[]
}

/**
 * KID and CTR go up to 2^64-1, beyond exact JS numbers: their digits are quoted before JSON.parse
 * and read as bigints, so no value is rounded.
 */
async function readVectors(env: TestEnv): Promise<VectorFile> {
  const text = await env.readVector(VECTOR_FILE)
  const quoted = text.replace(/"(kid|ctr)"\s*:\s*(\d+)/g, '"$1":"$2"')
  const raw = JSON.parse(quoted) as Record<string, Array<Record<string, unknown>>>
  const big = (records: Array<Record<string, unknown>> | undefined) =>
    (records ?? []).map((r) => ({
      ...r,
      ...(typeof r.kid === 'string' ? { kid: BigInt(r.kid) } : {}),
      ...(typeof r.ctr === 'string' ? { ctr: BigInt(r.ctr) } : {}),
    }))
  return {
    header: big(raw.header) as unknown as HeaderVector[],
    aes_ctr_hmac: (raw.aes_ctr_hmac ?? []) as unknown as AesCtrHmacVector[],
    sframe: big(raw.sframe) as unknown as SFrameVector[],
  }
}

const h = hexToBytes

async function runHeaderVectors(env: TestEnv): Promise<void> {
  const { header } = await readVectors(env)
  let passed = 0
  for (const v of header) {
    const where = `header kid=${v.kid} ctr=${v.ctr}`
    checkEqual(bytesToHex(encodeSFrameHeader(v.kid, v.ctr)), v.encoded, `${where}: encoding`)
    const decoded = decodeSFrameHeader(h(v.encoded))
    check(decoded.kid === v.kid && decoded.ctr === v.ctr, `${where}: decoding`)
    checkEqual(decoded.length, v.encoded.length / 2, `${where}: decoded length`)
    // Trailing ciphertext bytes do not change the parse.
    const longer = decodeSFrameHeader(new Uint8Array([...h(v.encoded), 0xff, 0x00]))
    check(
      longer.kid === v.kid && longer.ctr === v.ctr && longer.length === decoded.length,
      `${where}: prefix`,
    )
    passed++
  }
  env.log(`sframe header vectors: ${passed} of ${header.length} passed`)
  checkEqual(passed, header.length, 'every header vector ran')
  checkEqual(header.length, EXPECTED_VECTOR_COUNTS.header, 'header vectors in the file')
}

async function runAesCtrHmacVectors(env: TestEnv): Promise<void> {
  const { aes_ctr_hmac: vectors } = await readVectors(env)
  let passed = 0
  for (const v of vectors) {
    const suiteId = v.cipher_suite as SFrameSuiteId
    const suite = sframeSuite(suiteId)
    const where = `aes_ctr_hmac suite ${suiteId}`
    checkEqual(suite.aead, 'AES-CTR-HMAC', `${where}: suite kind`)
    // §4.5.1 derive_subkeys is a split of the key: check the file agrees with that reading.
    checkBytes(h(v.key).subarray(0, suite.nka), h(v.enc_key), `${where}: enc_key`)
    checkBytes(h(v.key).subarray(suite.nka), h(v.auth_key), `${where}: auth_key`)
    const aead = await importSFrameAeadKey(suiteId, h(v.key))
    checkBytes(await aead.seal(h(v.nonce), h(v.aad), h(v.pt)), h(v.ct), `${where}: seal`)
    checkBytes(await aead.open(h(v.nonce), h(v.aad), h(v.ct)), h(v.pt), `${where}: open`)
    // A flipped tag bit and a different AAD must both fail to open.
    const tampered = h(v.ct)
    tampered[tampered.length - 1]! ^= 0x01
    let rejected = 0
    for (const [ct, aad] of [
      [tampered, h(v.aad)],
      [h(v.ct), new Uint8Array([...h(v.aad), 0])],
    ] as const) {
      try {
        await aead.open(h(v.nonce), aad, ct)
      } catch (error) {
        if (CallsError.is(error, 'auth-failed')) rejected++
      }
    }
    checkEqual(rejected, 2, `${where}: tampering rejected`)
    passed++
  }
  env.log(`sframe aes_ctr_hmac vectors: ${passed} of ${vectors.length} passed`)
  checkEqual(passed, vectors.length, 'every aes_ctr_hmac vector ran')
  checkEqual(vectors.length, EXPECTED_VECTOR_COUNTS.aesCtrHmac, 'aes_ctr_hmac vectors in the file')
}

async function runSFrameVectors(env: TestEnv): Promise<void> {
  const { sframe: vectors } = await readVectors(env)
  let passed = 0
  const suites = new Set<number>()
  for (const v of vectors) {
    const suiteId = v.cipher_suite as SFrameSuiteId
    const where = `sframe suite ${suiteId}`
    checkBytes(sframeKeyLabel(v.kid, suiteId), h(v.sframe_key_label), `${where}: key label`)
    checkBytes(sframeSaltLabel(v.kid, suiteId), h(v.sframe_salt_label), `${where}: salt label`)
    const material = await deriveSFrameKeyMaterial(suiteId, v.kid, h(v.base_key))
    checkBytes(material.secret, h(v.sframe_secret), `${where}: sframe_secret`)
    checkBytes(material.key, h(v.sframe_key), `${where}: sframe_key`)
    checkBytes(material.salt, h(v.sframe_salt), `${where}: sframe_salt`)
    checkBytes(sframeNonce(material.salt, v.ctr), h(v.nonce), `${where}: nonce`)
    const header = encodeSFrameHeader(v.kid, v.ctr)
    checkBytes(new Uint8Array([...header, ...h(v.metadata)]), h(v.aad), `${where}: aad`)

    // §4.4.3 encrypt: header ‖ AEAD.Encrypt(sframe_key, nonce, header ‖ metadata, pt).
    const aead = await importSFrameAeadKey(suiteId, material.key)
    const sealed = await aead.seal(sframeNonce(material.salt, v.ctr), h(v.aad), h(v.pt))
    checkBytes(new Uint8Array([...header, ...sealed]), h(v.ct), `${where}: ciphertext`)

    const receiver = new SFrameContext(suiteId)
    await receiver.addReceiveKey(v.kid, h(v.base_key))
    const opened = await receiver.decrypt(h(v.ct), h(v.metadata))
    check(opened.kind === 'plaintext', `${where}: decrypts`)
    checkBytes(opened.plaintext, h(v.pt), `${where}: plaintext`)
    check(opened.kid === v.kid && opened.ctr === v.ctr, `${where}: kid and ctr`)
    const again = await receiver.decrypt(h(v.ct), h(v.metadata))
    check(
      again.kind === 'replay' && again.reason === 'duplicate',
      `${where}: the same frame twice is a replay`,
    )
    suites.add(suiteId)
    passed++
  }
  env.log(
    `sframe end-to-end vectors: ${passed} of ${vectors.length} passed (suites ${[...suites].join(', ')})`,
  )
  checkEqual(passed, vectors.length, 'every sframe vector ran')
  checkEqual(vectors.length, EXPECTED_VECTOR_COUNTS.sframe, 'sframe vectors in the file')
  checkEqual(suites.size, 5, 'all five RFC 9605 suites covered')
}

export function sframeVectorCaseGroups(): CaseGroup[] {
  return [
    {
      name: 'RFC 9605 vectors',
      cases: [
        { name: `header encoding (${EXPECTED_VECTOR_COUNTS.header} vectors)`, run: runHeaderVectors },
        {
          name: `AES-CTR + HMAC AEAD (${EXPECTED_VECTOR_COUNTS.aesCtrHmac} vectors)`,
          run: runAesCtrHmacVectors,
        },
        {
          name: `key derivation and encryption (${EXPECTED_VECTOR_COUNTS.sframe} vectors)`,
          run: runSFrameVectors,
        },
      ],
    },
  ]
}
