import {
  type Argon2Params,
  checkArgon2Params,
  DEFAULT_ARGON2_PARAMS,
  deriveKeyFromPassphrase,
  encodePassphrase,
} from '@tacit/crypto/argon2'
import { AEAD_NONCE_LENGTH, type CryptoBackend } from '@tacit/crypto/backend'
import { bytesToHex, equalBytes } from '@tacit/crypto/bytes'
import { CryptoError } from '@tacit/crypto/errors'
import type { RowWrite, StoreBackend } from './backend.ts'
import { StoreError } from './errors.ts'
import {
  copyBytes,
  decodeHeader,
  decodeRecordPlaintext,
  decodeSealedRecord,
  encodeHeader,
  encodeRecordPlaintext,
  encodeSealedRecord,
  LOOKUP_KEY_INFO,
  lookupInput,
  namespaceTagInput,
  RECORD_KEY_INFO,
  recordAad,
  STORE_HKDF_SALT,
  STORE_KEY_LENGTH,
  STORE_SALT_LENGTH,
  wrapAad,
} from './format.ts'
import {
  checkNamespace,
  checkRecordKey,
  checkRecordValue,
  MAX_RECORDS_PER_NAMESPACE,
  MAX_TRANSACTION_BYTES,
  MAX_WRITES_PER_TRANSACTION,
  type Store,
  type StoreEntry,
  type StoreNamespace,
  type StoreTransaction,
} from './store.ts'

/**
 * The sealed layer: turns any `StoreBackend` into a `Store` in which every record — its key as
 * well as its value — is unreadable without the passphrase.
 *
 * - A random 256-bit store key, wrapped (AES-256-GCM) by Argon2id(passphrase, random salt); the
 *   header holds KDF parameters, salt, nonce and wrapped key, and the wrap authenticates them all.
 * - HKDF-SHA-256 (RFC 5869) splits the store key into a record key (AES-256-GCM) and a lookup key
 *   (HMAC-SHA-256). Rows are addressed by HMAC(lookup key, namespace ‖ record key), so the medium
 *   holds no readable names; the record key travels inside the sealed value for `list`.
 * - Each write seals under a fresh random 96-bit nonce with (namespace tag, lookup key) as
 *   associated data, so a row moved to another address fails authentication.
 *
 * Not protected: rolling a row (or the whole store) back to an older sealed version, or deleting
 * rows — an attacker who can write the medium can do both undetected. Record sizes (padded to 64
 * bytes) and record counts per namespace are visible. See docs/decisions/0007-local-store.md.
 */

export interface SealedStoreOptions {
  /** Randomness, AES-256-GCM, HMAC and HKDF come from here (nodeBackend, webCryptoBackend). */
  readonly crypto: CryptoBackend
  /**
   * Argon2id parameters for a header this call writes (create, change of passphrase). Defaults to
   * DEFAULT_ARGON2_PARAMS; tests pass small ones. Unlocking always uses the header's own.
   */
  readonly kdfParams?: Argon2Params
}

export interface EncryptedStore extends Store {
  /**
   * Re-wraps the store key under a new passphrase (fresh salt) in one atomic header write.
   * `current` is checked first: a wrong one fails with `wrong-passphrase` and writes nothing.
   * Records are not re-encrypted: they stay under the same store key.
   */
  changePassphrase(
    current: string | Uint8Array,
    next: string | Uint8Array,
    options?: { readonly kdfParams?: Argon2Params },
  ): Promise<void>
  /**
   * Waits for running operations, zeroes the keys this object holds and closes the backend. Every
   * later call fails with `locked`. Copies the JavaScript engine made (strings, GC'd buffers) and
   * keys inside the crypto backend's own objects are out of reach.
   */
  lock(): Promise<void>
  readonly locked: boolean
}

/** Namespace tags are cached; per-conversation namespaces make their number grow, so it is capped. */
export const MAX_CACHED_NAMESPACE_TAGS = 1024

/** A passphrase of at least one byte (policy on strength belongs to the user interface). */
export const MIN_PASSPHRASE_BYTES = 1

