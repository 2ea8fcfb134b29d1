import { ProtocolError } from './errors.ts'

/**
 * A minimal reader/writer for the TLS presentation language (RFC 8446 §3) used by Tacit's own
 * structures (credentials, snapshots). MLS structures themselves are encoded by ts-mls.
 */
export class Writer {
  private readonly parts: Uint8Array[] = []

  u8(value: number): this {
    this.parts.push(Uint8Array.of(value & 0xff))
    return this
  }

  u16(value: number): this {
    this.parts.push(Uint8Array.of((value >>> 8) & 0xff, value & 0xff))
    return this
  }

  u32(value: number): this {
    this.parts.push(
      Uint8Array.of((value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff),
    )
    return this
  }

  fixed(bytes: Uint8Array): this {
    this.parts.push(bytes)
    return this
  }

  /** opaque data<0..2^8-1> */
  vec8(bytes: Uint8Array): this {
    if (bytes.length > 0xff) throw new ProtocolError('usage', 'vector longer than 255 bytes')
    return this.u8(bytes.length).fixed(bytes)
  }

  /** opaque data<0..2^16-1> */
  vec16(bytes: Uint8Array): this {
    if (bytes.length > 0xffff) throw new ProtocolError('usage', 'vector longer than 65535 bytes')
    return this.u16(bytes.length).fixed(bytes)
  }

  /** opaque data<0..2^32-1> */
  vec32(bytes: Uint8Array): this {
    return this.u32(bytes.length).fixed(bytes)
  }

  finish(): Uint8Array {
    let length = 0
    for (const p of this.parts) length += p.length
    const out = new Uint8Array(length)
    let offset = 0
    for (const p of this.parts) {
      out.set(p, offset)
      offset += p.length
    }
    return out
  }
}

export class Reader {
  private offset = 0

  constructor(
    private readonly bytes: Uint8Array,
    private readonly what: string,
  ) {}

  private take(length: number): Uint8Array {
    if (this.offset + length > this.bytes.length) {
      throw new ProtocolError('malformed', `${this.what} is truncated`)
    }
    const out = this.bytes.subarray(this.offset, this.offset + length)
    this.offset += length
    return out
  }

  u8(): number {
    return this.take(1)[0]!
  }

  u16(): number {
    const b = this.take(2)
    return (b[0]! << 8) | b[1]!
  }

  u32(): number {
    const b = this.take(4)
    return ((b[0]! << 24) >>> 0) + ((b[1]! << 16) | (b[2]! << 8) | b[3]!)
  }

  fixed(length: number): Uint8Array {
    return this.take(length)
  }

  vec8(): Uint8Array {
    return this.take(this.u8())
  }

  vec16(): Uint8Array {
    return this.take(this.u16())
  }

  vec32(max: number): Uint8Array {
    const length = this.u32()
    if (length > max) throw new ProtocolError('too-large', `${this.what} field above ${max} bytes`)
    return this.take(length)
  }

  /** Everything not read yet. */
  rest(): Uint8Array {
    return this.take(this.bytes.length - this.offset)
  }

  /** Throws unless every byte was consumed: trailing bytes are a malformed encoding. */
  end(): void {
    if (this.offset !== this.bytes.length)
      throw new ProtocolError('malformed', `${this.what} has trailing bytes`)
  }
}
