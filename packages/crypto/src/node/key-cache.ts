import type { KeyObject } from 'node:crypto'

/**
 * A small LRU of imported `KeyObject`s keyed by algorithm and key bytes. Importing a key into
 * OpenSSL (DER parse, point decompression/validation, public-key derivation for a private key)
 * costs more than an Ed25519 signature itself; MLS signs with one long-lived key and verifies
 * against the same few member keys again and again, so the hit rate is high.
 *
 * Keyed by content, not by the Uint8Array object: a client that reloads its MLS state from the
 * encrypted store gets fresh arrays for the same key, and a WeakMap would miss every time.
 * The map keys hold key bytes (as latin1 strings) for as long as the KeyObject they name is
 * held — no longer than the KeyObject itself, which carries the same secret.
 */
export class KeyObjectCache {
  readonly #entries = new Map<string, KeyObject>()
  /**
   * The id last computed for an array object, so that the same array (the signing key held in
   * the MLS state, a member's public key in the ratchet tree) is not turned into a string again
   * on every call. The id is trusted only while the array still holds the same bytes.
   */
  #ids = new WeakMap<Uint8Array, { readonly tag: string; readonly id: string }>()
  readonly #max: number

  constructor(max: number) {
    this.#max = max
  }

  get size(): number {
    return this.#entries.size
  }

  /** Returns the cached KeyObject for (tag, bytes), importing it with `load` on a miss. */
  get(tag: string, bytes: Uint8Array, load: () => KeyObject): KeyObject {
    const id = this.#idOf(tag, bytes)
    const hit = this.#entries.get(id)
    if (hit !== undefined) {
      // Re-insert to mark as most recently used (Map keeps insertion order).
      this.#entries.delete(id)
      this.#entries.set(id, hit)
      return hit
    }
    const key = load()
    if (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next()
      if (!oldest.done) this.#entries.delete(oldest.value)
    }
    this.#entries.set(id, key)
    return key
  }

  clear(): void {
    this.#entries.clear()
    this.#ids = new WeakMap()
  }

  #idOf(tag: string, bytes: Uint8Array): string {
    const known = this.#ids.get(bytes)
    if (known !== undefined && known.tag === tag && idHolds(known.id, tag.length + 1, bytes)) return known.id
    const id = tag + ':' + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')
    this.#ids.set(bytes, { tag, id })
    return id
  }
}

/**
 * Whether `id` (from `offset` on) still spells `bytes` in latin1: the array may have been
 * overwritten since. Time depends only on the length (the bytes can be a private key).
 */
function idHolds(id: string, offset: number, bytes: Uint8Array): boolean {
  if (id.length - offset !== bytes.length) return false
  let diff = 0
  for (let i = 0; i < bytes.length; i++) diff |= id.charCodeAt(offset + i) ^ bytes[i]!
  return diff === 0
}