function toPassphraseBytes(passphrase: string | Uint8Array): Uint8Array {
  let bytes: Uint8Array
  try {
    bytes = encodePassphrase(passphrase)
  } catch (cause) {
    if (CryptoError.is(cause, 'limit-exceeded'))
      throw new StoreError('limit-exceeded', 'passphrase too long', { cause })
    throw new StoreError('invalid-argument', 'passphrase must be a string or bytes', { cause })
  }
  if (bytes.length < MIN_PASSPHRASE_BYTES) throw new StoreError('invalid-argument', 'passphrase is empty')
  return bytes
}

function checkKdfParams(params: Argon2Params): Argon2Params {
  try {
    return checkArgon2Params(params)
  } catch (cause) {
    throw new StoreError('invalid-argument', 'KDF parameters out of bounds', { cause })
  }
}

/** Wraps what a backend or the crypto layer threw into a StoreError without losing the cause. */
function asStoreError(error: unknown, what: string): StoreError {
  if (StoreError.is(error)) return error
  return new StoreError('internal', `${what} failed unexpectedly`, { cause: error })
}

async function wrapStoreKey(
  crypto: CryptoBackend,
  passphrase: Uint8Array,
  storeKey: Uint8Array,
  params: Argon2Params,
): Promise<Uint8Array> {
  const salt = crypto.randomBytes(STORE_SALT_LENGTH)
  const kek = await deriveKeyFromPassphrase(passphrase, salt, params)
  try {
    const wrapNonce = crypto.randomBytes(AEAD_NONCE_LENGTH)
    const wrappedKey = await crypto.aead.seal('AES-256-GCM', kek, wrapNonce, wrapAad(params, salt), storeKey)
    return encodeHeader({ kdf: 1, params, salt, wrapNonce, wrappedKey })
  } finally {
    kek.fill(0)
  }
}

/** Derives the KEK from the header's salt and parameters and unwraps the store key. */
async function unwrapStoreKey(crypto: CryptoBackend, headerBytes: Uint8Array, passphrase: Uint8Array) {
  const header = decodeHeader(headerBytes)
  const kek = await deriveKeyFromPassphrase(passphrase, header.salt, header.params)
  try {
    const storeKey = await crypto.aead.open(
      'AES-256-GCM',
      kek,
      header.wrapNonce,
      wrapAad(header.params, header.salt),
      header.wrappedKey,
    )
    if (storeKey.length !== STORE_KEY_LENGTH)
      throw new StoreError('corrupt-header', 'wrapped key has a bad length')
    return storeKey
  } catch (cause) {
    if (CryptoError.is(cause, 'aead-auth-failed')) {
      // GCM cannot tell a wrong KEK from an altered header; the passphrase is the likely cause.
      throw new StoreError('wrong-passphrase', 'the passphrase does not open this store', { cause })
    }
    throw asStoreError(cause, 'unwrapping the store key')
  } finally {
    kek.fill(0)
  }
}

/**
 * Initialises an empty backend: a new random store key wrapped under `passphrase`. Fails with
 * `already-initialized` if the backend holds a header.
 */
export async function createEncryptedStore(
  backend: StoreBackend,
  passphrase: string | Uint8Array,
  options: SealedStoreOptions,
): Promise<EncryptedStore> {
  const passBytes = toPassphraseBytes(passphrase)
  const params = checkKdfParams(options.kdfParams ?? DEFAULT_ARGON2_PARAMS)
  if ((await backend.readHeader()) !== undefined) {
    throw new StoreError('already-initialized', 'a store already exists here')
  }
  const storeKey = options.crypto.randomBytes(STORE_KEY_LENGTH)
  try {
    const header = await wrapStoreKey(options.crypto, passBytes, storeKey, params)
    await backend.apply([], { expected: undefined, next: header })
    return await SealedStore.open(backend, options.crypto, storeKey, header)
  } catch (error) {
    storeKey.fill(0)
    throw asStoreError(error, 'creating the store')
  }
}

/**
 * Unlocks an existing store. A wrong passphrase fails with `wrong-passphrase` before anything is
 * written (nothing is written until the store key is unwrapped, and unlocking writes nothing).
 */
