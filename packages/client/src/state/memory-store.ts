/**
 * An in-memory `Store` (the encrypted store's interface) for unit tests. Nothing is sealed and
 * nothing survives the process: never use it for an account that matters. Tests that need the
 * real thing use `src/store/` over its memory or SQLite backend.
 */
import type { Store, StoreEntry, StoreNamespace, StoreTransaction } from '../store/store.ts'

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')

type Tables = Map<string, Map<string, StoreEntry>>

function compare(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return a.length - b.length
}

export class MemoryStore implements Store {
  private readonly tables: Tables = new Map()
  private queue: Promise<unknown> = Promise.resolve()

  async get(namespace: StoreNamespace, key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.tables.get(namespace)?.get(hex(key))?.value.slice()
  }

  async list(namespace: StoreNamespace): Promise<StoreEntry[]> {
    const rows = [...(this.tables.get(namespace)?.values() ?? [])]
    return rows
      .map((r) => ({ key: r.key.slice(), value: r.value.slice() }))
      .sort((a, b) => compare(a.key, b.key))
  }

  put(namespace: StoreNamespace, key: Uint8Array, value: Uint8Array): Promise<void> {
    return this.transaction((tx) => tx.put(namespace, key, value))
  }

  delete(namespace: StoreNamespace, key: Uint8Array): Promise<void> {
    return this.transaction((tx) => tx.delete(namespace, key))
  }

  transaction<T>(fn: (tx: StoreTransaction) => Promise<T> | T): Promise<T> {
    const run = async () => {
      // Writes are buffered; only a callback that returns applies them.
      const writes = new Map<string, Map<string, StoreEntry | null>>()
      const pending = (ns: string) => {
        let m = writes.get(ns)
        if (!m) {
          m = new Map()
          writes.set(ns, m)
        }
        return m
      }
      const tx: StoreTransaction = {
        get: async (ns, key) => {
          const w = writes.get(ns)?.get(hex(key))
          if (w !== undefined) return w === null ? undefined : w.value.slice()
          return this.get(ns, key)
        },
        list: async (ns) => {
          const merged = new Map<string, StoreEntry>()
          for (const [k, v] of this.tables.get(ns) ?? []) merged.set(k, v)
          for (const [k, v] of writes.get(ns) ?? []) {
            if (v === null) merged.delete(k)
            else merged.set(k, v)
          }
          return [...merged.values()]
            .map((r) => ({ key: r.key.slice(), value: r.value.slice() }))
            .sort((a, b) => compare(a.key, b.key))
        },
        put: async (ns, key, value) => {
          pending(ns).set(hex(key), { key: key.slice(), value: value.slice() })
        },
        delete: async (ns, key) => {
          pending(ns).set(hex(key), null)
        },
      }
      const result = await fn(tx)
      for (const [ns, m] of writes) {
        let t = this.tables.get(ns)
        if (!t) {
          t = new Map()
          this.tables.set(ns, t)
        }
        for (const [k, v] of m) {
          if (v === null) t.delete(k)
          else t.set(k, v)
        }
      }
      return result
    }
    const next = this.queue.then(run, run)
    this.queue = next.catch(() => undefined)
    return next
  }
}
