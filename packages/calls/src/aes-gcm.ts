import { GHASH } from '@noble/ciphers/_polyval.js'
import { unsafe } from '@noble/ciphers/aes.js'
import { equalBytes } from '@noble/ciphers/utils.js'

/**
 * AES-GCM (NIST SP 800-38D, 96-bit nonces, 128-bit tags) that runs synchronously in the calling
 * thread, with the key schedule and GHASH table prepared once per key.
 *
 * Why: a call encrypts or decrypts about 140 frames a second, most of them 160-byte audio frames.
 * WebCrypto's AES-GCM is fast per byte, but in Chromium every call hops to a crypto thread and
 * back (two thread wake-ups and a promise), and that fixed cost dominated the call's E2EE CPU
 * (docs/benchmarks.md "## Calls"). @noble/ciphers' own `gcm()` is synchronous but expands the
 * key and rebuilds its GHASH table on every message, which costs more than a small frame's
 * encryption. This module keeps both per key and reuses noble's primitives unchanged: the AES
 * block function and counter mode (`unsafe.ctr32`, as noble's gcm calls it) and noble's GHASH;
 * only the composition, identical to noble's `gcm`, lives here. Timing behaviour is that of
 * @noble/ciphers (table-based AES and GHASH in JavaScript; the tag check is constant-time).
 */

const BLOCK = 16
const TAG_BYTES = 16
const NONCE_BYTES = 12
/** A window of 8 bits: noble's largest GHASH table (16 lookups per block), built once per key. */
const GHASH_TABLE_HINT = 64 * 1024 + 1

/** noble's GHASH with a reset, so one key's precomputed table serves every message. */
class ReusableGhash extends GHASH {
  reset(): this {
    this.s0 = 0
    this.s1 = 0
    this.s2 = 0
    this.s3 = 0
    this.finished = false
    return this
  }
}

export class AesGcmKey {
  readonly #xk: Uint32Array
  readonly #ghash: ReusableGhash
  readonly #lengths = new Uint8Array(BLOCK)
  readonly #lengthView = new DataView(this.#lengths.buffer)
  readonly #tag = new Uint8Array(TAG_BYTES)

  /** `key` is 16 or 32 bytes (AES-128 or AES-256). */
  constructor(key: Uint8Array) {
    this.#xk = unsafe.expandKeyLE(key)
    // H = E(K, 0^128), the GHASH key.
    const h = unsafe.encryptBlock(this.#xk, new Uint8Array(BLOCK))
    this.#ghash = new ReusableGhash(h, GHASH_TABLE_HINT)
    h.fill(0)
  }

  /** J0 = nonce ‖ 0^31 ‖ 1 (96-bit nonce); returns the counter block and E(K, J0), the tag mask. */
  #start(nonce: Uint8Array): { counter: Uint8Array; mask: Uint8Array } {
    if (nonce.length !== NONCE_BYTES) throw new Error('AES-GCM nonces here are 12 bytes')
    const counter = new Uint8Array(BLOCK)
    counter.set(nonce)
    counter[15] = 1
    // ctr32 encrypts the counter block and advances it: the mask is E(J0), counter is now J0 + 1.
    const mask = unsafe.ctr32(this.#xk, false, counter, new Uint8Array(BLOCK))
    return { counter, mask }
  }

  /** tag = GHASH(H, aad, ciphertext) XOR mask, into this.#tag. */
  #computeTag(aad: Uint8Array, ciphertext: Uint8Array, mask: Uint8Array): Uint8Array {
    const lengths = this.#lengthView
    const aadBits = aad.length * 8
    const ctBits = ciphertext.length * 8
    lengths.setUint32(0, Math.floor(aadBits / 2 ** 32))
    lengths.setUint32(4, aadBits >>> 0)
    lengths.setUint32(8, Math.floor(ctBits / 2 ** 32))
    lengths.setUint32(12, ctBits >>> 0)
    const ghash = this.#ghash.reset()
    ghash.update(aad).update(ciphertext).update(this.#lengths).digestInto(this.#tag)
    const tag = this.#tag
    for (let i = 0; i < TAG_BYTES; i++) tag[i] = tag[i]! ^ mask[i]!
    return tag
  }

  /**
   * Encrypts `plaintext` and writes ciphertext ‖ tag to `out` at `offset` (plaintext.length + 16
   * bytes). `out` may be any buffer: the counter mode runs on an aligned copy.
   */
  sealInto(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, out: Uint8Array, offset: number): void {
    const { counter, mask } = this.#start(nonce)
    const ciphertext = plaintext.slice()
    if (ciphertext.length > 0) unsafe.ctr32(this.#xk, false, counter, ciphertext, ciphertext)
    const tag = this.#computeTag(aad, ciphertext, mask)
    out.set(ciphertext, offset)
    out.set(tag, offset + ciphertext.length)
  }

  seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    const out = new Uint8Array(plaintext.length + TAG_BYTES)
    this.sealInto(nonce, aad, plaintext, out, 0)
    return out
  }

  /** Decrypts ciphertext ‖ tag; undefined when it is shorter than a tag or does not authenticate. */
  open(nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined {
    if (sealed.length < TAG_BYTES) return undefined
    const { counter, mask } = this.#start(nonce)
    const ciphertext = sealed.subarray(0, sealed.length - TAG_BYTES)
    const tag = this.#computeTag(aad, ciphertext, mask)
    if (!equalBytes(tag, sealed.subarray(sealed.length - TAG_BYTES))) return undefined
    const plaintext = ciphertext.slice()
    if (plaintext.length > 0) unsafe.ctr32(this.#xk, false, counter, plaintext, plaintext)
    return plaintext
  }
}
