/**
 * Writes the committed test vectors of the encrypted file format and of verification codes:
 *   packages/protocol/test/vectors/files-v1.json          (docs/protocol/files.md §10)
 *   packages/protocol/test/vectors/verification-v1.json   (docs/protocol/verification.md §5)
 * Keys, nonce prefixes and identity seeds are fixed (derived from each vector's name), so a run
 * reproduces the files byte for byte; the tests check that the implementation still does.
 * Every negative vector's expected failure is written down here by hand and checked before the
 * file is written: the generator refuses to record a failure the implementation does not give.
 *
 *   node --import tsx scripts/generate-file-vectors.ts [--check]
 * With --check it writes nothing and exits non-zero if the committed files differ.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import type { CryptoBackend } from '@tacit/crypto/backend'
import { bytesToHex, utf8 } from '@tacit/crypto/bytes'
import { nodeBackend } from '@tacit/crypto/node/backend'
import { computeContentDigest } from '../packages/protocol/src/files/content-digest.ts'
import { createFileDecryptor } from '../packages/protocol/src/files/decryptor.ts'
import { encodeFileDescriptor } from '../packages/protocol/src/files/descriptor.ts'
import { createFileEncryptor } from '../packages/protocol/src/files/encryptor.ts'
import { FileError } from '../packages/protocol/src/files/errors.ts'
import {
  chunkCiphertextOffset,
  chunkNonce,
  encodeFileHeader,
  FILE_HEADER_BYTES,
  fileLayout,
} from '../packages/protocol/src/files/format.ts'
import { paddedFileSize } from '../packages/protocol/src/files/padding.ts'
import { decryptChunks, encryptChunks } from '../packages/protocol/src/files/stream.ts'
import { createVerificationCode } from '../packages/protocol/src/verification/qr-payload.ts'
import {
  computeFingerprint,
  computeSafetyNumber,
  fingerprintDigits,
} from '../packages/protocol/src/verification/safety-number.ts'
import {
  applyMutation,
  type CraftedVector,
  type DescriptorVector,
  type FileVector,
  type FileVectorsFile,
  type NegativeVector,
  vectorPlaintext,
} from '../packages/protocol/test/files/file-vectors.ts'

const root = new URL('..', import.meta.url).pathname
const FILES_PATH = `${root}packages/protocol/test/vectors/files-v1.json`
const VERIFICATION_PATH = `${root}packages/protocol/test/vectors/verification-v1.json`
const backend: CryptoBackend = nodeBackend

async function derive(label: string, length: number): Promise<Uint8Array> {
  return (await backend.hash.digest('SHA-256', utf8.encode(label))).slice(0, length)
}

async function concat(source: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const p of source) parts.push(p)
  return new Uint8Array(Buffer.concat(parts))
}

const SIZES: readonly [string, number][] = [
  ['empty', 0],
  ['1-byte', 1],
  ['4KiB', 4096],
  ['4KiB+1', 4097],
  ['64KiB-1', 65535],
  ['64KiB', 65536],
  ['64KiB+1', 65537],
  ['3x64KiB+1', 3 * 65536 + 1],
  // Padmé's step is above one chunk here, so the blob ends with a chunk of padding only.
  ['4MiB+1', 4 * 1024 * 1024 + 1],
]

async function positive(name: string, size: number) {
  const key = await derive(`Tacit file vector key: ${name}`, 32)
  const noncePrefix = await derive(`Tacit file vector nonce prefix: ${name}`, 7)
  const plaintext = vectorPlaintext(size)
  const encryptor = await createFileEncryptor(backend, { size, unsafeFixedRandomness: { key, noncePrefix } })
  const blob = await concat(encryptChunks(encryptor, [plaintext]))
  const secrets = await encryptor.finish()
  const layout = encryptor.layout
  const tags: string[] = []
  for (let i = 0; i < layout.chunkCount; i++) {
    const end = i === layout.chunkCount - 1 ? blob.length : chunkCiphertextOffset(i + 1)
    tags.push(bytesToHex(blob.subarray(end - 16, end)))
  }
  const vector: FileVector = {
    name,
    size,
    key: bytesToHex(key),
    noncePrefix: bytesToHex(noncePrefix),
    paddedSize: layout.paddedSize,
    chunkCount: layout.chunkCount,
    ciphertextSize: blob.length,
    header: bytesToHex(blob.subarray(0, FILE_HEADER_BYTES)),
    digest: bytesToHex(secrets.digest),
    ciphertextSha256: bytesToHex(await backend.hash.digest('SHA-256', blob)),
    chunkTags: tags,
    ...(blob.length <= 8192 ? { ciphertext: bytesToHex(blob) } : {}),
  }
  // Round trip before recording anything.
  const decryptor = await createFileDecryptor(backend, { secrets })
  const back = await concat(decryptChunks(decryptor, [blob]))
  if (Buffer.compare(Buffer.from(back), Buffer.from(plaintext)) !== 0)
    throw new Error(`${name} does not round-trip`)
  return { vector, blob, secrets }
}

async function expectFailure(
  label: string,
  input: { blob: Uint8Array; key: Uint8Array; size: number; digest: Uint8Array },
  reason: string,
  code: string,
) {
  try {
    const d = await createFileDecryptor(backend, {
      secrets: { key: input.key, size: input.size, digest: input.digest },
    })
    await concat(decryptChunks(d, [input.blob]))
  } catch (error) {
    if (FileError.isReason(error) && error.reason === reason && error.code === code) return
    throw new Error(`${label}: expected ${reason}/${code}, got ${String(error)}`)
  }
  throw new Error(`${label}: expected ${reason}/${code}, decryption succeeded`)
}

async function craftedVectors(): Promise<CraftedVector[]> {
  const out: CraftedVector[] = []
  const size = 1
  const plaintext = vectorPlaintext(size)
  const digest = await computeContentDigest(backend, plaintext)
  const layout = fileLayout(size)
  async function craft(name: string, flagLast: boolean, padByte: number, reason: string, code: string) {
    const key = await derive(`Tacit file vector key: ${name}`, 32)
    const noncePrefix = await derive(`Tacit file vector nonce prefix: ${name}`, 7)
    const header = encodeFileHeader(noncePrefix)
    const chunk = new Uint8Array(layout.paddedSize).fill(padByte)
    chunk.set(plaintext, 0)
    const sealed = await backend.aead.seal(
      'AES-256-GCM',
      key,
      chunkNonce(noncePrefix, 0, flagLast),
      header,
      chunk,
    )
    const blob = new Uint8Array(Buffer.concat([header, sealed]))
    await expectFailure(name, { blob, key, size, digest }, reason, code)
    out.push({
      name,
      size,
      key: bytesToHex(key),
      digest: bytesToHex(digest),
      ciphertext: bytesToHex(blob),
      reason,
      code,
    })
  }
  // The sender sealed the only chunk without the last-chunk flag: a stream that claims to go on.
  await craft('unflagged-last-chunk', false, 0, 'chunk-auth-failed', 'decrypt-failed')
  // The sender filled the padding with 0xff: padding must be zero.
  await craft('non-zero-padding', true, 0xff, 'bad-padding', 'malformed')
  return out
}

async function generateFiles(): Promise<FileVectorsFile> {
  const vectors: FileVector[] = []
  const blobs = new Map<string, { blob: Uint8Array; key: Uint8Array; size: number; digest: Uint8Array }>()
  for (const [name, size] of SIZES) {
    const { vector, blob, secrets } = await positive(name, size)
    vectors.push(vector)
    blobs.set(name, { blob, key: secrets.key, size, digest: secrets.digest })
  }
  const base = '3x64KiB+1'
  const b = blobs.get(base)!
  const last = fileLayout(b.size).chunkCount - 1
  const flippedDigest = b.digest.slice()
  flippedDigest[0] = flippedDigest[0]! ^ 1
  const negatives: [string, NegativeVector['mutation'], string, string][] = [
    ['empty-blob', { op: 'truncate', length: 0 }, 'truncated', 'decrypt-failed'],
    ['header-only', { op: 'truncate', length: FILE_HEADER_BYTES }, 'truncated', 'decrypt-failed'],
    [
      'last-chunk-dropped',
      { op: 'truncate', length: chunkCiphertextOffset(last) },
      'truncated',
      'decrypt-failed',
    ],
    ['cut-inside-last-chunk', { op: 'truncate', length: b.blob.length - 1 }, 'truncated', 'decrypt-failed'],
    ['chunks-0-and-1-swapped', { op: 'swap-chunks', a: 0, b: 1 }, 'chunk-auth-failed', 'decrypt-failed'],
    [
      'chunk-1-duplicated-over-2',
      { op: 'replace-chunk', index: 2, from: 1 },
      'chunk-auth-failed',
      'decrypt-failed',
    ],
    ['chunk-1-removed', { op: 'remove-chunk', index: 1 }, 'chunk-auth-failed', 'decrypt-failed'],
    ['chunk-appended', { op: 'append-chunk', from: 1 }, 'trailing-data', 'decrypt-failed'],
    ['byte-appended', { op: 'append-bytes', hex: '00' }, 'trailing-data', 'decrypt-failed'],
    [
      'bit-flipped-in-chunk-2',
      { op: 'flip-bit', offset: chunkCiphertextOffset(2) + 1000, bit: 3 },
      'chunk-auth-failed',
      'decrypt-failed',
    ],
    [
      'bit-flipped-in-last-tag',
      { op: 'flip-bit', offset: b.blob.length - 1, bit: 7 },
      'chunk-auth-failed',
      'decrypt-failed',
    ],
    ['nonce-prefix-changed', { op: 'flip-bit', offset: 9, bit: 0 }, 'chunk-auth-failed', 'decrypt-failed'],
    ['magic-changed', { op: 'set-byte', offset: 0, value: 0x00 }, 'bad-header', 'malformed'],
    ['version-2', { op: 'set-byte', offset: 4, value: 2 }, 'unsupported-version', 'malformed'],
    ['chunk-size-changed', { op: 'set-byte', offset: 7, value: 0x02 }, 'bad-header', 'malformed'],
    [
      'wrong-key',
      { op: 'descriptor-key', key: bytesToHex(await derive('Tacit file vector key: wrong', 32)) },
      'chunk-auth-failed',
      'decrypt-failed',
    ],
    [
      'wrong-digest',
      { op: 'descriptor-digest', digest: bytesToHex(flippedDigest) },
      'digest-mismatch',
      'verification-failed',
    ],
    // One byte fewer: 196608 pads to three chunks, so chunk 2 is expected to carry the flag.
    [
      'descriptor-size-minus-one',
      { op: 'descriptor-size', size: b.size - 1 },
      'chunk-auth-failed',
      'decrypt-failed',
    ],
    // One byte more: the same layout, a zero padding byte read as data; only the digest catches it.
    [
      'descriptor-size-plus-one',
      { op: 'descriptor-size', size: b.size + 1 },
      'digest-mismatch',
      'verification-failed',
    ],
  ]
  const negative: NegativeVector[] = []
  for (const [name, mutation, reason, code] of negatives) {
    await expectFailure(name, applyMutation(b, mutation), reason, code)
    negative.push({ name, base, mutation, reason, code })
  }
  const descriptors: DescriptorVector[] = []
  for (const [name, blobId, mediaType, size] of [
    ['report.pdf', 'AAECAwQFBgcICQoLDA0ODw', 'application/pdf', 3 * 65536 + 1],
    ['photo of the café.jpg', 'qrvM3e7_AAECAwQFBgcICQ', 'image/jpeg', 2 ** 40],
    ['notes', '', 'application/octet-stream', 0],
  ] as const) {
    const key = await derive(`Tacit descriptor vector key: ${name}`, 32)
    const digest = await derive(`Tacit descriptor vector digest: ${name}`, 32)
    const d = { blobId, key, size, digest, name, mediaType }
    descriptors.push({
      blobId,
      key: bytesToHex(key),
      size,
      digest: bytesToHex(digest),
      name,
      mediaType,
      encoded: bytesToHex(encodeFileDescriptor(d)),
    })
  }
  const padding: [number, number][] = []
  for (const size of [
    0,
    1,
    4096,
    4097,
    5000,
    65535,
    65536,
    65537,
    196609,
    1_000_000,
    4_194_305,
    2 ** 31,
    2 ** 40,
  ]) {
    padding.push([size, paddedFileSize(size)])
  }
  return {
    description:
      'Tacit encrypted file format v1 (docs/protocol/files.md). Plaintext byte i is i mod 251. Negative vectors apply `mutation` to the blob (or descriptor) of `base`; chunk indices count 65552-byte chunks after the 16-byte header.',
    plaintext: 'byte i = i mod 251',
    padding,
    vectors,
    negative,
    crafted: await craftedVectors(),
    descriptors,
  }
}

async function generateVerification() {
  const identities: { handle: string; seed: Uint8Array; identityKey: Uint8Array }[] = []
  for (const handle of ['alice', 'bob', 'carol.example', 'zz']) {
    const seed = await derive(`Tacit verification vector seed: ${handle}`, 32)
    const identityKey = await backend.signature.publicKeyOf('Ed25519', seed)
    identities.push({ handle, seed, identityKey })
  }
  const fingerprints = []
  for (const id of identities) {
    const fp = await computeFingerprint(backend, id)
    fingerprints.push({
      handle: id.handle,
      identityKey: bytesToHex(id.identityKey),
      fingerprint: bytesToHex(fp),
      digits: fingerprintDigits(fp),
    })
  }
  const pairs = []
  for (const [a, b] of [
    [0, 1],
    [0, 2],
    [1, 3],
  ] as const) {
    const own = identities[a]!
    const peer = identities[b]!
    pairs.push({
      a: own.handle,
      b: peer.handle,
      safetyNumber: (await computeSafetyNumber(backend, own, peer)).digits,
      codeShownByA: bytesToHex(await createVerificationCode(backend, { own, peer })),
      codeShownByB: bytesToHex(await createVerificationCode(backend, { own: peer, peer: own })),
    })
  }
  // Same key, other handle: the handle is part of the fingerprint.
  const renamed = { handle: 'alice2', identityKey: identities[0]!.identityKey }
  const fp = await computeFingerprint(backend, renamed)
  fingerprints.push({
    handle: renamed.handle,
    identityKey: bytesToHex(renamed.identityKey),
    fingerprint: bytesToHex(fp),
    digits: fingerprintDigits(fp),
  })
  return {
    description:
      'Tacit safety numbers and verification codes v1 (docs/protocol/verification.md). Identity keys are Ed25519 public keys of the seeds SHA-256("Tacit verification vector seed: " ‖ handle).',
    iterations: 5200,
    fingerprints,
    pairs,
  }
}

/** The repository's formatter decides the layout, so `biome check` and `--check` agree. */
function formatJson(value: unknown, path: string): string {
  const result = spawnSync(`${root}node_modules/.bin/biome`, ['format', `--stdin-file-path=${path}`], {
    input: JSON.stringify(value),
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  })
  if (result.status !== 0) throw new Error(`biome format failed: ${result.stderr}`)
  return result.stdout
}

const files = formatJson(await generateFiles(), FILES_PATH)
const verification = formatJson(await generateVerification(), VERIFICATION_PATH)
if (process.argv.includes('--check')) {
  const same = (path: string, text: string) => {
    try {
      return readFileSync(path, 'utf8') === text
    } catch {
      return false
    }
  }
  const ok = same(FILES_PATH, files) && same(VERIFICATION_PATH, verification)
  console.log(ok ? 'vectors are up to date' : 'vectors differ from the committed files')
  process.exit(ok ? 0 : 1)
}
writeFileSync(FILES_PATH, files)
writeFileSync(VERIFICATION_PATH, verification)
console.log(
  `wrote ${FILES_PATH} (${files.length} bytes) and ${VERIFICATION_PATH} (${verification.length} bytes)`,
)
