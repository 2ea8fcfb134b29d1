import {
  AEAD_KEY_LENGTH,
  AEAD_NONCE_LENGTH,
  type AeadName,
  type CryptoBackend,
  HASH_LENGTH,
  type HashName,
} from '../backend.ts'
import { abytes, concatBytes, i2osp, utf8 } from '../bytes.ts'
import { CryptoError } from '../errors.ts'
import { createHpkeKem, type HpkeKem, type KemName, labeledExpand, labeledExtract } from './kem.ts'

/**
 * RFC 9180 HPKE: the key schedule (§5.1), encryption contexts (§5.2), the secret export
 * interface (§5.3) and single-shot APIs (§6), composed from backend primitives. Modes: base
 * (what MLS uses, RFC 9420 §5.1.3) and psk; the auth modes are not offered.
 */

export type KdfName = 'HKDF-SHA256' | 'HKDF-SHA384' | 'HKDF-SHA512'
/** 'Export-only' is RFC 9180 §7.3 aead_id 0xFFFF: a context that can export but not seal. */
export type HpkeAeadName = AeadName | 'Export-only'

export interface HpkeSuiteParams {
  readonly kem: KemName
  readonly kdf: KdfName
  readonly aead: HpkeAeadName
}

const KDF: Readonly<Record<KdfName, { id: number; hash: HashName }>> = {
  'HKDF-SHA256': { id: 0x0001, hash: 'SHA-256' },
  'HKDF-SHA384': { id: 0x0002, hash: 'SHA-384' },
  'HKDF-SHA512': { id: 0x0003, hash: 'SHA-512' },
}

const AEAD: Readonly<Record<HpkeAeadName, number>> = {
  'AES-128-GCM': 0x0001,
  'AES-256-GCM': 0x0002,
  'ChaCha20-Poly1305': 0x0003,
  'Export-only': 0xffff,
}

/** Caps on caller-supplied HPKE inputs (RFC 9180 §7.2.1 leaves them to the implementation). */
/**
 * MLS passes the encrypted GroupInfo of a Welcome as HPKE `info` (RFC 9420 §5.1.3 EncryptWithLabel
 * context, §12.4.3.1), and it carries the ratchet tree: about 3 MiB for 1,000 X-Wing members. RFC
 * 9180 §7.2.1 bounds `info` only by the hash's input limit, so ours matches the largest MLS
 * handshake message we accept.
 */
export const MAX_HPKE_INFO = 16 * 1024 * 1024
export const MAX_HPKE_PSK = 1024
export const MAX_HPKE_EXPORTER_CONTEXT = 64 * 1024
/**
 * Messages per context. RFC 9180 §5.2 allows up to 2^(8*Nn) - 1; a JS number counter stays exact
 * far beyond this, and MLS seals one message per context.
 */
export const MAX_HPKE_SEQUENCE = 2 ** 32

const MODE_BASE = 0x00
const MODE_PSK = 0x01

export interface HpkeSuite {
  readonly params: HpkeSuiteParams
  readonly kem: HpkeKem
  readonly hash: HashName
  /** Nk and Nn of the AEAD (0 for Export-only). */
  readonly keyLength: number
  readonly nonceLength: number
  readonly backend: CryptoBackend
  /** RFC 9180 §5.1: concat("HPKE", kem_id, kdf_id, aead_id). */
  readonly suiteId: Uint8Array
}

export function kdfNameOf(id: number): KdfName | undefined {
  for (const [name, k] of Object.entries(KDF)) if (k.id === id) return name as KdfName
  return undefined
}

export function aeadNameOf(id: number): HpkeAeadName | undefined {
  for (const [name, value] of Object.entries(AEAD)) if (value === id) return name as HpkeAeadName
  return undefined
}

/** Builds a suite; throws `unsupported-algorithm` for anything the backend does not offer. */
export function createHpkeSuite(backend: CryptoBackend, params: HpkeSuiteParams): HpkeSuite {
  const kdf = KDF[params.kdf]
  const aeadId = AEAD[params.aead]
  if (kdf === undefined) throw new CryptoError('unsupported-algorithm', `KDF ${String(params.kdf)}`)
  if (aeadId === undefined) throw new CryptoError('unsupported-algorithm', `AEAD ${String(params.aead)}`)
  if (!backend.supports(kdf.hash))
    throw new CryptoError('unsupported-algorithm', `${params.kdf} on ${backend.name}`)
  if (params.aead !== 'Export-only' && !backend.supports(params.aead)) {
    throw new CryptoError('unsupported-algorithm', `${params.aead} on ${backend.name}`)
  }
  const kem = createHpkeKem(backend, params.kem)
  const exportOnly = params.aead === 'Export-only'
  return Object.freeze({
    params: Object.freeze({ ...params }),
    kem,
    hash: kdf.hash,
    keyLength: exportOnly ? 0 : AEAD_KEY_LENGTH[params.aead as AeadName],
    nonceLength: exportOnly ? 0 : AEAD_NONCE_LENGTH,
    backend,
    suiteId: concatBytes(utf8.encode('HPKE'), i2osp(kem.id, 2), i2osp(kdf.id, 2), i2osp(aeadId, 2)),
  })
}

