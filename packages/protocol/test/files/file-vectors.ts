/**
 * The shape of `test/vectors/files-v1.json` and the helpers that both the generator
 * (scripts/generate-file-vectors.ts) and the tests use: the deterministic plaintext, and the
 * mutations that turn a good blob into a negative vector. A second implementation needs only
 * this description (docs/protocol/files.md §10).
 */
import { bytesToHex, hexToBytes } from '@tacit/crypto/bytes'
import { FILE_CIPHERTEXT_CHUNK_BYTES, FILE_HEADER_BYTES } from '../../src/files/format.ts'

/** Byte i of every vector's plaintext is i mod 251 (a prime, so no period lines up with a chunk). */
export function vectorPlaintext(size: number): Uint8Array {
  const out = new Uint8Array(size)
  for (let i = 0; i < size; i++) out[i] = i % 251
  return out
}

export interface FileVector {
  readonly name: string
  readonly size: number
  readonly key: string
  readonly noncePrefix: string
  readonly paddedSize: number
  readonly chunkCount: number
  readonly ciphertextSize: number
  readonly header: string
  readonly digest: string
  /** SHA-256 of the whole blob. */
  readonly ciphertextSha256: string
  /** The 16-byte GCM tag that ends each chunk, in order. */
  readonly chunkTags: readonly string[]
  /** The whole blob, for vectors of at most 8 KiB. */
  readonly ciphertext?: string
}

export type BlobMutation =
  | { readonly op: 'truncate'; readonly length: number }
  | { readonly op: 'swap-chunks'; readonly a: number; readonly b: number }
  | { readonly op: 'replace-chunk'; readonly index: number; readonly from: number }
  | { readonly op: 'remove-chunk'; readonly index: number }
  | { readonly op: 'append-chunk'; readonly from: number }
  | { readonly op: 'append-bytes'; readonly hex: string }
  | { readonly op: 'flip-bit'; readonly offset: number; readonly bit: number }
  | { readonly op: 'set-byte'; readonly offset: number; readonly value: number }
  | { readonly op: 'descriptor-key'; readonly key: string }
  | { readonly op: 'descriptor-digest'; readonly digest: string }
  | { readonly op: 'descriptor-size'; readonly size: number }

export interface NegativeVector {
  readonly name: string
  /** The `name` of the positive vector the mutation applies to. */
  readonly base: string
  readonly mutation: BlobMutation
  readonly reason: string
  readonly code: string
}

/** A blob a misbehaving sender (who holds the key) made by hand. */
export interface CraftedVector {
  readonly name: string
  readonly size: number
  readonly key: string
  readonly digest: string
  readonly ciphertext: string
  readonly reason: string
  readonly code: string
}

export interface DescriptorVector {
  readonly blobId: string
  readonly key: string
  readonly size: number
  readonly digest: string
  readonly name: string
  readonly mediaType: string
  readonly encoded: string
}

export interface FileVectorsFile {
  readonly description: string
  readonly plaintext: string
  readonly padding: readonly (readonly [number, number])[]
  readonly vectors: readonly FileVector[]
  readonly negative: readonly NegativeVector[]
  readonly crafted: readonly CraftedVector[]
  readonly descriptors: readonly DescriptorVector[]
}

/** Blob, key, size and digest a decryptor is given after a mutation. */
export interface MutatedInput {
  readonly blob: Uint8Array
  readonly key: Uint8Array
  readonly size: number
  readonly digest: Uint8Array
}

/** A real copy: `Buffer#slice` returns a view, and mutations must never write into the base blob. */
function copy(bytes: Uint8Array, start = 0, end = bytes.length): Uint8Array {
  return new Uint8Array(bytes.subarray(start, end))
}

function chunkRange(blob: Uint8Array, index: number): [number, number] {
  const start = FILE_HEADER_BYTES + index * FILE_CIPHERTEXT_CHUNK_BYTES
  const end = Math.min(blob.length, start + FILE_CIPHERTEXT_CHUNK_BYTES)
  if (start >= blob.length) throw new Error(`mutation names chunk ${index}, which the blob does not have`)
  return [start, end]
}

function chunksOf(blob: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let i = 0; FILE_HEADER_BYTES + i * FILE_CIPHERTEXT_CHUNK_BYTES < blob.length; i++) {
    const [s, e] = chunkRange(blob, i)
    out.push(copy(blob, s, e))
  }
  return out
}

function join(header: Uint8Array, chunks: Uint8Array[]): Uint8Array {
  const total = header.length + chunks.reduce((n, c) => n + c.length, 0)
  const out = new Uint8Array(total)
  out.set(header, 0)
  let offset = header.length
  for (const c of chunks) {
    out.set(c, offset)
    offset += c.length
  }
  return out
}

export function applyMutation(input: MutatedInput, m: BlobMutation): MutatedInput {
  const header = copy(input.blob, 0, FILE_HEADER_BYTES)
  switch (m.op) {
    case 'truncate':
      return { ...input, blob: copy(input.blob, 0, m.length) }
    case 'swap-chunks': {
      const chunks = chunksOf(input.blob)
      const a = chunks[m.a]!
      chunks[m.a] = chunks[m.b]!
      chunks[m.b] = a
      return { ...input, blob: join(header, chunks) }
    }
    case 'replace-chunk': {
      const chunks = chunksOf(input.blob)
      chunks[m.index] = chunks[m.from]!
      return { ...input, blob: join(header, chunks) }
    }
    case 'remove-chunk': {
      const chunks = chunksOf(input.blob)
      chunks.splice(m.index, 1)
      return { ...input, blob: join(header, chunks) }
    }
    case 'append-chunk': {
      const chunks = chunksOf(input.blob)
      chunks.push(chunks[m.from]!)
      return { ...input, blob: join(header, chunks) }
    }
    case 'append-bytes':
      return { ...input, blob: join(input.blob, [hexToBytes(m.hex)]) }
    case 'flip-bit': {
      const blob = copy(input.blob)
      blob[m.offset] = blob[m.offset]! ^ (1 << m.bit)
      return { ...input, blob }
    }
    case 'set-byte': {
      const blob = copy(input.blob)
      blob[m.offset] = m.value
      return { ...input, blob }
    }
    case 'descriptor-key':
      return { ...input, key: hexToBytes(m.key) }
    case 'descriptor-digest':
      return { ...input, digest: hexToBytes(m.digest) }
    case 'descriptor-size':
      return { ...input, size: m.size }
  }
}

export const hex = bytesToHex