export async function unlockEncryptedStore(
  backend: StoreBackend,
  passphrase: string | Uint8Array,
  options: SealedStoreOptions,
): Promise<EncryptedStore> {
  const passBytes = toPassphraseBytes(passphrase)
  const header = await backend.readHeader()
  if (header === undefined) throw new StoreError('not-initialized', 'no store here yet')
  const storeKey = await unwrapStoreKey(options.crypto, header, passBytes)
  try {
    return await SealedStore.open(backend, options.crypto, storeKey, header)
  } catch (error) {
    storeKey.fill(0)
    throw asStoreError(error, 'unlocking the store')
  }
}

interface PendingWrite {
  readonly namespace: StoreNamespace
  readonly namespaceTag: Uint8Array
  readonly lookup: Uint8Array
  readonly key: Uint8Array
  /** undefined: delete. Our own copy, zeroed after the commit. */
  readonly value: Uint8Array | undefined
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return a.length - b.length
}

class SealedStore implements EncryptedStore {
  readonly #backend: StoreBackend
  readonly #crypto: CryptoBackend
  readonly #storeKey: Uint8Array
  readonly #recordKey: Uint8Array
  readonly #lookupKey: Uint8Array
  readonly #namespaceTags = new Map<string, Uint8Array>()
  readonly #inflight = new Set<Promise<unknown>>()
  #header: Uint8Array
  #locked = false
  #tail: Promise<unknown> = Promise.resolve()

  private constructor(
    backend: StoreBackend,
    crypto: CryptoBackend,
    storeKey: Uint8Array,
    recordKey: Uint8Array,
    lookupKey: Uint8Array,
    header: Uint8Array,
  ) {
    this.#backend = backend
    this.#crypto = crypto
    this.#storeKey = storeKey
    this.#recordKey = recordKey
    this.#lookupKey = lookupKey
    this.#header = header
  }

  static async open(
    backend: StoreBackend,
    crypto: CryptoBackend,
    storeKey: Uint8Array,
    header: Uint8Array,
  ): Promise<SealedStore> {
    // RFC 5869 §2.2–2.3: one extract, then one expand per purpose with its own info label.
    const prk = await crypto.hash.hkdfExtract('SHA-256', STORE_HKDF_SALT, storeKey)
    try {
      const recordKey = await crypto.hash.hkdfExpand('SHA-256', prk, RECORD_KEY_INFO, 32)
      const lookupKey = await crypto.hash.hkdfExpand('SHA-256', prk, LOOKUP_KEY_INFO, 32)
      return new SealedStore(backend, crypto, storeKey, recordKey, lookupKey, header)
    } finally {
      prk.fill(0)
    }
  }

  get locked(): boolean {
    return this.#locked
  }

  // --- plumbing

  #checkUnlocked(): void {
    if (this.#locked) throw new StoreError('locked', 'the store is locked')
  }

