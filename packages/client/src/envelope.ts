/**
 * The envelope: what the client puts inside the server's opaque `payload` (docs/protocol/
 * client.md §Envelope). It tells the receiver what the bytes are and where they belong, and
 * carries a random envelope id so that receivers de-duplicate at-least-once delivery. Big-endian.
 *
 *   struct {
 *     opaque magic[2] = "TE";
 *     uint8  version = 1;
 *     uint8  kind;                     // EnvelopeKind
 *     opaque envelope_id[16];          // random, chosen by the sender
 *     select (kind) {
 *       case application: opaque group_id<1..255>;  opaque mls_message<1..2^32-1>;
 *       case commit:      opaque group_id<1..255>;  uint64 epoch;  opaque mls_message<..>;
 *       case welcome:     uint16 count; opaque key_package_ref<1..255>[count]; opaque welcome<..>;
 *       case link:        opaque sealed<1..2^32-1>;    // HPKE enc ‖ ciphertext (device linking)
 *       case marker:      ;                            // a device's note to itself (sync barrier)
 *     };
 *   } Envelope;
 *
 * Nothing here is new to the server: the group id and epoch are in the clear in every MLS
 * PrivateMessage (RFC 9420 §6.3) and in the commit frame; KeyPackageRefs are in the clear in
 * the Welcome (RFC 9420 §12.4.3.1 EncryptedGroupSecrets.new_member); the envelope id is random.
 */
import { ClientError } from './errors.ts'

export const ENVELOPE_VERSION = 1
export const ENVELOPE_ID_BYTES = 16
const MAGIC = [0x54, 0x45] // "TE"
export const MAX_GROUP_ID_BYTES = 255
export const MAX_WELCOME_REFS = 1000

export type Envelope =
  | {
      readonly kind: 'application'
      readonly id: Uint8Array
      readonly groupId: Uint8Array
      readonly mls: Uint8Array
    }
  | {
      readonly kind: 'commit'
      readonly id: Uint8Array
      readonly groupId: Uint8Array
      readonly epoch: bigint
      readonly mls: Uint8Array
    }
  | {
      readonly kind: 'welcome'
      readonly id: Uint8Array
      readonly keyPackageRefs: readonly Uint8Array[]
      readonly welcome: Uint8Array
    }
  | { readonly kind: 'link'; readonly id: Uint8Array; readonly sealed: Uint8Array }
  | { readonly kind: 'marker'; readonly id: Uint8Array }

const KIND_CODES = { application: 1, commit: 2, welcome: 3, link: 4, marker: 5 } as const
const KIND_NAMES = new Map<number, Envelope['kind']>(
  Object.entries(KIND_CODES).map(([k, v]) => [v, k as Envelope['kind']]),
)

class Out {
  private readonly parts: Uint8Array[] = []
  private size = 0
  bytes(b: Uint8Array): this {
    this.parts.push(b)
    this.size += b.length
    return this
  }
  u8(v: number): this {
    return this.bytes(Uint8Array.of(v))
  }
  u16(v: number): this {
    return this.bytes(Uint8Array.of(v >>> 8, v & 0xff))
  }
  u32(v: number): this {
    return this.bytes(Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff))
  }
  u64(v: bigint): this {
    const b = new Uint8Array(8)
    new DataView(b.buffer).setBigUint64(0, v)
    return this.bytes(b)
  }
  vec8(b: Uint8Array, field: string): this {
    if (b.length < 1 || b.length > 255) throw new ClientError('usage', `${field} must be 1..255 bytes`)
    return this.u8(b.length).bytes(b)
  }
  vec32(b: Uint8Array): this {
    return this.u32(b.length).bytes(b)
  }
  finish(): Uint8Array {
    const out = new Uint8Array(this.size)
    let o = 0
    for (const p of this.parts) {
      out.set(p, o)
      o += p.length
    }
    return out
  }
}

