/**
 * The application-message path of RFC 9420 §6.3 (PrivateMessage), written directly over ts-mls
 * 1.6.4's state so that sending and receiving a chat message costs little beyond its crypto
 * (docs/decisions/0010). ts-mls builds every structure through a closure and a DataView per
 * field and re-encodes the GroupContext for each message; here each message is laid out in a
 * handful of pre-sized buffers and the encoded GroupContext is kept per epoch.
 *
 * The library stays the reference: the state read and produced here is the library's own
 * (`ClientState.secretTree` advanced exactly as `consumeRatchet` / `ratchetToGeneration` do),
 * messages from here are opened by the library and the other way round (tested in both
 * suites), and the receive side is a strict *subset* of the library's: anything it does not
 * recognise — another content type, a past epoch, an out-of-order or skipped generation, a
 * non-minimal length, any decryption or verification failure — returns `undefined`, and the
 * caller hands the unchanged bytes to ts-mls, which decides and reports the error. Nothing
 * here ever accepts a message the library would reject.
 *
 * Every primitive comes from the suite's provider (`CiphersuiteImpl`): HKDF-Expand for
 * ExpandWithLabel (§8), the AEAD, the signature scheme and the RNG for the reuse guard.
 */
import type { CiphersuiteImpl, ClientState } from 'ts-mls'
import { checkCanSendApplicationMessages } from 'ts-mls/clientState.js'
import { encodeGroupContext, type GroupContext } from 'ts-mls/groupContext.js'
import { byteLengthToPad } from 'ts-mls/paddingConfig.js'
import type { SecretTree, SecretTreeNode } from 'ts-mls/secretTree.js'
import { ProtocolError } from './errors.ts'

// RFC 9420 §6 / §17: the code points this path writes and accepts.
const PROTOCOL_VERSION_MLS10 = 1
const WIRE_FORMAT_PRIVATE_MESSAGE = 2
const CONTENT_TYPE_APPLICATION = 1
const SENDER_TYPE_MEMBER = 1
/** §6.3.2: SenderData is leaf_index (uint32), generation (uint32), reuse_guard[4]. */
const SENDER_DATA_LENGTH = 12
const REUSE_GUARD_LENGTH = 4
/** §9: generation is a uint32; a chain that reached it cannot send again in this epoch. */
export const MAX_GENERATION = 0xffff_ffff

const utf8 = new TextEncoder()

// ---------------------------------------------------------------------------------------------
// TLS presentation language (RFC 9420 §2.1.2: vector lengths as variable-size integers)

/** Bytes the variable-size length header of a vector of `length` bytes takes. */
function lengthHeaderSize(length: number): number {
  if (length < 0x40) return 1
  if (length < 0x4000) return 2
  if (length < 0x4000_0000) return 4
  throw new ProtocolError('too-large', 'vector longer than 2^30 - 1 bytes')
}

function vectorSize(length: number): number {
  return lengthHeaderSize(length) + length
}

/** Writes the minimal length header of a `length`-byte vector at `offset`; returns the new offset. */
function writeLength(out: Uint8Array, offset: number, length: number): number {
  if (length < 0x40) {
    out[offset] = length
    return offset + 1
  }
  if (length < 0x4000) {
    out[offset] = 0x40 | (length >>> 8)
    out[offset + 1] = length & 0xff
    return offset + 2
  }
  out[offset] = 0x80 | (length >>> 24)
  out[offset + 1] = (length >>> 16) & 0xff
  out[offset + 2] = (length >>> 8) & 0xff
  out[offset + 3] = length & 0xff
  return offset + 4
}

function writeVector(out: Uint8Array, offset: number, data: Uint8Array): number {
  const at = writeLength(out, offset, data.length)
  out.set(data, at)
  return at + data.length
}

function writeU32(out: Uint8Array, offset: number, value: number): number {
  out[offset] = value >>> 24
  out[offset + 1] = (value >>> 16) & 0xff
  out[offset + 2] = (value >>> 8) & 0xff
  out[offset + 3] = value & 0xff
  return offset + 4
}