  /** Runs a read, tracked so that `lock` waits for it before zeroing keys. */
  #read<T>(fn: () => Promise<T>): Promise<T> {
    this.#checkUnlocked()
    const run = fn()
    this.#inflight.add(run)
    const forget = () => this.#inflight.delete(run)
    run.then(forget, forget)
    return run
  }

  /** Runs writers one at a time, in call order. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    this.#checkUnlocked()
    const run = this.#tail.then(() => {
      this.#checkUnlocked()
      return fn()
    })
    this.#tail = run.catch(() => undefined)
    return run
  }

  async #namespaceTag(namespace: StoreNamespace): Promise<Uint8Array> {
    const cached = this.#namespaceTags.get(namespace)
    if (cached !== undefined) return cached
    const tag = await this.#crypto.hash.hmac('SHA-256', this.#lookupKey, namespaceTagInput(namespace))
    if (this.#namespaceTags.size >= MAX_CACHED_NAMESPACE_TAGS) this.#namespaceTags.clear()
    this.#namespaceTags.set(namespace, tag)
    return tag
  }

  #lookup(namespace: StoreNamespace, key: Uint8Array): Promise<Uint8Array> {
    return this.#crypto.hash.hmac('SHA-256', this.#lookupKey, lookupInput(namespace, key))
  }

  async #seal(namespaceTag: Uint8Array, lookup: Uint8Array, key: Uint8Array, value: Uint8Array) {
    const plaintext = encodeRecordPlaintext(key, value)
    try {
      const nonce = this.#crypto.randomBytes(AEAD_NONCE_LENGTH)
      const aad = recordAad(namespaceTag, lookup)
      return encodeSealedRecord(
        nonce,
        await this.#crypto.aead.seal('AES-256-GCM', this.#recordKey, nonce, aad, plaintext),
      )
    } finally {
      plaintext.fill(0)
    }
  }

  async #open(namespaceTag: Uint8Array, lookup: Uint8Array, sealed: Uint8Array) {
    const { nonce, ciphertext } = decodeSealedRecord(sealed)
    let plaintext: Uint8Array
    try {
      plaintext = await this.#crypto.aead.open(
        'AES-256-GCM',
        this.#recordKey,
        nonce,
        recordAad(namespaceTag, lookup),
        ciphertext,
      )
    } catch (cause) {
      if (CryptoError.is(cause, 'aead-auth-failed')) {
        throw new StoreError(
          'corrupt-record',
          'a record failed authentication (tampered, moved or damaged)',
          { cause },
        )
      }
      throw asStoreError(cause, 'opening a record')
    }
    try {
      return decodeRecordPlaintext(plaintext)
    } finally {
      plaintext.fill(0)
    }
  }

  /** The committed value under (namespace, key), authenticated against its address. */
  async #getCommitted(namespace: StoreNamespace, key: Uint8Array): Promise<Uint8Array | undefined> {
    const tag = await this.#namespaceTag(namespace)
    const lookup = await this.#lookup(namespace, key)
    const sealed = await this.#backend.readRow(tag, lookup)
    if (sealed === undefined) return undefined
    const record = await this.#open(tag, lookup, sealed)
    if (!equalBytes(record.key, key))
      throw new StoreError('corrupt-record', 'record key does not match its address')
    return record.value
  }

  async #listCommitted(namespace: StoreNamespace): Promise<Map<string, StoreEntry>> {
    const tag = await this.#namespaceTag(namespace)
    const rows = await this.#backend.listRows(tag)
    if (rows.length > MAX_RECORDS_PER_NAMESPACE) {
      throw new StoreError('limit-exceeded', `namespace holds more than ${MAX_RECORDS_PER_NAMESPACE} records`)
    }
    const out = new Map<string, StoreEntry>()
    for (const row of rows) {
      const record = await this.#open(tag, row.lookup, row.sealed)
      // The AEAD binds the row to its address; this checks the address was computed from the key.
      if (!equalBytes(await this.#lookup(namespace, record.key), row.lookup)) {
        throw new StoreError('corrupt-record', 'record key does not match its address')
      }
      out.set(bytesToHex(row.lookup), record)
    }
    return out
  }

  // --- Store

  async get(namespace: StoreNamespace, key: Uint8Array): Promise<Uint8Array | undefined> {
    checkNamespace(namespace)
    checkRecordKey(key)
    return this.#read(() => this.#getCommitted(namespace, key))
  }

  async list(namespace: StoreNamespace): Promise<StoreEntry[]> {
    checkNamespace(namespace)
    return this.#read(async () => sortEntries((await this.#listCommitted(namespace)).values()))
  }

  // Every method is async, so misuse rejects like any other failure instead of throwing.

  async put(namespace: StoreNamespace, key: Uint8Array, value: Uint8Array): Promise<void> {
    // Copied now, not when the queued transaction runs: the caller may reuse its arrays at once.
    const ownKey = copyBytes(checkRecordKey(key))
    const ownValue = copyBytes(checkRecordValue(value))
    try {
      await this.transaction((tx) => tx.put(namespace, ownKey, ownValue))
    } finally {
      ownValue.fill(0)
    }
  }

  async delete(namespace: StoreNamespace, key: Uint8Array): Promise<void> {
    const ownKey = copyBytes(checkRecordKey(key))
    await this.transaction((tx) => tx.delete(namespace, ownKey))
  }

  async transaction<T>(fn: (tx: StoreTransaction) => Promise<T> | T): Promise<T> {
    if (typeof fn !== 'function') throw new StoreError('invalid-argument', 'transaction needs a function')
    return this.#exclusive(async () => {
      const tx = new BufferedTransaction({
        namespaceTag: (ns) => this.#namespaceTag(ns),
        lookup: (ns, key) => this.#lookup(ns, key),
        getCommitted: (ns, key) => this.#getCommitted(ns, key),
        listCommitted: (ns) => this.#listCommitted(ns),
      })
      try {
        const result = await fn(tx)
        tx.close()
        await this.#commit(tx.pending())
        return result
      } finally {
        tx.discard()
      }
    })
  }

  async #commit(pending: readonly PendingWrite[]): Promise<void> {
    if (pending.length === 0) return
    // Count check per namespace. Usually committed rows + puts is already within the limit; only
    // near it do we look up which puts are inserts and which deletes remove a row.
    const byNamespace = new Map<string, PendingWrite[]>()
    for (const write of pending)
      byNamespace.set(write.namespace, [...(byNamespace.get(write.namespace) ?? []), write])
    for (const writes of byNamespace.values()) {
      const puts = writes.filter((w) => w.value !== undefined).length
      if (puts === 0) continue
      const count = await this.#backend.countRows(writes[0]!.namespaceTag)
      if (count + puts <= MAX_RECORDS_PER_NAMESPACE) continue
      let change = 0
      for (const write of writes) {
        const present = (await this.#backend.readRow(write.namespaceTag, write.lookup)) !== undefined
        if (write.value === undefined) change -= present ? 1 : 0
        else change += present ? 0 : 1
      }
      if (count + change > MAX_RECORDS_PER_NAMESPACE) {
        throw new StoreError(
          'limit-exceeded',
          `a namespace would hold more than ${MAX_RECORDS_PER_NAMESPACE} records`,
        )
      }
    }
    const writes: RowWrite[] = []
    for (const write of pending) {
      if (write.value === undefined) {
        writes.push({ kind: 'delete', namespace: write.namespaceTag, lookup: write.lookup })
      } else {
        const sealed = await this.#seal(write.namespaceTag, write.lookup, write.key, write.value)
        writes.push({ kind: 'put', namespace: write.namespaceTag, lookup: write.lookup, sealed })
      }
    }
    await this.#backend.apply(writes)
  }

  async changePassphrase(
    current: string | Uint8Array,
    next: string | Uint8Array,
    options: { readonly kdfParams?: Argon2Params } = {},
  ): Promise<void> {
    const currentBytes = toPassphraseBytes(current)
    const nextBytes = toPassphraseBytes(next)
    const params = checkKdfParams(options.kdfParams ?? DEFAULT_ARGON2_PARAMS)
    return this.#exclusive(async () => {
      const unwrapped = await unwrapStoreKey(this.#crypto, this.#header, currentBytes)
      const same = equalBytes(unwrapped, this.#storeKey)
      unwrapped.fill(0)
      if (!same) throw new StoreError('wrong-passphrase', 'the current passphrase does not open this store')
      const header = await wrapStoreKey(this.#crypto, nextBytes, this.#storeKey, params)
      await this.#backend.apply([], { expected: this.#header, next: header })
      this.#header = header
    })
  }

  async lock(): Promise<void> {
    if (this.#locked) return
    // Let queued writers finish, then stop new ones and wait for running reads.
    await this.#tail
    if (this.#locked) return
    this.#locked = true
    await Promise.allSettled([...this.#inflight])
    this.#storeKey.fill(0)
    this.#recordKey.fill(0)
    this.#lookupKey.fill(0)
    for (const tag of this.#namespaceTags.values()) tag.fill(0)
    this.#namespaceTags.clear()
    await this.#backend.close()
  }
}

function sortEntries(entries: Iterable<StoreEntry>): StoreEntry[] {
  return [...entries].sort((a, b) => compareBytes(a.key, b.key))
}

interface TransactionContext {
  namespaceTag(namespace: StoreNamespace): Promise<Uint8Array>
  lookup(namespace: StoreNamespace, key: Uint8Array): Promise<Uint8Array>
  getCommitted(namespace: StoreNamespace, key: Uint8Array): Promise<Uint8Array | undefined>
  listCommitted(namespace: StoreNamespace): Promise<Map<string, StoreEntry>>
}

/** Buffers writes in memory; reads overlay them on the committed state. */
class BufferedTransaction implements StoreTransaction {
  readonly #context: TransactionContext
  readonly #pending = new Map<string, PendingWrite>()
  #bytes = 0
  #open = true

  constructor(context: TransactionContext) {
    this.#context = context
  }

  #checkOpen(): void {
    if (!this.#open) throw new StoreError('transaction-closed', 'the transaction function already returned')
  }

  async #address(namespace: StoreNamespace, key: Uint8Array) {
    this.#checkOpen()
    checkNamespace(namespace)
    checkRecordKey(key)
    const namespaceTag = await this.#context.namespaceTag(namespace)
    const lookup = await this.#context.lookup(namespace, key)
    return { namespaceTag, lookup, id: bytesToHex(lookup) }
  }

  async get(namespace: StoreNamespace, key: Uint8Array): Promise<Uint8Array | undefined> {
    const { id } = await this.#address(namespace, key)
    const pending = this.#pending.get(id)
    if (pending !== undefined) return pending.value === undefined ? undefined : copyBytes(pending.value)
    return this.#context.getCommitted(namespace, key)
  }

  async list(namespace: StoreNamespace): Promise<StoreEntry[]> {
    this.#checkOpen()
    checkNamespace(namespace)
    const entries = await this.#context.listCommitted(namespace)
    for (const [id, write] of this.#pending) {
      if (write.namespace !== namespace) continue
      if (write.value === undefined) entries.delete(id)
      else entries.set(id, { key: copyBytes(write.key), value: copyBytes(write.value) })
    }
    return sortEntries(entries.values())
  }

  async put(namespace: StoreNamespace, key: Uint8Array, value: Uint8Array): Promise<void> {
    // Copy before the first await: the caller may reuse its arrays as soon as put() returns.
    const ownKey = copyBytes(checkRecordKey(key))
    const ownValue = copyBytes(checkRecordValue(value))
    const { namespaceTag, lookup, id } = await this.#address(namespace, ownKey)
    this.#record(id, { namespace, namespaceTag, lookup, key: ownKey, value: ownValue })
  }

  async delete(namespace: StoreNamespace, key: Uint8Array): Promise<void> {
    const ownKey = copyBytes(checkRecordKey(key))
    const { namespaceTag, lookup, id } = await this.#address(namespace, ownKey)
    this.#record(id, { namespace, namespaceTag, lookup, key: ownKey, value: undefined })
  }

  #record(id: string, write: PendingWrite): void {
    this.#checkOpen()
    const size = (w: PendingWrite) => w.key.length + (w.value?.length ?? 0)
    const previous = this.#pending.get(id)
    if (previous === undefined && this.#pending.size >= MAX_WRITES_PER_TRANSACTION) {
      throw new StoreError(
        'limit-exceeded',
        `more than ${MAX_WRITES_PER_TRANSACTION} writes in one transaction`,
      )
    }
    const bytes = this.#bytes - (previous === undefined ? 0 : size(previous)) + size(write)
    if (bytes > MAX_TRANSACTION_BYTES) {
      throw new StoreError('limit-exceeded', `more than ${MAX_TRANSACTION_BYTES} bytes in one transaction`)
    }
    previous?.value?.fill(0)
    this.#bytes = bytes
    this.#pending.set(id, write)
  }

  close(): void {
    this.#open = false
  }

  pending(): PendingWrite[] {
    return [...this.#pending.values()]
  }

  /** Closes the transaction and zeroes the plaintext copies it held. */
  discard(): void {
    this.#open = false
    for (const write of this.#pending.values()) {
      write.value?.fill(0)
      write.key.fill(0)
    }
    this.#pending.clear()
  }
}
