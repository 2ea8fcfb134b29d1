import { type CaseGroup, check, checkBytes, checkEqual } from '../../../../tests/harness/cases.ts'
import type { CryptoBackend } from '../../src/backend.ts'
import { concatBytes, hexToBytes, utf8 } from '../../src/bytes.ts'
import { CryptoError } from '../../src/errors.ts'
import { createMlsSuiteCrypto, type MlsSuiteCrypto } from '../../src/mls-suite.ts'

/**
 * RFC 9420 `crypto-basics.json` (suites 1–7) through `createMlsSuiteCrypto`. The labelled
 * wrappers (RFC 9420 §5.1.2, §5.1.3, §5.2, §8) are re-implemented here in the test only: the
 * real ones live in ts-mls, which this package must not import.
 */

interface Entry {
  cipher_suite: number
  ref_hash: { label: string; value: string; out: string }
  expand_with_label: { secret: string; label: string; context: string; length: number; out: string }
  derive_secret: { secret: string; label: string; out: string }
  derive_tree_secret: { secret: string; label: string; generation: number; length: number; out: string }
  sign_with_label: { priv: string; pub: string; content: string; label: string; signature: string }
  encrypt_with_label: {
    priv: string
    pub: string
    label: string
    context: string
    plaintext: string
    kem_output: string
    ciphertext: string
  }
}

/** RFC 9420 §2.1.2 variable-length vector: a QUIC-style varint length, then the bytes. */
function vec(bytes: Uint8Array): Uint8Array {
  const n = bytes.length
  let prefix: Uint8Array
  if (n < 0x40) prefix = Uint8Array.of(n)
  else if (n < 0x4000) prefix = Uint8Array.of(0x40 | (n >> 8), n & 0xff)
  else prefix = Uint8Array.of(0x80 | (n >>> 24), (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff)
  return concatBytes(prefix, bytes)
}

const mlsLabel = (label: string) => utf8.encode(`MLS 1.0 ${label}`)

function uint16(n: number): Uint8Array {
  return Uint8Array.of(n >> 8, n & 0xff)
}

function uint32(n: number): Uint8Array {
  return Uint8Array.of(n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff)
}

/** RFC 9420 §8: ExpandWithLabel. */
function expandWithLabel(
  cs: MlsSuiteCrypto,
  secret: Uint8Array,
  label: string,
  context: Uint8Array,
  length: number,
) {
  return cs.kdf.expand(secret, concatBytes(uint16(length), vec(mlsLabel(label)), vec(context)), length)
}

async function runEntry(cs: MlsSuiteCrypto, e: Entry): Promise<void> {
  const h = hexToBytes
  // RFC 9420 §5.2 RefHash.
  const refInput = concatBytes(vec(utf8.encode(e.ref_hash.label)), vec(h(e.ref_hash.value)))
  checkBytes(await cs.hash.digest(refInput), h(e.ref_hash.out), 'ref_hash')

  const x = e.expand_with_label
  checkBytes(
    await expandWithLabel(cs, h(x.secret), x.label, h(x.context), x.length),
    h(x.out),
    'expand_with_label',
  )

  const d = e.derive_secret
  checkBytes(
    await expandWithLabel(cs, h(d.secret), d.label, new Uint8Array(), cs.kdf.size),
    h(d.out),
    'derive_secret',
  )

  const t = e.derive_tree_secret
  checkBytes(
    await expandWithLabel(cs, h(t.secret), t.label, uint32(t.generation), t.length),
    h(t.out),
    'derive_tree_secret',
  )

  // RFC 9420 §5.1.2 SignWithLabel / VerifyWithLabel.
  const s = e.sign_with_label
  const signContent = concatBytes(vec(mlsLabel(s.label)), vec(h(s.content)))
  check(await cs.signature.verify(h(s.pub), signContent, h(s.signature)), 'vector signature verifies')
  const ours = await cs.signature.sign(h(s.priv), signContent)
  check(await cs.signature.verify(h(s.pub), signContent, ours), 'our signature verifies')
  const tampered = signContent.slice()
  tampered[tampered.length - 1]! ^= 1
  check(!(await cs.signature.verify(h(s.pub), tampered, ours)), 'signature over other content fails')

  // RFC 9420 §5.1.3 EncryptWithLabel / DecryptWithLabel.
  const c = e.encrypt_with_label
  const info = concatBytes(vec(mlsLabel(c.label)), vec(h(c.context)))
  const priv = await cs.hpke.importPrivateKey(h(c.priv))
  const pub = await cs.hpke.importPublicKey(h(c.pub))
  checkBytes(await cs.hpke.exportPublicKey(pub), h(c.pub), 'public key round trip')
  checkBytes(
    await cs.hpke.open(priv, h(c.kem_output), h(c.ciphertext), info),
    h(c.plaintext),
    'decrypt_with_label',
  )
  const sealed = await cs.hpke.seal(pub, h(c.plaintext), info)
  checkBytes(await cs.hpke.open(priv, sealed.enc, sealed.ct, info), h(c.plaintext), 'encrypt then decrypt')
}

export function mlsCryptoBasicsCases(backend: CryptoBackend): CaseGroup {
  return {
    name: `MLS crypto-basics through createMlsSuiteCrypto (${backend.name})`,
    cases: [
      {
        name: 'crypto-basics.json: ref_hash, expand/derive, sign/verify and encrypt/decrypt with label, suites 1-7',
        run: async (env) => {
          const entries = JSON.parse(await env.readVector('mls/test-vectors/crypto-basics.json')) as Entry[]
          checkEqual(entries.length, 7, 'entries')
          let ran = 0
          let unsupported = 0
          for (const e of entries) {
            let cs: MlsSuiteCrypto
            try {
              cs = createMlsSuiteCrypto(backend, e.cipher_suite)
            } catch (error) {
              check(
                CryptoError.is(error, 'unsupported-algorithm'),
                `suite ${e.cipher_suite}: ${String(error)}`,
              )
              unsupported++
              continue
            }
            try {
              await runEntry(cs, e)
            } catch (error) {
              throw new Error(
                `suite ${e.cipher_suite}: ${error instanceof Error ? error.message : String(error)}`,
              )
            }
            ran++
          }
          env.log(
            `crypto-basics.json: ran ${ran} suites; unsupported by ${backend.name}: ${unsupported} (asserted)`,
          )
          checkEqual(ran + unsupported, 7, 'suites accounted for')
          if (backend.name === 'node') checkEqual(ran, 7, 'the Node backend runs every suite')
        },
      },
    ],
  }
}
