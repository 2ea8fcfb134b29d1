import { CallsError } from './errors.ts'
import {
  SFrameContext,
  type SFrameDecryptResult,
  type SFrameSuiteId,
  sframeSuite,
  TACIT_SFRAME_SUITE,
} from './sframe.ts'

/**
 * SFrame keys from MLS (RFC 9605 §5.2), Tacit's profile:
 *
 *   base_key = MLS-Exporter("SFrame 1.0 Base Key", call_id, AEAD.Nk)        (32 bytes for suite 5)
 *   KID      = (send_context << (S + E)) | (leaf_index << E) | (epoch mod 2^E)
 *              E = 4 epoch bits, S = 16 leaf-index bits, send_context = 24 random bits
 *   sframe_key, sframe_salt = derive_key_salt(KID, base_key)                (RFC 9605 §4.4.2)
 *
 * One base key per epoch is shared by the call's members; every sender's KID differs (its leaf
 * index, and a random send context), and the KID is part of the HKDF labels, so every sender has
 * its own key and salt. Departure from the RFC: the exporter context is the call id instead of
 * the empty string. SFrame counters start at zero for every new sending session; without the
 * call id two calls in one MLS epoch would share (key, nonce) pairs. The random send context does
 * the same for a sender who rejoins the same call within one epoch (e.g. after a reload).
 *
 * A new epoch gives new keys at once for sending; the previous epoch's receive keys stay for
 * `PREVIOUS_EPOCH_GRACE_MS` so frames in flight still decrypt, and are removed when an epoch
 * with the same low E bits arrives (RFC 9605 §5.2 MUST).
 */

export const SFRAME_MLS_EXPORTER_LABEL = 'SFrame 1.0 Base Key'
/** E: low-order epoch bits in the KID. At most 2^E epochs can be told apart; we keep two. */
export const KID_EPOCH_BITS = 4
/** S: leaf-index bits (fixed, so every member parses KIDs alike; MLS leaf indices of Tacit groups fit). */
export const KID_INDEX_BITS = 16
/** Bits of the random send context above the index. */
export const KID_CONTEXT_BITS = 24
/** How long the previous epoch's receive keys stay after a new epoch is installed. */
export const PREVIOUS_EPOCH_GRACE_MS = 10_000
/** Call ids are opaque bytes from the signalling. */
export const MAX_CALL_ID_BYTES = 64
/** Members listed for one epoch. */
export const MAX_CALL_MEMBERS = 1 << KID_INDEX_BITS

/** The MLS exporter of the conversation's group in its current epoch (RFC 9420 §8.5). */
export type MlsExporter = (label: string, context: Uint8Array, length: number) => Promise<Uint8Array>

/**
 * What a worker needs for one epoch of one call. Plain data (structured-clonable), so the page
 * can post it to the transform worker. Treat it as secret: it holds the epoch's base key.
 */
export interface CallEpochKeys {
  readonly suite: SFrameSuiteId
  readonly epoch: bigint
  readonly baseKey: Uint8Array
  /** This device's MLS leaf index: its frames go out under KID(sendContext, ownLeafIndex, epoch). */
  readonly ownLeafIndex: number
  /** Leaf indices whose frames are accepted in this epoch (the other call members). */
  readonly memberLeafIndices: readonly number[]
  readonly sendContext: number
}

export interface CallKidParts {
  readonly context: number
  readonly leafIndex: number
  readonly epochBits: number
}

const EPOCH_MASK = (1n << BigInt(KID_EPOCH_BITS)) - 1n
const INDEX_MASK = (1n << BigInt(KID_INDEX_BITS)) - 1n

function checkLeafIndex(leafIndex: number): void {
  if (!Number.isInteger(leafIndex) || leafIndex < 0 || leafIndex >= 2 ** KID_INDEX_BITS) {
    throw new CallsError('invalid-kid', `leaf index must be an integer in 0..${2 ** KID_INDEX_BITS - 1}`)
  }
}

function checkContext(context: number): void {
  if (!Number.isInteger(context) || context < 0 || context >= 2 ** KID_CONTEXT_BITS) {
    throw new CallsError('invalid-kid', `send context must be an integer in 0..${2 ** KID_CONTEXT_BITS - 1}`)
  }
}

/** RFC 9605 §5.2 Figure 8: context ‖ index ‖ epoch (E low bits). */
export function composeCallKid(context: number, leafIndex: number, epoch: bigint): bigint {
  checkContext(context)
  checkLeafIndex(leafIndex)
  if (typeof epoch !== 'bigint' || epoch < 0n)
    throw new CallsError('invalid-kid', 'epoch must be a bigint >= 0')
  return (
    (BigInt(context) << BigInt(KID_INDEX_BITS + KID_EPOCH_BITS)) |
    (BigInt(leafIndex) << BigInt(KID_EPOCH_BITS)) |
    (epoch & EPOCH_MASK)
  )
}