export interface HpkePsk {
  readonly psk: Uint8Array
  readonly pskId: Uint8Array
}

/** The RFC 9180 §5.1 key schedule outputs; exposed for test vectors. Secret: never log. */
export interface HpkeKeySchedule {
  readonly key: Uint8Array
  readonly baseNonce: Uint8Array
  readonly exporterSecret: Uint8Array
}

/** RFC 9180 §5.1 KeySchedule. */
export async function keySchedule(
  suite: HpkeSuite,
  sharedSecret: Uint8Array,
  info: Uint8Array,
  psk?: HpkePsk,
): Promise<HpkeKeySchedule> {
  abytes(info, 'info')
  if (info.length > MAX_HPKE_INFO)
    throw new CryptoError('limit-exceeded', `info longer than ${MAX_HPKE_INFO} bytes`)
  const pskBytes = psk?.psk ?? new Uint8Array()
  const pskId = psk?.pskId ?? new Uint8Array()
  abytes(pskBytes, 'psk')
  abytes(pskId, 'pskId')
  if (pskBytes.length > MAX_HPKE_PSK || pskId.length > MAX_HPKE_PSK) {
    throw new CryptoError('limit-exceeded', `psk or psk_id longer than ${MAX_HPKE_PSK} bytes`)
  }
  // RFC 9180 §5.1.2 VerifyPSKInputs: both present or both absent; §9.5: psk of at least 32 bytes.
  if (psk !== undefined && (pskBytes.length < 32 || pskId.length === 0)) {
    throw new CryptoError('invalid-length', 'psk must be at least 32 bytes with a non-empty psk_id')
  }
  const mode = psk === undefined ? MODE_BASE : MODE_PSK
  const { backend, hash, suiteId } = suite
  const empty = new Uint8Array()
  const pskIdHash = await labeledExtract(backend, hash, suiteId, empty, 'psk_id_hash', pskId)
  const infoHash = await labeledExtract(backend, hash, suiteId, empty, 'info_hash', info)
  const context = concatBytes(Uint8Array.of(mode), pskIdHash, infoHash)
  const secret = await labeledExtract(backend, hash, suiteId, sharedSecret, 'secret', pskBytes)
  const key =
    suite.keyLength === 0
      ? empty
      : await labeledExpand(backend, hash, suiteId, secret, 'key', context, suite.keyLength)
  const baseNonce =
    suite.nonceLength === 0
      ? empty
      : await labeledExpand(backend, hash, suiteId, secret, 'base_nonce', context, suite.nonceLength)
  const exporterSecret = await labeledExpand(
    backend,
    hash,
    suiteId,
    secret,
    'exp',
    context,
    HASH_LENGTH[hash],
  )
  return { key, baseNonce, exporterSecret }
}

/** An RFC 9180 §5.2 encryption context (one direction). */
export class HpkeContext {
  readonly #suite: HpkeSuite
  readonly #schedule: HpkeKeySchedule
  #sequence = 0

  constructor(suite: HpkeSuite, schedule: HpkeKeySchedule) {
    this.#suite = suite
    this.#schedule = schedule
  }

