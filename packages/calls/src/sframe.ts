import { concatBytes, equalBytes } from '@tacit/crypto/bytes'
import { CallsError } from './errors.ts'

/**
 * SFrame, RFC 9605: header (§4.3), key derivation (§4.4.2), encryption (§4.4.3), decryption
 * (§4.4.4) and the cipher suites of §4.5, on WebCrypto only (`globalThis.crypto.subtle`, which
 * browsers, workers and Node 20 all have), so the same code runs in the RTCRtpScriptTransform
 * worker and in Node.
 *
 * Beyond the RFC (which leaves replay to the application, §7.4): every receive key has a replay
 * window; a duplicate or too-old counter is a distinct `replay` result, not an exception.
 */

// ---------------------------------------------------------------------------------------------
// Cipher suites (RFC 9605 §4.5, §8.1)

export const AES_128_CTR_HMAC_SHA256_80 = 0x0001
export const AES_128_CTR_HMAC_SHA256_64 = 0x0002
export const AES_128_CTR_HMAC_SHA256_32 = 0x0003
export const AES_128_GCM_SHA256_128 = 0x0004
export const AES_256_GCM_SHA512_128 = 0x0005

/** The suite Tacit calls use (DESIGN §3). Its registry value is 0x0005 (RFC 9605 §8.1). */
export const TACIT_SFRAME_SUITE = AES_256_GCM_SHA512_128

export type SFrameSuiteId =
  | typeof AES_128_CTR_HMAC_SHA256_80
  | typeof AES_128_CTR_HMAC_SHA256_64
  | typeof AES_128_CTR_HMAC_SHA256_32
  | typeof AES_128_GCM_SHA256_128
  | typeof AES_256_GCM_SHA512_128

export interface SFrameSuite {
  readonly id: SFrameSuiteId
  readonly name: string
  readonly hash: 'SHA-256' | 'SHA-512'
  readonly aead: 'AES-GCM' | 'AES-CTR-HMAC'
  /** Hash output size. */
  readonly nh: number
  /** AES key size inside the compound AES-CTR+HMAC key (0 for GCM). */
  readonly nka: number
  readonly nk: number
  readonly nn: number
  readonly nt: number
}

const SUITES: ReadonlyMap<number, SFrameSuite> = new Map(
  (
    [
      [
        AES_128_CTR_HMAC_SHA256_80,
        'AES_128_CTR_HMAC_SHA256_80',
        'SHA-256',
        'AES-CTR-HMAC',
        32,
        16,
        48,
        12,
        10,
      ],
      [
        AES_128_CTR_HMAC_SHA256_64,
        'AES_128_CTR_HMAC_SHA256_64',
        'SHA-256',
        'AES-CTR-HMAC',
        32,
        16,
        48,
        12,
        8,
      ],
      [
        AES_128_CTR_HMAC_SHA256_32,
        'AES_128_CTR_HMAC_SHA256_32',
        'SHA-256',
        'AES-CTR-HMAC',
        32,
        16,
        48,
        12,
        4,
      ],
      [AES_128_GCM_SHA256_128, 'AES_128_GCM_SHA256_128', 'SHA-256', 'AES-GCM', 32, 0, 16, 12, 16],
      [AES_256_GCM_SHA512_128, 'AES_256_GCM_SHA512_128', 'SHA-512', 'AES-GCM', 64, 0, 32, 12, 16],
    ] as const
  ).map(([id, name, hash, aead, nh, nka, nk, nn, nt]) => [
    id,
    Object.freeze({ id, name, hash, aead, nh, nka, nk, nn, nt }),
  ]),
)

export function sframeSuite(id: number): SFrameSuite {
  const suite = SUITES.get(id)
  if (suite === undefined)
    throw new CallsError('unsupported-suite', `SFrame cipher suite ${id} is not supported`)
  return suite
}

// ---------------------------------------------------------------------------------------------
// Limits

/** KID and CTR are 64-bit unsigned integers (RFC 9605 §4.3: lengths 1..8 bytes). */
export const MAX_SFRAME_UINT64 = (1n << 64n) - 1n
/** The largest SFrame header: config byte + 8-byte KID + 8-byte CTR. */
export const MAX_SFRAME_HEADER_BYTES = 17
/**
 * The last counter a send key uses. Far below 2^64 so counters stay exact JS numbers in the
 * replay window; at 100 frames per second it lasts 89,000 years.
 */
