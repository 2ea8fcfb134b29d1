/**
 * A small LRU of imported CryptoKeys keyed by slot (algorithm and usage) and key bytes. Importing
 * the signing key on every signature is most of the cost this backend exists to avoid; MLS signs
 * with one long-lived key and verifies the same few members' keys again and again.
 *
 * Keyed by content, not by the Uint8Array object: a client that reloads its MLS state from the
 * encrypted store gets fresh arrays for the same key, and a WeakMap would miss every time (the
 * Node backend makes the same choice). The map keys hold key bytes as strings for as long as the
 * CryptoKey they name is held, and that CryptoKey carries the same secret anyway. Entries are
 * promises, so concurrent uses of a new key share one import; a failed import is not kept.
 */
export class KeyCache {
  readonly #entries = new Map<string, Promise<CryptoKey>>()
  readonly #max: number

  constructor(max: number) {
    this.#max = max
  }

  get size(): number {
    return this.#entries.size
  }

  /** The key for (slot, bytes), imported with `load` on a miss. */
  resolve(slot: string, bytes: Uint8Array, load: () => Promise<CryptoKey>): Promise<CryptoKey> {
    let id = `${slot}:`
    for (const b of bytes) id += String.fromCharCode(b)
    const hit = this.#entries.get(id)
    if (hit !== undefined) {
      // Map keeps insertion order: re-inserting marks the entry most recently used.
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
    key.catch(() => {
      if (this.#entries.get(id) === key) this.#entries.delete(id)
    })
    return key
  }

  clear(): void {
    this.#entries.clear()
  }
}