class In {
  private o = 0
  private readonly view: DataView
  constructor(private readonly b: Uint8Array) {
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength)
  }
  private need(n: number): void {
    if (this.o + n > this.b.length) throw new ClientError('malformed', 'envelope is truncated')
  }
  u8(): number {
    this.need(1)
    return this.b[this.o++]!
  }
  u16(): number {
    this.need(2)
    const v = this.view.getUint16(this.o)
    this.o += 2
    return v
  }
  u32(): number {
    this.need(4)
    const v = this.view.getUint32(this.o)
    this.o += 4
    return v
  }
  u64(): bigint {
    this.need(8)
    const v = this.view.getBigUint64(this.o)
    this.o += 8
    return v
  }
  fixed(n: number): Uint8Array {
    this.need(n)
    const v = this.b.slice(this.o, this.o + n)
    this.o += n
    return v
  }
  vec8(): Uint8Array {
    const n = this.u8()
    if (n === 0) throw new ClientError('malformed', 'empty envelope field')
    return this.fixed(n)
  }
  vec32(): Uint8Array {
    const n = this.u32()
    if (n === 0) throw new ClientError('malformed', 'empty envelope field')
    return this.fixed(n)
  }
  end(): void {
    if (this.o !== this.b.length) throw new ClientError('malformed', 'trailing bytes after the envelope')
  }
}

export function encodeEnvelope(e: Envelope): Uint8Array {
  if (e.id.length !== ENVELOPE_ID_BYTES) throw new ClientError('usage', 'envelope id must be 16 bytes')
  const w = new Out().u8(MAGIC[0]!).u8(MAGIC[1]!).u8(ENVELOPE_VERSION).u8(KIND_CODES[e.kind]).bytes(e.id)
  switch (e.kind) {
    case 'application':
      return w.vec8(e.groupId, 'group id').vec32(e.mls).finish()
    case 'commit':
      return w.vec8(e.groupId, 'group id').u64(e.epoch).vec32(e.mls).finish()
    case 'welcome': {
      if (e.keyPackageRefs.length === 0 || e.keyPackageRefs.length > MAX_WELCOME_REFS) {
        throw new ClientError('usage', `a Welcome envelope names 1..${MAX_WELCOME_REFS} KeyPackages`)
      }
      w.u16(e.keyPackageRefs.length)
      for (const r of e.keyPackageRefs) w.vec8(r, 'KeyPackageRef')
      return w.vec32(e.welcome).finish()
    }
    case 'link':
      return w.vec32(e.sealed).finish()
    case 'marker':
      return w.finish()
  }
}

/** Strict: unknown magic, version or kind, truncation and trailing bytes are `malformed`. */
export function decodeEnvelope(bytes: Uint8Array): Envelope {
  const r = new In(bytes)
  if (r.u8() !== MAGIC[0] || r.u8() !== MAGIC[1]) throw new ClientError('malformed', 'not a Tacit envelope')
  const version = r.u8()
  if (version !== ENVELOPE_VERSION) throw new ClientError('malformed', `unknown envelope version ${version}`)
  const kind = KIND_NAMES.get(r.u8())
  if (!kind) throw new ClientError('malformed', 'unknown envelope kind')
  const id = r.fixed(ENVELOPE_ID_BYTES)
  let e: Envelope
  switch (kind) {
    case 'application':
      e = { kind, id, groupId: r.vec8(), mls: r.vec32() }
      break
    case 'commit': {
      const groupId = r.vec8()
      const epoch = r.u64()
      e = { kind, id, groupId, epoch, mls: r.vec32() }
      break
    }
    case 'welcome': {
      const count = r.u16()
      if (count === 0 || count > MAX_WELCOME_REFS)
        throw new ClientError('malformed', 'bad KeyPackageRef count')
      const refs: Uint8Array[] = []
      for (let i = 0; i < count; i++) refs.push(r.vec8())
      e = { kind, id, keyPackageRefs: refs, welcome: r.vec32() }
      break
    }
    case 'link':
      e = { kind, id, sealed: r.vec32() }
      break
    case 'marker':
      e = { kind, id }
      break
  }
  r.end()
  return e
}