export const MAX_SFRAME_COUNTER = 2 ** 48 - 1
/** The largest plaintext or ciphertext accepted (a 4K key frame is well below). */
export const MAX_SFRAME_FRAME_BYTES = 8 * 1024 * 1024
/** Counters behind the highest one seen that are still accepted once (reordering tolerance). */
export const SFRAME_REPLAY_WINDOW = 512
/** Keys a context holds at once (send + receive). */
export const MAX_SFRAME_KEYS = 1024
/** Unknown KIDs whose derived keys are cached while they have not yet authenticated a frame. */
export const MAX_SFRAME_CANDIDATE_KEYS = 32

// ---------------------------------------------------------------------------------------------
// Header (RFC 9605 §4.3)

export interface SFrameHeader {
  readonly kid: bigint
  readonly ctr: bigint
  /** The encoded header's length in bytes (it is the prefix of the ciphertext). */
  readonly length: number
}

function byteLength(value: bigint): number {
  let n = 1
  while (value >> BigInt(8 * n) !== 0n) n++
  return n
}

/** Bytes needed for a non-negative safe integer (at least 1). */
function byteLengthOfNumber(value: number): number {
  let n = 1
  for (let v = Math.floor(value / 256); v > 0; v = Math.floor(v / 256)) n++
  return n
}

function checkUint64(value: bigint, field: string): void {
  if (typeof value !== 'bigint' || value < 0n || value > MAX_SFRAME_UINT64) {
    throw new CallsError('usage', `${field} must be a bigint in 0..2^64-1`)
  }
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)

/** Writes `value` big-endian into out[offset .. offset+length); numbers for speed, bigints beyond 2^53. */
function writeUint(out: Uint8Array, offset: number, value: bigint, length: number): void {
  if (value <= MAX_SAFE) {
    let v = Number(value)
    for (let i = offset + length - 1; i >= offset; i--) {
      out[i] = v % 256
      v = Math.floor(v / 256)
    }
    return
  }
  for (let i = 0; i < length; i++) out[offset + length - 1 - i] = Number((value >> BigInt(8 * i)) & 0xffn)
}

function uintLength(value: bigint): number {
  return value <= MAX_SAFE ? byteLengthOfNumber(Number(value)) : byteLength(value)
}

/** RFC 9605 §4.3: values 0..7 sit in the config byte; larger ones in the minimum number of bytes. */
export function encodeSFrameHeader(kid: bigint, ctr: bigint): Uint8Array {
  checkUint64(kid, 'kid')
  checkUint64(ctr, 'ctr')
  const kidLength = kid < 8n ? 0 : uintLength(kid)
  const ctrLength = ctr < 8n ? 0 : uintLength(ctr)
  const out = new Uint8Array(1 + kidLength + ctrLength)
  const k = kidLength === 0 ? Number(kid) : 0x08 | (kidLength - 1)
  const c = ctrLength === 0 ? Number(ctr) : 0x08 | (ctrLength - 1)
  out[0] = (k << 4) | c
  if (kidLength > 0) writeUint(out, 1, kid, kidLength)
  if (ctrLength > 0) writeUint(out, 1 + kidLength, ctr, ctrLength)
  return out
}

function readUint(bytes: Uint8Array, offset: number, length: number): bigint {
  if (length <= 6) {
    let value = 0
    for (let i = 0; i < length; i++) value = value * 256 + bytes[offset + i]!
    return BigInt(value)
  }
  let value = 0n
  for (let i = 0; i < length; i++) value = (value << 8n) | BigInt(bytes[offset + i]!)
  return value
}

/**
 * Parses the header at the start of `bytes`. A value of 8 or more encoded in more bytes than it
 * needs (or a value below 8 in the extended form) is rejected: RFC 9605 §4.3 says MUST be minimal,
 * and accepting two encodings would give one frame two AADs.
 */
