// RFC 9420 §5: RefHash, ExpandWithLabel, DeriveSecret, DeriveTreeSecret, SignWithLabel,
// EncryptWithLabel.
import assert from 'node:assert/strict'
import { refhash } from 'ts-mls/crypto/hash.js'
import { decryptWithLabel, encryptWithLabel } from 'ts-mls/crypto/hpke.js'
import { deriveSecret, deriveTreeSecret, expandWithLabel } from 'ts-mls/crypto/kdf.js'
import { signWithLabel, verifyWithLabel } from 'ts-mls/crypto/signature.js'
import { assertBytes, fromHex } from '../harness.ts'
import { loadSuite } from '../suite-source.ts'

interface CryptoBasicsVector {
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

/** EdDSA (RFC 8032) is deterministic, so for these suites the signature itself must match too. */
const EDDSA_SUITES = new Set([1, 3, 4, 6])

export async function runCryptoBasics(v: CryptoBasicsVector): Promise<void> {
  const cs = await loadSuite(v.cipher_suite)

  const rh = v.ref_hash
  assertBytes(await refhash(rh.label, fromHex(rh.value), cs.hash), rh.out, 'ref_hash.out')

  const ewl = v.expand_with_label
  assertBytes(
    await expandWithLabel(fromHex(ewl.secret), ewl.label, fromHex(ewl.context), ewl.length, cs.kdf),
    ewl.out,
    'expand_with_label.out',
  )

  const ds = v.derive_secret
  assertBytes(await deriveSecret(fromHex(ds.secret), ds.label, cs.kdf), ds.out, 'derive_secret.out')

  const dts = v.derive_tree_secret
  assertBytes(
    await deriveTreeSecret(fromHex(dts.secret), dts.label, dts.generation, dts.length, cs.kdf),
    dts.out,
    'derive_tree_secret.out',
  )

  const swl = v.sign_with_label
  const pub = fromHex(swl.pub)
  const content = fromHex(swl.content)
  assert.equal(
    await verifyWithLabel(pub, swl.label, content, fromHex(swl.signature), cs.signature),
    true,
    'sign_with_label: the vector signature verifies',
  )
  const ours = await signWithLabel(fromHex(swl.priv), swl.label, content, cs.signature)
  assert.equal(
    await verifyWithLabel(pub, swl.label, content, ours, cs.signature),
    true,
    'sign_with_label: our signature verifies',
  )
  if (EDDSA_SUITES.has(v.cipher_suite)) assertBytes(ours, swl.signature, 'sign_with_label.signature (EdDSA)')
  const tampered = Uint8Array.from(content)
  tampered[0] = (tampered[0] ?? 0) ^ 1
  assert.equal(
    await verifyWithLabel(pub, swl.label, tampered, ours, cs.signature),
    false,
    'sign_with_label: a changed content does not verify',
  )

  const e = v.encrypt_with_label
  const priv = await cs.hpke.importPrivateKey(fromHex(e.priv))
  const context = fromHex(e.context)
  assertBytes(
    await decryptWithLabel(priv, e.label, context, fromHex(e.kem_output), fromHex(e.ciphertext), cs.hpke),
    e.plaintext,
    'encrypt_with_label: the vector ciphertext decrypts to plaintext',
  )
  const sealed = await encryptWithLabel(
    await cs.hpke.importPublicKey(fromHex(e.pub)),
    e.label,
    context,
    fromHex(e.plaintext),
    cs.hpke,
  )
  assertBytes(
    await decryptWithLabel(priv, e.label, context, sealed.enc, sealed.ct, cs.hpke),
    e.plaintext,
    'encrypt_with_label: our ciphertext decrypts to plaintext',
  )
}