function readU32(bytes: Uint8Array, offset: number): number {
  return (
    ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>>
    0
  )
}

function encodeVector(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(vectorSize(data.length))
  writeVector(out, 0, data)
  return out
}

/**
 * A strict reader: vector lengths must use the minimal header (the library also takes
 * non-minimal ones; such input simply leaves this path and goes to the library). Every read
 * returns undefined past the end instead of throwing.
 */
class StrictReader {
  offset = 0
  constructor(readonly bytes: Uint8Array) {}

  u8(): number | undefined {
    return this.offset < this.bytes.length ? this.bytes[this.offset++] : undefined
  }

  u16(): number | undefined {
    if (this.offset + 2 > this.bytes.length) return undefined
    const v = (this.bytes[this.offset]! << 8) | this.bytes[this.offset + 1]!
    this.offset += 2
    return v
  }

  skip(length: number): boolean {
    if (this.offset + length > this.bytes.length) return false
    this.offset += length
    return true
  }

  vector(): Uint8Array | undefined {
    const b = this.bytes
    const at = this.offset
    if (at >= b.length) return undefined
    const first = b[at]!
    let length: number
    let header: number
    switch (first >>> 6) {
      case 0:
        length = first
        header = 1
        break
      case 1:
        if (at + 2 > b.length) return undefined
        length = ((first & 0x3f) << 8) | b[at + 1]!
        header = 2
        if (length < 0x40) return undefined
        break
      case 2:
        if (at + 4 > b.length) return undefined
        length = ((first & 0x3f) << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!
        header = 4
        if (length < 0x4000) return undefined
        break
      default:
        return undefined
    }
    const end = at + header + length
    if (end > b.length) return undefined
    this.offset = end
    return b.subarray(at + header, end)
  }

  get done(): boolean {
    return this.offset === this.bytes.length
  }
}

// ---------------------------------------------------------------------------------------------
// ExpandWithLabel (RFC 9420 §8) with the KDFLabel prefix built once per (label, length)

const kdfLabelPrefixes = new Map<string, Uint8Array>()

/** uint16 length || opaque label<V> = "MLS 1.0 " + label: the context-independent part of KDFLabel. */
function kdfLabelPrefix(label: string, length: number): Uint8Array {
  const id = `${length}/${label}`
  let prefix = kdfLabelPrefixes.get(id)
  if (prefix === undefined) {
    const name = encodeVector(utf8.encode(`MLS 1.0 ${label}`))
    prefix = new Uint8Array(2 + name.length)
    prefix[0] = length >>> 8
    prefix[1] = length & 0xff
    prefix.set(name, 2)
    kdfLabelPrefixes.set(id, prefix)
  }
  return prefix
}

/** ExpandWithLabel(secret, label, context, length) = KDF.Expand(secret, KDFLabel, length). */
function expandWithLabel(
  cs: CiphersuiteImpl,
  secret: Uint8Array,
  label: string,
  context: Uint8Array,
  length: number,
): Promise<Uint8Array> {
  const prefix = kdfLabelPrefix(label, length)
  const info = new Uint8Array(prefix.length + vectorSize(context.length))
  info.set(prefix, 0)
  writeVector(info, prefix.length, context)
  return cs.kdf.expand(secret, info, length)
}

/** DeriveTreeSecret(secret, label, generation, length) (§9): the context is the uint32 generation. */
function deriveTreeSecret(
  cs: CiphersuiteImpl,
  secret: Uint8Array,
  label: string,
  generation: number,
  length: number,
): Promise<Uint8Array> {
  const prefix = kdfLabelPrefix(label, length)
  const info = new Uint8Array(prefix.length + 5)
  info.set(prefix, 0)
  info[prefix.length] = 4
  writeU32(info, prefix.length + 1, generation)
  return cs.kdf.expand(secret, info, length)
}

interface MessageKeys {
  readonly key: Uint8Array
  /** The nonce already XORed with the reuse guard (§6.3.1). */
  readonly nonce: Uint8Array
  /** The chain's secret for `generation + 1`. */
  readonly next: Uint8Array
}

/** §9.1: key, nonce and next secret of one ratchet step; the nonce's first 4 bytes XOR the guard. */
async function ratchetStep(
  cs: CiphersuiteImpl,
  secret: Uint8Array,
  generation: number,
  reuseGuard: Uint8Array,
): Promise<MessageKeys> {
  const key = await deriveTreeSecret(cs, secret, 'key', generation, cs.hpke.keyLength)
  const nonce = await deriveTreeSecret(cs, secret, 'nonce', generation, cs.hpke.nonceLength)
  for (let i = 0; i < REUSE_GUARD_LENGTH; i++) nonce[i] = nonce[i]! ^ reuseGuard[i]!
  const next = await deriveTreeSecret(cs, secret, 'secret', generation, cs.kdf.size)
  return { key, nonce, next }
}

/** §6.3.2: sender_data key and nonce from the first KDF.Nh bytes of the content ciphertext. */
async function senderDataKeys(
  cs: CiphersuiteImpl,
  senderDataSecret: Uint8Array,
  ciphertext: Uint8Array,
): Promise<{ key: Uint8Array; nonce: Uint8Array }> {
  const sample = ciphertext.length < cs.kdf.size ? ciphertext : ciphertext.subarray(0, cs.kdf.size)
  const key = await expandWithLabel(cs, senderDataSecret, 'key', sample, cs.hpke.keyLength)
  const nonce = await expandWithLabel(cs, senderDataSecret, 'nonce', sample, cs.hpke.nonceLength)
  return { key, nonce }
}

// ---------------------------------------------------------------------------------------------
// What stays the same for a whole epoch

interface EpochEncoding {
  /** The fields it was built from, compared by identity before each use. */
  readonly source: GroupContext
  readonly groupId: Uint8Array
  readonly epoch: bigint
  readonly treeHash: Uint8Array
  readonly confirmedTranscriptHash: Uint8Array
  readonly extensions: GroupContext['extensions']
  /** The GroupContext as the TLS struct of §8.1 (the library's encoder, run once per epoch). */
  readonly groupContext: Uint8Array
  /** opaque group_id<V> || uint64 epoch: the head of FramedContent, both AADs and PrivateMessage. */
  readonly groupIdEpoch: Uint8Array
  /** §6.3.2 SenderDataAAD: group_id, epoch, content_type = application. */
  readonly senderDataAad: Uint8Array
  /** §6.3.1 PrivateContentAAD for empty authenticated_data, the usual case. */
  readonly contentAadEmpty: Uint8Array
}

const epochEncodings = new WeakMap<GroupContext, EpochEncoding>()

function epochEncoding(context: GroupContext): EpochEncoding {
  const cached = epochEncodings.get(context)
  if (
    cached !== undefined &&
    cached.groupId === context.groupId &&
    cached.epoch === context.epoch &&
    cached.treeHash === context.treeHash &&
    cached.confirmedTranscriptHash === context.confirmedTranscriptHash &&
    cached.extensions === context.extensions
  ) {
    return cached
  }
  const groupIdEpoch = new Uint8Array(vectorSize(context.groupId.length) + 8)
  const at = writeVector(groupIdEpoch, 0, context.groupId)
  writeU32(groupIdEpoch, at, Number(context.epoch >> 32n))
  writeU32(groupIdEpoch, at + 4, Number(context.epoch & 0xffff_ffffn))
  const senderDataAad = new Uint8Array(groupIdEpoch.length + 1)
  senderDataAad.set(groupIdEpoch, 0)
  senderDataAad[groupIdEpoch.length] = CONTENT_TYPE_APPLICATION
  const contentAadEmpty = new Uint8Array(senderDataAad.length + 1)
  contentAadEmpty.set(senderDataAad, 0)
  const entry: EpochEncoding = {
    source: context,
    groupId: context.groupId,
    epoch: context.epoch,
    treeHash: context.treeHash,
    confirmedTranscriptHash: context.confirmedTranscriptHash,
    extensions: context.extensions,
    groupContext: encodeGroupContext(context),
    groupIdEpoch,
    senderDataAad,
    contentAadEmpty,
  }
  epochEncodings.set(context, entry)
  return entry
}

/** §6.3.1 PrivateContentAAD: group_id, epoch, content_type = application, authenticated_data<V>. */
function contentAad(epoch: EpochEncoding, authenticatedData: Uint8Array): Uint8Array {
  if (authenticatedData.length === 0) return epoch.contentAadEmpty
  const head = epoch.senderDataAad
  const out = new Uint8Array(head.length + vectorSize(authenticatedData.length))
  out.set(head, 0)
  writeVector(out, head.length, authenticatedData)
  return out
}

const SIGN_LABEL = encodeVector(utf8.encode('MLS 1.0 FramedContentTBS'))

/**
 * §6.1 SignWithLabel's SignContent for an application message sent as a PrivateMessage:
 *   opaque label<V> = "MLS 1.0 FramedContentTBS";
 *   opaque content<V> = FramedContentTBS {
 *     version = mls10, wire_format = mls_private_message,
 *     FramedContent { group_id<V>, epoch, sender = member(leaf_index), authenticated_data<V>,
 *                     content_type = application, application_data<V> },
 *     GroupContext (sender_type member) }
 */
function signContent(
  epoch: EpochEncoding,
  leafIndex: number,
  authenticatedData: Uint8Array,
  applicationData: Uint8Array,
): Uint8Array {
  const tbsLength =
    2 +
    2 +
    epoch.groupIdEpoch.length +
    1 +
    4 +
    vectorSize(authenticatedData.length) +
    1 +
    vectorSize(applicationData.length) +
    epoch.groupContext.length
  const out = new Uint8Array(SIGN_LABEL.length + vectorSize(tbsLength))
  out.set(SIGN_LABEL, 0)
  let at = writeLength(out, SIGN_LABEL.length, tbsLength)
  out[at++] = 0
  out[at++] = PROTOCOL_VERSION_MLS10
  out[at++] = 0
  out[at++] = WIRE_FORMAT_PRIVATE_MESSAGE
  out.set(epoch.groupIdEpoch, at)
  at += epoch.groupIdEpoch.length
  out[at++] = SENDER_TYPE_MEMBER
  at = writeU32(out, at, leafIndex)
  at = writeVector(out, at, authenticatedData)
  out[at++] = CONTENT_TYPE_APPLICATION
  at = writeVector(out, at, applicationData)
  out.set(epoch.groupContext, at)
  return out
}

function secretTreeNode(tree: SecretTree, leafIndex: number): SecretTreeNode | undefined {
  return tree[leafIndex * 2]
}

// ---------------------------------------------------------------------------------------------
// Sending

export interface SealedApplicationMessage {
  readonly state: ClientState
  /** The encoded MLSMessage (version, wire_format, PrivateMessage). */
  readonly message: Uint8Array
  /** The generation secret and message key now used; erase them once the new state is durable. */
  readonly consumed: Uint8Array[]
}

/**
 * Encrypts one application message (§6.3) from this member's current application ratchet and
 * returns the state with that ratchet advanced, exactly as ts-mls's `createApplicationMessage`
 * followed by `encodeMlsMessage` would, with a fresh reuse guard.
 */
export async function sealApplicationMessage(
  state: ClientState,
  cs: CiphersuiteImpl,
  applicationData: Uint8Array,
  authenticatedData: Uint8Array,
): Promise<SealedApplicationMessage> {
  checkCanSendApplicationMessages(state)
  const context = state.groupContext
  if (context.version !== 'mls10') throw new ProtocolError('internal', 'group is not at protocol mls10')
  const epoch = epochEncoding(context)
  const leafIndex = state.privatePath.leafIndex
  const node = secretTreeNode(state.secretTree, leafIndex)
  if (node === undefined) throw new ProtocolError('internal', 'no secret tree node for our own leaf')
  const chain = node.application
  const generation = chain.generation
  if (!Number.isInteger(generation) || generation < 0 || generation > MAX_GENERATION) {
    throw new ProtocolError('usage', 'this epoch has no message keys left: commit to start a new epoch')
  }

  // §6.1: the signature covers the FramedContentTBS; §6.3.1: PrivateMessageContent is
  // application_data<V> || FramedContentAuthData (signature<V>) || zero padding.
  const signature = await cs.signature.sign(
    state.signaturePrivateKey,
    signContent(epoch, leafIndex, authenticatedData, applicationData),
  )
  const contentLength = vectorSize(applicationData.length) + vectorSize(signature.length)
  const content = new Uint8Array(
    contentLength + byteLengthToPad(contentLength, state.clientConfig.paddingConfig),
  )
  writeVector(content, writeVector(content, 0, applicationData), signature)

  const reuseGuard = cs.rng.randomBytes(REUSE_GUARD_LENGTH)
  const keys = await ratchetStep(cs, chain.secret, generation, reuseGuard)
  const ciphertext = await cs.hpke.encryptAead(
    keys.key,
    keys.nonce,
    contentAad(epoch, authenticatedData),
    content,
  )

  // §6.3.2: SenderData, encrypted under keys derived from a sample of the ciphertext.
  const senderData = new Uint8Array(SENDER_DATA_LENGTH)
  writeU32(senderData, 0, leafIndex)
  writeU32(senderData, 4, generation)
  senderData.set(reuseGuard, 8)
  const sd = await senderDataKeys(cs, state.keySchedule.senderDataSecret, ciphertext)
  const encryptedSenderData = await cs.hpke.encryptAead(sd.key, sd.nonce, epoch.senderDataAad, senderData)

  // §6: MLSMessage { version, wire_format, PrivateMessage { group_id, epoch, content_type,
  // authenticated_data<V>, encrypted_sender_data<V>, ciphertext<V> } }.
  const message = new Uint8Array(
    4 +
      epoch.groupIdEpoch.length +
      1 +
      vectorSize(authenticatedData.length) +
      vectorSize(encryptedSenderData.length) +
      vectorSize(ciphertext.length),
  )
  message[1] = PROTOCOL_VERSION_MLS10
  message[3] = WIRE_FORMAT_PRIVATE_MESSAGE
  message.set(epoch.groupIdEpoch, 4)
  let at = 4 + epoch.groupIdEpoch.length
  message[at++] = CONTENT_TYPE_APPLICATION
  at = writeVector(message, at, authenticatedData)
  at = writeVector(message, at, encryptedSenderData)
  writeVector(message, at, ciphertext)

  // The ratchet advances exactly as the library's consumeRatchet: same node, same shape.
  const tree = state.secretTree.slice()
  tree[leafIndex * 2] = { ...node, application: { ...chain, secret: keys.next, generation: generation + 1 } }
  return { state: { ...state, secretTree: tree }, message, consumed: [chain.secret, keys.key] }
}

// ---------------------------------------------------------------------------------------------
// Receiving

/** The fields of an encoded MLSMessage holding an application PrivateMessage. */
export interface ApplicationMessageHeader {
  /** group_id<V> || uint64 epoch as they are on the wire (compared with the epoch's own bytes). */
  readonly groupIdEpoch: Uint8Array
  readonly authenticatedData: Uint8Array
  readonly encryptedSenderData: Uint8Array
  readonly ciphertext: Uint8Array
}

/**
 * Parses `bytes` as an MLSMessage carrying an application PrivateMessage, with minimal length
 * headers and nothing after it; undefined for anything else (the library then decides).
 */
export function parseApplicationMessage(bytes: Uint8Array): ApplicationMessageHeader | undefined {
  const r = new StrictReader(bytes)
  if (r.u16() !== PROTOCOL_VERSION_MLS10 || r.u16() !== WIRE_FORMAT_PRIVATE_MESSAGE) return undefined
  const start = r.offset
  if (r.vector() === undefined || !r.skip(8)) return undefined
  const groupIdEpoch = bytes.subarray(start, r.offset)
  if (r.u8() !== CONTENT_TYPE_APPLICATION) return undefined
  const authenticatedData = r.vector()
  const encryptedSenderData = r.vector()
  const ciphertext = r.vector()
  if (
    authenticatedData === undefined ||
    encryptedSenderData === undefined ||
    ciphertext === undefined ||
    !r.done
  ) {
    return undefined
  }
  return { groupIdEpoch, authenticatedData, encryptedSenderData, ciphertext }
}

export interface OpenedApplicationMessage {
  readonly state: ClientState
  readonly applicationData: Uint8Array
  readonly senderLeafIndex: number
  readonly consumed: Uint8Array[]
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * Opens an application message of the current epoch whose sender's application ratchet is at
 * exactly the message's generation (the in-order case), as ts-mls's `unprotectPrivateMessage`
 * would, and returns the state with that ratchet advanced. Returns undefined — never throws —
 * for every other message, valid or not; the caller then runs the library's path on the same
 * bytes and the same, unchanged state.
 */
export async function openApplicationMessageInOrder(
  state: ClientState,
  cs: CiphersuiteImpl,
  message: ApplicationMessageHeader,
): Promise<OpenedApplicationMessage | undefined> {
  try {
    const context = state.groupContext
    if (context.version !== 'mls10') return undefined
    const epoch = epochEncoding(context)
    // This group and its current epoch, byte for byte (other epochs go to the library).
    if (!sameBytes(message.groupIdEpoch, epoch.groupIdEpoch)) return undefined

    // §6.3.2: who sent it, at which generation, with which reuse guard.
    const sd = await senderDataKeys(cs, state.keySchedule.senderDataSecret, message.ciphertext)
    const senderData = await cs.hpke.decryptAead(
      sd.key,
      sd.nonce,
      epoch.senderDataAad,
      message.encryptedSenderData,
    )
    if (senderData.length !== SENDER_DATA_LENGTH) return undefined
    const leafIndex = readU32(senderData, 0)
    const generation = readU32(senderData, 4)
    const reuseGuard = senderData.subarray(8, 12)
    // §6.3.2: the sender must be a non-blank leaf.
    const leaf = state.ratchetTree[leafIndex * 2]
    if (leaf?.nodeType !== 'leaf') return undefined
    const node = secretTreeNode(state.secretTree, leafIndex)
    if (node === undefined) return undefined
    const chain = node.application
    if (chain.generation !== generation) return undefined

    const keys = await ratchetStep(cs, chain.secret, generation, reuseGuard)
    const content = await cs.hpke.decryptAead(
      keys.key,
      keys.nonce,
      contentAad(epoch, message.authenticatedData),
      message.ciphertext,
    )
    // §6.3.1: application_data<V>, signature<V>, then padding that must be all zeros.
    const r = new StrictReader(content)
    const applicationData = r.vector()
    const signature = r.vector()
    if (applicationData === undefined || signature === undefined) return undefined
    for (let i = r.offset; i < content.length; i++) if (content[i] !== 0) return undefined

    const verified = await cs.signature.verify(
      leaf.leaf.signaturePublicKey,
      signContent(epoch, leafIndex, message.authenticatedData, applicationData),
      signature,
    )
    if (!verified) return undefined

    const tree = state.secretTree.slice()
    tree[leafIndex * 2] = {
      ...node,
      application: { ...chain, secret: keys.next, generation: generation + 1 },
    }
    return {
      state: { ...state, secretTree: tree },
      applicationData,
      senderLeafIndex: leafIndex,
      consumed: [chain.secret, keys.key],
    }
  } catch {
    return undefined
  }
}