export function decodeSFrameHeader(bytes: Uint8Array): SFrameHeader {
  if (bytes.length < 1) throw new CallsError('invalid-header', 'empty SFrame ciphertext')
  const config = bytes[0]!
  const x = (config & 0x80) !== 0
  const y = (config & 0x08) !== 0
  const kidLength = x ? ((config >> 4) & 0x07) + 1 : 0
  const ctrLength = y ? (config & 0x07) + 1 : 0
  const length = 1 + kidLength + ctrLength
  if (bytes.length < length) throw new CallsError('invalid-header', 'truncated SFrame header')
  // Minimal encoding: an extended field's first byte is non-zero and its value is at least 8.
  if (
    (x && (bytes[1] === 0 || (kidLength === 1 && bytes[1]! < 8))) ||
    (y && (bytes[1 + kidLength] === 0 || (ctrLength === 1 && bytes[1 + kidLength]! < 8)))
  ) {
    throw new CallsError('invalid-header', 'SFrame KID or CTR is not minimally encoded')
  }
  const kid = x ? readUint(bytes, 1, kidLength) : BigInt((config >> 4) & 0x07)
  const ctr = y ? readUint(bytes, 1 + kidLength, ctrLength) : BigInt(config & 0x07)
  return { kid, ctr, length }
}

// ---------------------------------------------------------------------------------------------
// Key derivation (RFC 9605 §4.4.2)

const subtle = (): SubtleCrypto => {
  const s = globalThis.crypto?.subtle
  if (s === undefined) throw new CallsError('usage', 'WebCrypto (crypto.subtle) is not available here')
  return s
}

const textEncoder = new TextEncoder()
const EMPTY = new Uint8Array(0)

/** BufferSource views for WebCrypto (its typings want ArrayBuffer-backed views). */
function view(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes as Uint8Array<ArrayBuffer>
}

function uint64(value: bigint): Uint8Array {
  const out = new Uint8Array(8)
  for (let i = 0; i < 8; i++) out[7 - i] = Number((value >> BigInt(8 * i)) & 0xffn)
  return out
}

/** "SFrame 1.0 Secret key " + KID (8 bytes, big-endian) + cipher_suite (2 bytes, big-endian). */
export function sframeKeyLabel(kid: bigint, suite: SFrameSuiteId): Uint8Array {
  checkUint64(kid, 'kid')
  return concatBytes(
    textEncoder.encode('SFrame 1.0 Secret key '),
    uint64(kid),
    new Uint8Array([suite >> 8, suite & 0xff]),
  )
}

/** "SFrame 1.0 Secret salt " + KID + cipher_suite, encoded as in `sframeKeyLabel`. */
export function sframeSaltLabel(kid: bigint, suite: SFrameSuiteId): Uint8Array {
  checkUint64(kid, 'kid')
  return concatBytes(
    textEncoder.encode('SFrame 1.0 Secret salt '),
    uint64(kid),
    new Uint8Array([suite >> 8, suite & 0xff]),
  )
}

export interface SFrameKeyMaterial {
  /** HKDF-Extract("", base_key); exposed for the conformance vectors only. */
  readonly secret: Uint8Array
  readonly key: Uint8Array
  readonly salt: Uint8Array
}

function checkBaseKey(baseKey: Uint8Array): void {
  if (!(baseKey instanceof Uint8Array) || baseKey.length < 16 || baseKey.length > 64) {
    throw new CallsError('invalid-key', 'base_key must be a Uint8Array of 16..64 bytes')
  }
}

/**
 * RFC 9605 §4.4.2 derive_key_salt. HKDF-Extract with an empty salt equals HMAC keyed with Nh zero
 * bytes (RFC 5869 §2.2), which is how `secret` is computed; key and salt come from WebCrypto's
 * own HKDF (extract + expand) with the same empty salt, so the vectors check both paths.
 */
