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
  readonly #max: number

  constructor(max: number) {
    this.#max = max
  }

  get size(): number {
    return this.#entries.size
  }

  /** Returns the cached KeyObject for (tag, bytes), importing it with `load` on a miss. */
  get(tag: string, bytes: Uint8Array, load: () => KeyObject): KeyObject {
    const id = tag + ':' + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')
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
  }
}