  /** RFC 9180 §5.2 ComputeNonce: base_nonce XOR I2OSP(seq, Nn). */
  #nextNonce(): Uint8Array {
    if (this.#suite.params.aead === 'Export-only') {
      throw new CryptoError('unsupported-algorithm', 'an Export-only HPKE context cannot seal or open')
    }
    if (this.#sequence >= MAX_HPKE_SEQUENCE)
      throw new CryptoError('limit-exceeded', 'HPKE sequence number exhausted')
    const nonce = i2osp(this.#sequence, this.#suite.nonceLength)
    for (let i = 0; i < nonce.length; i++) nonce[i] = nonce[i]! ^ this.#schedule.baseNonce[i]!
    return nonce
  }

  /** Sets the sequence number (test vectors start at seq 1 and 256); never use to reuse a nonce. */
  skipTo(sequence: number): void {
    if (!Number.isSafeInteger(sequence) || sequence < this.#sequence) {
      throw new CryptoError('nonce-reuse', 'the HPKE sequence number only moves forward')
    }
    this.#sequence = sequence
  }

  async seal(aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array> {
    const nonce = this.#nextNonce()
    const ct = await this.#suite.backend.aead.seal(
      this.#suite.params.aead as AeadName,
      this.#schedule.key,
      nonce,
      aad,
      plaintext,
    )
    this.#sequence++
    return ct
  }

  async open(aad: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array> {
    const nonce = this.#nextNonce()
    const pt = await this.#suite.backend.aead.open(
      this.#suite.params.aead as AeadName,
      this.#schedule.key,
      nonce,
      aad,
      ciphertext,
    )
    // RFC 9180 §5.2: the sequence number advances only on success.
    this.#sequence++
    return pt
  }

  /** RFC 9180 §5.3 Export: LabeledExpand(exporter_secret, "sec", exporter_context, L). */
  async export(exporterContext: Uint8Array, length: number): Promise<Uint8Array> {
    abytes(exporterContext, 'exporterContext')
    if (exporterContext.length > MAX_HPKE_EXPORTER_CONTEXT) {
      throw new CryptoError(
        'limit-exceeded',
        `exporter context longer than ${MAX_HPKE_EXPORTER_CONTEXT} bytes`,
      )
    }
    const { backend, hash, suiteId } = this.#suite
    return labeledExpand(
      backend,
      hash,
      suiteId,
      this.#schedule.exporterSecret,
      'sec',
      exporterContext,
      length,
    )
  }
}

/** RFC 9180 §5.1.1 SetupBaseS (and §5.1.2 SetupPSKS when `psk` is given). */
export async function setupSender(
  suite: HpkeSuite,
  recipientPublicKey: Uint8Array,
  info: Uint8Array,
  options: { psk?: HpkePsk; ephemeral?: Uint8Array } = {},
): Promise<{ enc: Uint8Array; context: HpkeContext }> {
  const { sharedSecret, enc } = await suite.kem.encap(recipientPublicKey, options.ephemeral)
  return { enc, context: new HpkeContext(suite, await keySchedule(suite, sharedSecret, info, options.psk)) }
}

/** RFC 9180 §5.1.1 SetupBaseR (and §5.1.2 SetupPSKR when `psk` is given). */
export async function setupRecipient(
  suite: HpkeSuite,
  enc: Uint8Array,
  recipientPrivateKey: Uint8Array,
  recipientPublicKey: Uint8Array,
  info: Uint8Array,
  options: { psk?: HpkePsk } = {},
): Promise<HpkeContext> {
  const sharedSecret = await suite.kem.decap(enc, recipientPrivateKey, recipientPublicKey)
  return new HpkeContext(suite, await keySchedule(suite, sharedSecret, info, options.psk))
}

/** RFC 9180 §6.1 single-shot Seal (base mode). */
export async function sealBase(
  suite: HpkeSuite,
  recipientPublicKey: Uint8Array,
  info: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
): Promise<{ enc: Uint8Array; ct: Uint8Array }> {
  const { enc, context } = await setupSender(suite, recipientPublicKey, info)
  return { enc, ct: await context.seal(aad, plaintext) }
}

/** RFC 9180 §6.1 single-shot Open (base mode). */
export async function openBase(
  suite: HpkeSuite,
  enc: Uint8Array,
  recipientPrivateKey: Uint8Array,
  recipientPublicKey: Uint8Array,
  info: Uint8Array,
  aad: Uint8Array,
  ciphertext: Uint8Array,
): Promise<Uint8Array> {
  const context = await setupRecipient(suite, enc, recipientPrivateKey, recipientPublicKey, info)
  return context.open(aad, ciphertext)
}

/** RFC 9180 §6.2 single-shot SendExport (base mode). */
export async function sendExportBase(
  suite: HpkeSuite,
  recipientPublicKey: Uint8Array,
  info: Uint8Array,
  exporterContext: Uint8Array,
  length: number,
): Promise<{ enc: Uint8Array; secret: Uint8Array }> {
  const { enc, context } = await setupSender(suite, recipientPublicKey, info)
  return { enc, secret: await context.export(exporterContext, length) }
}

/** RFC 9180 §6.2 single-shot ReceiveExport (base mode). */
export async function receiveExportBase(
  suite: HpkeSuite,
  enc: Uint8Array,
  recipientPrivateKey: Uint8Array,
  recipientPublicKey: Uint8Array,
  info: Uint8Array,
  exporterContext: Uint8Array,
  length: number,
): Promise<Uint8Array> {
  const context = await setupRecipient(suite, enc, recipientPrivateKey, recipientPublicKey, info)
  return context.export(exporterContext, length)
}