export async function deriveSFrameKeyMaterial(
  suiteId: SFrameSuiteId,
  kid: bigint,
  baseKey: Uint8Array,
): Promise<SFrameKeyMaterial> {
  const suite = sframeSuite(suiteId)
  checkBaseKey(baseKey)
  const s = subtle()
  const hmacKey = await s.importKey(
    'raw',
    new Uint8Array(suite.nh),
    { name: 'HMAC', hash: suite.hash },
    false,
    ['sign'],
  )
  const secret = new Uint8Array(await s.sign('HMAC', hmacKey, view(baseKey)))
  const ikm = await s.importKey('raw', view(baseKey), 'HKDF', false, ['deriveBits'])
  const expand = async (info: Uint8Array, length: number): Promise<Uint8Array> =>
    new Uint8Array(
      await s.deriveBits({ name: 'HKDF', hash: suite.hash, salt: EMPTY, info: view(info) }, ikm, length * 8),
    )
  const key = await expand(sframeKeyLabel(kid, suite.id), suite.nk)
  const salt = await expand(sframeSaltLabel(kid, suite.id), suite.nn)
  return { secret, key, salt }
}

// ---------------------------------------------------------------------------------------------
// AEADs (RFC 9605 §4.4.3, §4.5.1)

/** A prepared AEAD key: WebCrypto keys imported once, used for many frames. */
export interface SFrameAeadKey {
  readonly suite: SFrameSuite
  seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array>
  /** Throws CallsError('auth-failed') when the tag does not verify. */
  open(nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array>
}

function be64(n: number): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(n))
  return out
}

export async function importSFrameAeadKey(suiteId: SFrameSuiteId, key: Uint8Array): Promise<SFrameAeadKey> {
  const suite = sframeSuite(suiteId)
  if (!(key instanceof Uint8Array) || key.length !== suite.nk) {
    throw new CallsError('invalid-key', `${suite.name} keys are ${suite.nk} bytes`)
  }
  const s = subtle()
  if (suite.aead === 'AES-GCM') {
    const aesKey = await s.importKey('raw', view(key), 'AES-GCM', false, ['encrypt', 'decrypt'])
    return Object.freeze({
      suite,
      seal: async (nonce, aad, plaintext) =>
        new Uint8Array(
          await s.encrypt(
            { name: 'AES-GCM', iv: view(nonce), additionalData: view(aad), tagLength: 128 },
            aesKey,
            view(plaintext),
          ),
        ),
      open: async (nonce, aad, ciphertext) => {
        try {
          return new Uint8Array(
            await s.decrypt(
              { name: 'AES-GCM', iv: view(nonce), additionalData: view(aad), tagLength: 128 },
              aesKey,
              view(ciphertext),
            ),
          )
        } catch {
          throw new CallsError('auth-failed', 'SFrame ciphertext did not authenticate')
        }
      },
    } satisfies SFrameAeadKey)
  }
  // §4.5.1: enc_key = key[..Nka], auth_key = key[Nka..]; encrypt-then-MAC, tag truncated to Nt.
  const encKey = await s.importKey('raw', view(key.subarray(0, suite.nka)), 'AES-CTR', false, [
    'encrypt',
    'decrypt',
  ])
  const authKey = await s.importKey(
    'raw',
    view(key.subarray(suite.nka)),
    { name: 'HMAC', hash: suite.hash },
    false,
    ['sign'],
  )
  const counterBlock = (nonce: Uint8Array): Uint8Array => {
    const block = new Uint8Array(16)
    block.set(nonce)
    return block
  }
  const computeTag = async (nonce: Uint8Array, aad: Uint8Array, ct: Uint8Array): Promise<Uint8Array> => {
    const authData = concatBytes(be64(aad.length), be64(ct.length), be64(suite.nt), nonce, aad, ct)
    return new Uint8Array(await s.sign('HMAC', authKey, view(authData))).subarray(0, suite.nt)
  }
  const ctr = (nonce: Uint8Array) =>
    ({ name: 'AES-CTR', counter: view(counterBlock(nonce)), length: 32 }) as const
  return Object.freeze({
    suite,
    seal: async (nonce, aad, plaintext) => {
      const ct = new Uint8Array(await s.encrypt(ctr(nonce), encKey, view(plaintext)))
      return concatBytes(ct, await computeTag(nonce, aad, ct))
    },
    open: async (nonce, aad, ciphertext) => {
      if (ciphertext.length < suite.nt)
        throw new CallsError('auth-failed', 'SFrame ciphertext shorter than its tag')
      const inner = ciphertext.subarray(0, ciphertext.length - suite.nt)
      const tag = ciphertext.subarray(ciphertext.length - suite.nt)
      if (!equalBytes(tag, await computeTag(nonce, aad, inner))) {
        throw new CallsError('auth-failed', 'SFrame ciphertext did not authenticate')
      }
      return new Uint8Array(await s.decrypt(ctr(nonce), encKey, view(inner)))
    },
  } satisfies SFrameAeadKey)
}