/** Splits a KID; undefined when its context does not fit KID_CONTEXT_BITS (not one of ours). */
export function parseCallKid(kid: bigint): CallKidParts | undefined {
  const context = kid >> BigInt(KID_INDEX_BITS + KID_EPOCH_BITS)
  if (context >= 1n << BigInt(KID_CONTEXT_BITS)) return undefined
  return {
    context: Number(context),
    leafIndex: Number((kid >> BigInt(KID_EPOCH_BITS)) & INDEX_MASK),
    epochBits: Number(kid & EPOCH_MASK),
  }
}

function randomSendContext(): number {
  const bytes = new Uint8Array(4)
  globalThis.crypto.getRandomValues(bytes)
  return ((bytes[0]! << 16) | (bytes[1]! << 8) | bytes[2]!) >>> 0
}

/**
 * Exports one epoch's call keys. `exporter` is the group's MLS exporter in that epoch, e.g.
 * `(label, context, length) => exportSecret(group, config, label, context, length)` from
 * `@tacit/protocol/group`. A fresh random send context is drawn unless one is given.
 */
export async function exportCallEpochKeys(params: {
  readonly exporter: MlsExporter
  readonly callId: Uint8Array
  readonly epoch: bigint
  readonly ownLeafIndex: number
  readonly memberLeafIndices: readonly number[]
  readonly suite?: SFrameSuiteId
  readonly sendContext?: number
}): Promise<CallEpochKeys> {
  const suite = sframeSuite(params.suite ?? TACIT_SFRAME_SUITE)
  const { callId, epoch, ownLeafIndex } = params
  if (!(callId instanceof Uint8Array) || callId.length < 1 || callId.length > MAX_CALL_ID_BYTES) {
    throw new CallsError('usage', `call id must be 1..${MAX_CALL_ID_BYTES} bytes`)
  }
  if (typeof epoch !== 'bigint' || epoch < 0n) throw new CallsError('usage', 'epoch must be a bigint >= 0')
  checkLeafIndex(ownLeafIndex)
  const members = checkMembers(params.memberLeafIndices)
  const sendContext = params.sendContext ?? randomSendContext()
  checkContext(sendContext)
  const baseKey = await params.exporter(SFRAME_MLS_EXPORTER_LABEL, Uint8Array.from(callId), suite.nk)
  if (!(baseKey instanceof Uint8Array) || baseKey.length !== suite.nk) {
    throw new CallsError('invalid-key', `the exporter must return ${suite.nk} bytes`)
  }
  return { suite: suite.id, epoch, baseKey, ownLeafIndex, memberLeafIndices: members, sendContext }
}

function checkMembers(indices: readonly number[]): number[] {
  if (!Array.isArray(indices) || indices.length > MAX_CALL_MEMBERS) {
    throw new CallsError('usage', `member leaf indices must be an array of at most ${MAX_CALL_MEMBERS}`)
  }
  for (const index of indices) checkLeafIndex(index)
  return [...new Set(indices)]
}

export type CallDecryptResult = SFrameDecryptResult & {
  /** Who sent it, from the authenticated KID. */
  readonly sender: { readonly leafIndex: number; readonly epoch: bigint }
}

interface EpochEntry {
  readonly keys: CallEpochKeys
  readonly members: ReadonlySet<number>
  readonly sendKid: bigint
  /** When the keyring stops accepting this epoch's frames (set once a newer epoch arrives). */
  expiresAt: number
}

/**
 * The keys of one sending session in one call: the current epoch's send key (one counter for
 * every audio and video frame of this sender, RFC 9605 §4.4.1), and receive keys of the current
 * and the previous epoch, derived on demand from the KID of incoming frames.
 */
export class CallKeyring {
  readonly #now: () => number
  readonly #graceMs: number
  #context: SFrameContext | undefined
  #current: EpochEntry | undefined
  #previous: EpochEntry | undefined
  #setting: Promise<unknown> = Promise.resolve()

  constructor(options: { readonly now?: () => number; readonly graceMs?: number } = {}) {
    this.#now = options.now ?? (() => Date.now())
    this.#graceMs = options.graceMs ?? PREVIOUS_EPOCH_GRACE_MS
  }

  get epoch(): bigint | undefined {
    return this.#current?.keys.epoch
  }

  get sendKid(): bigint | undefined {
    return this.#current?.sendKid
  }

  /**
   * Installs an epoch's keys. A newer epoch becomes current (sending switches to it at once) and
   * the one it replaces is kept for the grace period; the same epoch again replaces its member
   * list but keeps the send counter; an older epoch is ignored (returns false).
   */
  setKeys(keys: CallEpochKeys): Promise<boolean> {
    // One at a time: two epochs arriving back to back must not interleave their key derivations,
    // or the older one could finish last and become current again.
    const run = this.#setting.then(() => this.#install(keys))
    this.#setting = run.catch(() => undefined)
    return run
  }

  async #install(keys: CallEpochKeys): Promise<boolean> {
    const suite = sframeSuite(keys.suite)
    if (!(keys.baseKey instanceof Uint8Array) || keys.baseKey.length !== suite.nk) {
      throw new CallsError('invalid-key', `base key must be ${suite.nk} bytes`)
    }
    const members = new Set(checkMembers(keys.memberLeafIndices))
    const sendKid = composeCallKid(keys.sendContext, keys.ownLeafIndex, keys.epoch)
    const entry: EpochEntry = { keys, members, sendKid, expiresAt: Number.POSITIVE_INFINITY }
    const current = this.#current
    if (this.#context !== undefined && this.#context.suite.id !== suite.id) {
      throw new CallsError('usage', 'one call keeps one cipher suite')
    }
    const context =
      this.#context ??
      new SFrameContext(suite.id, { resolveReceiveKey: (kid) => this.#resolveReceiveKey(kid) })
    if (current !== undefined && keys.epoch < current.keys.epoch) return false
    if (current !== undefined && keys.epoch === current.keys.epoch) {
      if (sendKid !== current.sendKid) {
        await context.addSendKey(sendKid, keys.baseKey)
        context.removeKey(current.sendKid)
      }
      this.#current = entry
      context.removeReceiveKeys((kid) => this.#resolveEntry(kid) === undefined)
      return true
    }
    await context.addSendKey(sendKid, keys.baseKey)
    this.#context = context
    if (current !== undefined) {
      context.removeKey(current.sendKid)
      current.expiresAt = this.#now() + this.#graceMs
    }
    // RFC 9605 §5.2: an old epoch with the new one's low E bits goes.
    const kept = current ?? this.#previous
    this.#previous =
      kept !== undefined && (kept.keys.epoch & EPOCH_MASK) !== (keys.epoch & EPOCH_MASK) ? kept : undefined
    this.#current = entry
    context.removeReceiveKeys((kid) => this.#resolveEntry(kid) === undefined)
    return true
  }

  #expirePrevious(): void {
    const previous = this.#previous
    if (previous !== undefined && this.#now() >= previous.expiresAt) {
      this.#previous = undefined
      this.#context?.removeReceiveKeys((kid) => this.#resolveEntry(kid) === undefined)
    }
  }

  /** The live epoch a KID belongs to, if its sender is a member other than ourselves. */
  #resolveEntry(kid: bigint): EpochEntry | undefined {
    const parts = parseCallKid(kid)
    if (parts === undefined) return undefined
    for (const entry of [this.#current, this.#previous]) {
      if (entry === undefined || Number(entry.keys.epoch & EPOCH_MASK) !== parts.epochBits) continue
      if (kid === entry.sendKid || !entry.members.has(parts.leafIndex)) return undefined
      return entry
    }
    return undefined
  }

  #resolveReceiveKey(kid: bigint): Uint8Array | undefined {
    return this.#resolveEntry(kid)?.keys.baseKey
  }

  /**
   * SFrame-encrypts one frame under the current send key; `metadata` is authenticated (clear codec
   * bytes) and, with `metadataInFront`, also put in front of the output (SFrameContext.encrypt).
   */
  async encrypt(plaintext: Uint8Array, metadata?: Uint8Array, metadataInFront = false): Promise<Uint8Array> {
    const current = this.#current
    if (current === undefined || this.#context === undefined) {
      throw new CallsError('unknown-kid', 'no call keys installed yet')
    }
    return this.#context.encrypt(current.sendKid, plaintext, metadata, metadataInFront)
  }

  /** Decrypts one SFrame ciphertext; see `SFrameContext.decrypt` for errors and the replay result. */
  async decrypt(ciphertext: Uint8Array, metadata?: Uint8Array): Promise<CallDecryptResult> {
    this.#expirePrevious()
    if (this.#context === undefined) throw new CallsError('unknown-kid', 'no call keys installed yet')
    const result = await this.#context.decrypt(ciphertext, metadata)
    const entry = this.#resolveEntry(result.kid)
    const parts = parseCallKid(result.kid)
    if (entry === undefined || parts === undefined) {
      // The epoch was retired while this frame was being decrypted.
      throw new CallsError('unknown-kid', 'the epoch of this KID is no longer accepted')
    }
    return { ...result, sender: { leafIndex: parts.leafIndex, epoch: entry.keys.epoch } }
  }
}