/** RFC 9605 §4.4.3: nonce = sframe_salt XOR encode_big_endian(CTR, Nn). */
export function sframeNonce(salt: Uint8Array, ctr: bigint): Uint8Array {
  const nonce = salt.slice()
  if (ctr <= MAX_SAFE) {
    let value = Number(ctr)
    for (let i = nonce.length - 1; i >= 0 && value > 0; i--) {
      nonce[i] = nonce[i]! ^ (value % 256)
      value = Math.floor(value / 256)
    }
    return nonce
  }
  let value = ctr
  for (let i = nonce.length - 1; i >= 0 && value > 0n; i--) {
    nonce[i] = nonce[i]! ^ Number(value & 0xffn)
    value >>= 8n
  }
  return nonce
}

// ---------------------------------------------------------------------------------------------
// Replay window

export type ReplayVerdict = 'fresh' | 'duplicate' | 'too-old'

/**
 * Sliding window over the last SFRAME_REPLAY_WINDOW counters of one receive key: a counter more
 * than the window behind the highest authenticated one is `too-old`, one already accepted is a
 * `duplicate`. Only authenticated frames are marked, so forgeries cannot move the window.
 */
export class ReplayWindow {
  #highest = -1
  readonly #seen = new Uint8Array(SFRAME_REPLAY_WINDOW)

  check(ctr: number): ReplayVerdict {
    if (ctr > this.#highest) return 'fresh'
    if (ctr <= this.#highest - SFRAME_REPLAY_WINDOW) return 'too-old'
    return this.#seen[ctr % SFRAME_REPLAY_WINDOW] === 1 ? 'duplicate' : 'fresh'
  }

  mark(ctr: number): void {
    if (ctr > this.#highest) {
      const gap = Math.min(ctr - this.#highest - 1, SFRAME_REPLAY_WINDOW)
      for (let i = 1; i <= gap; i++) this.#seen[(ctr - i) % SFRAME_REPLAY_WINDOW] = 0
      this.#highest = ctr
    }
    this.#seen[ctr % SFRAME_REPLAY_WINDOW] = 1
  }
}

// ---------------------------------------------------------------------------------------------
// Context (RFC 9605 Appendix A): KID -> key, send counters, receive replay windows

interface KeyState {
  readonly kid: bigint
  readonly aead: SFrameAeadKey
  readonly salt: Uint8Array
}

interface SendKeyState extends KeyState {
  nextCounter: number
}

interface ReceiveKeyState extends KeyState {
  readonly replay: ReplayWindow
}

export type SFrameDecryptResult =
  | { readonly kind: 'plaintext'; readonly kid: bigint; readonly ctr: bigint; readonly plaintext: Uint8Array }
  | {
      readonly kind: 'replay'
      readonly kid: bigint
      readonly ctr: bigint
      readonly reason: 'duplicate' | 'too-old'
    }

/**
 * Called for a KID that has no receive key: returns the base key to try for it, or undefined.
 * The derived key is kept only after it has authenticated a frame (see `MAX_SFRAME_CANDIDATE_KEYS`).
 */
export type SFrameReceiveKeyResolver = (kid: bigint) => Uint8Array | undefined

export interface SFrameContextOptions {
  readonly resolveReceiveKey?: SFrameReceiveKeyResolver
}

function checkFrame(bytes: Uint8Array, field: string): void {
  if (!(bytes instanceof Uint8Array)) throw new CallsError('usage', `${field} must be a Uint8Array`)
  if (bytes.length > MAX_SFRAME_FRAME_BYTES) {
    throw new CallsError('limit-exceeded', `${field} is above ${MAX_SFRAME_FRAME_BYTES} bytes`)
  }
}

async function prepareKey(suite: SFrameSuiteId, kid: bigint, baseKey: Uint8Array): Promise<KeyState> {
  const material = await deriveSFrameKeyMaterial(suite, kid, baseKey)
  return { kid, aead: await importSFrameAeadKey(suite, material.key), salt: material.salt }
}

/**
 * One SFrame context: a suite, send keys with their counters, receive keys with their replay
 * windows. A KID is for sending or for receiving, never both (RFC 9605 §4.4.1).
 */
export class SFrameContext {
  readonly suite: SFrameSuite
  readonly #send = new Map<bigint, SendKeyState>()
  readonly #receive = new Map<bigint, ReceiveKeyState>()
  readonly #candidates = new Map<bigint, Promise<ReceiveKeyState | undefined>>()
  readonly #resolve: SFrameReceiveKeyResolver | undefined

  constructor(suite: SFrameSuiteId = TACIT_SFRAME_SUITE, options: SFrameContextOptions = {}) {
    this.suite = sframeSuite(suite)
    this.#resolve = options.resolveReceiveKey
  }

  #checkRoom(): void {
    if (this.#send.size + this.#receive.size >= MAX_SFRAME_KEYS) {
      throw new CallsError('limit-exceeded', `an SFrame context holds at most ${MAX_SFRAME_KEYS} keys`)
    }
  }

  async addSendKey(kid: bigint, baseKey: Uint8Array): Promise<void> {
    checkUint64(kid, 'kid')
    if (this.#receive.has(kid)) throw new CallsError('key-usage', 'this KID is already a receive key')
    const state = await prepareKey(this.suite.id, kid, baseKey)
    if (this.#receive.has(kid)) throw new CallsError('key-usage', 'this KID is already a receive key')
    if (!this.#send.has(kid)) this.#checkRoom()
    // A fresh base key starts at counter 0; re-adding the same KID must not reuse counters.
    const previous = this.#send.get(kid)
    this.#send.set(kid, { ...state, nextCounter: previous?.nextCounter ?? 0 })
  }

  async addReceiveKey(kid: bigint, baseKey: Uint8Array): Promise<void> {
    checkUint64(kid, 'kid')
    if (this.#send.has(kid)) throw new CallsError('key-usage', 'this KID is already a send key')
    const state = await prepareKey(this.suite.id, kid, baseKey)
    if (this.#send.has(kid)) throw new CallsError('key-usage', 'this KID is already a send key')
    if (!this.#receive.has(kid)) this.#checkRoom()
    this.#receive.set(kid, { ...state, replay: new ReplayWindow() })
    this.#candidates.delete(kid)
  }

  /** Forgets a KID (send or receive). Sending with it again is refused unless re-added. */
  removeKey(kid: bigint): void {
    this.#send.delete(kid)
    this.#receive.delete(kid)
    this.#candidates.delete(kid)
  }

  /** Forgets every receive key (and cached candidate) whose KID matches. */
  removeReceiveKeys(match: (kid: bigint) => boolean): void {
    for (const kid of [...this.#receive.keys()]) if (match(kid)) this.#receive.delete(kid)
    for (const kid of [...this.#candidates.keys()]) if (match(kid)) this.#candidates.delete(kid)
  }

  hasSendKey(kid: bigint): boolean {
    return this.#send.has(kid)
  }

  receiveKids(): bigint[] {
    return [...this.#receive.keys()]
  }

  /** The counter the next frame under `kid` will carry. */
  nextCounter(kid: bigint): number | undefined {
    return this.#send.get(kid)?.nextCounter
  }

  /**
   * RFC 9605 §4.4.3. Returns header ‖ ciphertext, or metadata ‖ header ‖ ciphertext with
   * `metadataInFront` (a media frame whose clear codec bytes are the metadata, built in one buffer
   * instead of copied twice). The counter is taken before the first await, so concurrent calls
   * never share a (KID, CTR) pair (§4.3 MUST).
   */
  async encrypt(
    kid: bigint,
    plaintext: Uint8Array,
    metadata: Uint8Array = EMPTY,
    metadataInFront = false,
  ): Promise<Uint8Array> {
    checkFrame(plaintext, 'plaintext')
    checkFrame(metadata, 'metadata')
    const state = this.#send.get(kid)
    if (state === undefined) throw new CallsError('unknown-kid', 'no send key for this KID')
    const counter = state.nextCounter
    if (counter > MAX_SFRAME_COUNTER) throw new CallsError('counter-exhausted', 'this send key is used up')
    state.nextCounter = counter + 1
    const ctr = BigInt(counter)
    const header = encodeSFrameHeader(kid, ctr)
    const aad = metadata.length === 0 ? header : concatBytes(header, metadata)
    const ciphertext = await state.aead.seal(sframeNonce(state.salt, ctr), aad, plaintext)
    if (!metadataInFront) return concatBytes(header, ciphertext)
    const out = new Uint8Array(aad.length + ciphertext.length)
    out.set(metadata)
    out.set(header, metadata.length)
    out.set(ciphertext, aad.length)
    return out
  }

  async #receiveKey(kid: bigint): Promise<{ state: ReceiveKeyState; candidate: boolean } | undefined> {
    const known = this.#receive.get(kid)
    if (known !== undefined) return { state: known, candidate: false }
    if (this.#resolve === undefined || this.#send.has(kid)) return undefined
    let pending = this.#candidates.get(kid)
    if (pending === undefined) {
      const baseKey = this.#resolve(kid)
      if (baseKey === undefined) return undefined
      if (this.#candidates.size >= MAX_SFRAME_CANDIDATE_KEYS) {
        const oldest = this.#candidates.keys().next().value
        if (oldest !== undefined) this.#candidates.delete(oldest)
      }
      pending = prepareKey(this.suite.id, kid, baseKey).then(
        (state) => ({ ...state, replay: new ReplayWindow() }),
        () => undefined,
      )
      this.#candidates.set(kid, pending)
    }
    const state = await pending
    if (state === undefined) return undefined
    // Another frame may have promoted this KID while we waited: share its replay window.
    const promoted = this.#receive.get(kid)
    return promoted === undefined ? { state, candidate: true } : { state: promoted, candidate: false }
  }

  /**
   * RFC 9605 §4.4.4. Throws CallsError with `invalid-header`, `unknown-kid`, `auth-failed` or
   * `limit-exceeded`; a replayed counter is the `replay` result instead (dropped silently).
   */
  async decrypt(sframeCiphertext: Uint8Array, metadata: Uint8Array = EMPTY): Promise<SFrameDecryptResult> {
    checkFrame(sframeCiphertext, 'ciphertext')
    checkFrame(metadata, 'metadata')
    const header = decodeSFrameHeader(sframeCiphertext)
    const { kid, ctr } = header
    const found = await this.#receiveKey(kid)
    if (found === undefined) throw new CallsError('unknown-kid', 'no receive key for this KID')
    if (ctr > BigInt(MAX_SFRAME_COUNTER))
      throw new CallsError('limit-exceeded', 'SFrame counter above the maximum')
    const counter = Number(ctr)
    const before = found.state.replay.check(counter)
    if (before !== 'fresh') return { kind: 'replay', kid, ctr, reason: before }
    const headerBytes = sframeCiphertext.subarray(0, header.length)
    const aad = metadata.length === 0 ? headerBytes : concatBytes(headerBytes, metadata)
    const plaintext = await found.state.aead.open(
      sframeNonce(found.state.salt, ctr),
      aad,
      sframeCiphertext.subarray(header.length),
    )
    // Re-check: a copy of this frame may have been accepted while we awaited.
    const state = found.candidate ? this.#promote(kid, found.state) : found.state
    const after = state.replay.check(counter)
    if (after !== 'fresh') return { kind: 'replay', kid, ctr, reason: after }
    state.replay.mark(counter)
    return { kind: 'plaintext', kid, ctr, plaintext }
  }

  #promote(kid: bigint, state: ReceiveKeyState): ReceiveKeyState {
    const existing = this.#receive.get(kid)
    if (existing !== undefined) return existing
    if (this.#send.size + this.#receive.size >= MAX_SFRAME_KEYS) {
      throw new CallsError('limit-exceeded', `an SFrame context holds at most ${MAX_SFRAME_KEYS} keys`)
    }
    this.#receive.set(kid, state)
    this.#candidates.delete(kid)
    return state
  }
}
