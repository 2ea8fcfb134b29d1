import type { CryptoBackend } from '@tacit/crypto/backend'
import { bytesToHex, hexToBytes } from '@tacit/crypto/bytes'
import {
  type CaseGroup,
  check,
  checkBytes,
  checkEqual,
  checkRejects,
} from '../../../../tests/harness/cases.ts'
import { ProtocolError } from '../../src/errors.ts'
import { CONTENT_DIGEST_BYTES, computeContentDigest } from '../../src/files/content-digest.ts'
import { createFileDecryptor, type FileDecryptor } from '../../src/files/decryptor.ts'
import {
  decodeFileDescriptor,
  encodeFileDescriptor,
  type FileDescriptor,
  isValidFileName,
} from '../../src/files/descriptor.ts'
import { createFileEncryptor, type FileSecrets } from '../../src/files/encryptor.ts'
import { FileError, type FileErrorReason } from '../../src/files/errors.ts'
import { chunkCiphertextOffset, FILE_CHUNK_BYTES, fileLayout } from '../../src/files/format.ts'
import { MAX_FILE_BYTES, MAX_FILE_CHUNKS, MAX_FILE_DESCRIPTOR_BYTES } from '../../src/files/limits.ts'
import { paddedFileSize } from '../../src/files/padding.ts'
import { decryptChunks, encryptChunks } from '../../src/files/stream.ts'
import vectorsJson from '../vectors/files-v1.json' with { type: 'json' }
import { applyMutation, type FileVectorsFile, vectorPlaintext } from './file-vectors.ts'

const vectors = vectorsJson as unknown as FileVectorsFile

/** Counts written in docs/protocol/files.md §10: a vector that goes missing fails a case. */
const POSITIVE_VECTORS = 9
const NEGATIVE_VECTORS = 19
const CRAFTED_VECTORS = 2
const DESCRIPTOR_VECTORS = 3

async function collect(source: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  let total = 0
  for await (const p of source) {
    parts.push(p)
    total += p.length
  }
  const out = new Uint8Array(total)
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}

/** Splits `bytes` into pieces of the given lengths, cycling (so chunk and header edges move). */
function split(bytes: Uint8Array, lengths: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = []
  let offset = 0
  for (let i = 0; offset < bytes.length; i++) {
    const n = lengths[i % lengths.length]!
    out.push(bytes.subarray(offset, offset + n))
    offset += n
  }
  return out
}

export async function encryptWhole(
  backend: CryptoBackend,
  plaintext: Uint8Array,
  pieces: readonly number[] = [FILE_CHUNK_BYTES],
): Promise<{ blob: Uint8Array; secrets: FileSecrets }> {
  const encryptor = await createFileEncryptor(backend, { size: plaintext.length })
  const blob = await collect(encryptChunks(encryptor, split(plaintext, pieces)))
  return { blob, secrets: await encryptor.finish() }
}

export async function decryptWhole(
  backend: CryptoBackend,
  blob: Uint8Array,
  secrets: FileSecrets,
  pieces: readonly number[] = [FILE_CHUNK_BYTES + 16],
): Promise<Uint8Array> {
  const decryptor = await createFileDecryptor(backend, { secrets })
  return collect(decryptChunks(decryptor, split(blob, pieces)))
}

function isFileError(reason: FileErrorReason, code?: string) {
  return (e: unknown) => FileError.isReason(e, reason) && (code === undefined || e.code === code)
}

function secretsOf(v: { key: string; size: number; digest: string }): FileSecrets {
  return { key: hexToBytes(v.key), size: v.size, digest: hexToBytes(v.digest) }
}

export function fileCases(backend: CryptoBackend): CaseGroup {
  return {
    name: `protocol files [${backend.name}]`,
    cases: [
      {
        name: 'the implementation reproduces every positive vector exactly and decrypts it',
        async run() {
          checkEqual(vectors.vectors.length, POSITIVE_VECTORS, 'positive vector count')
          for (const v of vectors.vectors) {
            const plaintext = vectorPlaintext(v.size)
            const encryptor = await createFileEncryptor(backend, {
              size: v.size,
              unsafeFixedRandomness: { key: hexToBytes(v.key), noncePrefix: hexToBytes(v.noncePrefix) },
            })
            checkEqual(encryptor.layout.paddedSize, v.paddedSize, `${v.name} padded size`)
            checkEqual(encryptor.layout.chunkCount, v.chunkCount, `${v.name} chunk count`)
            checkEqual(encryptor.layout.ciphertextSize, v.ciphertextSize, `${v.name} blob size`)
            // Odd piece lengths, so the encryptor's buffering is part of what the vector checks.
            const blob = await collect(encryptChunks(encryptor, split(plaintext, [1, 4095, 65536, 70001])))
            const secrets = await encryptor.finish()
            checkEqual(blob.length, v.ciphertextSize, `${v.name} blob length`)
            checkEqual(bytesToHex(blob.subarray(0, 16)), v.header, `${v.name} header`)
            checkEqual(bytesToHex(secrets.digest), v.digest, `${v.name} digest`)
            checkEqual(
              bytesToHex(await backend.hash.digest('SHA-256', blob)),
              v.ciphertextSha256,
              `${v.name} blob SHA-256`,
            )
            checkEqual(v.chunkTags.length, v.chunkCount, `${v.name} tag count`)
            for (let i = 0; i < v.chunkCount; i++) {
              const end = i === v.chunkCount - 1 ? blob.length : chunkCiphertextOffset(i + 1)
              checkEqual(bytesToHex(blob.subarray(end - 16, end)), v.chunkTags[i], `${v.name} tag ${i}`)
            }
            if (v.ciphertext !== undefined) checkEqual(bytesToHex(blob), v.ciphertext, `${v.name} blob`)
            const stored = v.ciphertext === undefined ? blob : hexToBytes(v.ciphertext)
            const back = await decryptWhole(backend, stored, secretsOf(v), [7, 65552, 3])
            checkBytes(back, plaintext, `${v.name} decrypts`)
            checkBytes(
              await computeContentDigest(backend, plaintext),
              secrets.digest,
              `${v.name} one-shot digest`,
            )
          }
        },
      },
      {
        name: 'every negative vector fails with its reason and code',
        async run(env) {
          checkEqual(vectors.negative.length, NEGATIVE_VECTORS, 'negative vector count')
          const bases = new Map<
            string,
            { blob: Uint8Array; key: Uint8Array; size: number; digest: Uint8Array }
          >()
          for (const v of vectors.vectors) {
            if (!vectors.negative.some((n) => n.base === v.name)) continue
            const encryptor = await createFileEncryptor(backend, {
              size: v.size,
              unsafeFixedRandomness: { key: hexToBytes(v.key), noncePrefix: hexToBytes(v.noncePrefix) },
            })
            const blob = await collect(encryptChunks(encryptor, [vectorPlaintext(v.size)]))
            const s = await encryptor.finish()
            bases.set(v.name, { blob, key: s.key, size: s.size, digest: s.digest })
          }
          for (const n of vectors.negative) {
            const base = bases.get(n.base)
            check(base !== undefined, `${n.name}: base ${n.base} exists`)
            const input = applyMutation(base, n.mutation)
            const error = await checkRejects(
              () => decryptWhole(backend, input.blob, input, [65552 * 2 + 5]),
              isFileError(n.reason as FileErrorReason, n.code),
              n.name,
            )
            check(ProtocolError.is(error, n.code as ProtocolError['code']), `${n.name}: a ProtocolError`)
          }
          checkEqual(vectors.crafted.length, CRAFTED_VECTORS, 'crafted vector count')
          for (const c of vectors.crafted) {
            await checkRejects(
              () => decryptWhole(backend, hexToBytes(c.ciphertext), secretsOf(c)),
              isFileError(c.reason as FileErrorReason, c.code),
              c.name,
            )
          }
          env.log(
            `files: ${vectors.negative.length} negative and ${vectors.crafted.length} crafted vectors rejected`,
          )
        },
      },
      {
        name: 'descriptor vectors encode and decode exactly; the padding table matches',
        async run() {
          checkEqual(vectors.descriptors.length, DESCRIPTOR_VECTORS, 'descriptor vector count')
          for (const d of vectors.descriptors) {
            const descriptor: FileDescriptor = {
              blobId: d.blobId,
              key: hexToBytes(d.key),
              size: d.size,
              digest: hexToBytes(d.digest),
              name: d.name,
              mediaType: d.mediaType,
            }
            checkEqual(bytesToHex(encodeFileDescriptor(descriptor)), d.encoded, `${d.name} encodes`)
            const back = decodeFileDescriptor(hexToBytes(d.encoded))
            checkEqual(back.name, d.name, `${d.name} name`)
            checkEqual(back.mediaType, d.mediaType, `${d.name} media type`)
            checkEqual(back.blobId, d.blobId, `${d.name} blob id`)
            checkEqual(back.size, d.size, `${d.name} size`)
            checkBytes(back.key, descriptor.key, `${d.name} key`)
            checkBytes(back.digest, descriptor.digest, `${d.name} digest`)
          }
          check(vectors.padding.length >= 10, 'padding table present')
          for (const [size, padded] of vectors.padding) {
            checkEqual(paddedFileSize(size), padded, `padded size of ${size}`)
            check(padded >= size, `bucket of ${size} holds it`)
          }
        },
      },
      {
        name: 'plaintext and ciphertext may be split anywhere; each fresh file has a fresh key and prefix',
        async run() {
          const plaintext = vectorPlaintext(3 * FILE_CHUNK_BYTES + 12345)
          const a = await encryptWhole(backend, plaintext, [1, 2, 3, 65535, 65537, 100000])
          const b = await encryptWhole(backend, plaintext)
          check(bytesToHex(a.secrets.key) !== bytesToHex(b.secrets.key), 'fresh key')
          check(
            bytesToHex(a.blob.subarray(9, 16)) !== bytesToHex(b.blob.subarray(9, 16)),
            'fresh nonce prefix',
          )
          checkBytes(a.secrets.digest, b.secrets.digest, 'the digest depends on the plaintext only')
          for (const pieces of [[15, 1, 65552], [65551], [65553, 17], [1 << 20]]) {
            checkBytes(await decryptWhole(backend, a.blob, a.secrets, pieces), plaintext, `pieces ${pieces}`)
          }
          // Byte by byte, on a small file (one await per byte is slow, not wrong).
          const small = vectorPlaintext(5000)
          const c = await encryptWhole(backend, small, [1])
          checkBytes(await decryptWhole(backend, c.blob, c.secrets, [1]), small, 'byte by byte')
        },
      },
      {
        name: 'a download resumes from a checkpoint at any chunk and still checks the whole digest',
        async run() {
          const plaintext = vectorPlaintext(4 * FILE_CHUNK_BYTES + 99)
          const { blob, secrets } = await encryptWhole(backend, plaintext)
          const first = await createFileDecryptor(backend, { secrets })
          // Stop in the middle of chunk 3: the checkpoint is the boundary before it.
          const cut = chunkCiphertextOffset(3) + 500
          const head = await collect(
            (async function* () {
              for (const p of await first.push(blob.subarray(0, cut))) yield p
            })(),
          )
          const checkpoint = first.checkpoint()
          checkEqual(checkpoint.chunkIndex, 3, 'checkpoint chunk')
          checkEqual(checkpoint.plaintextOffset, 3 * FILE_CHUNK_BYTES, 'checkpoint plaintext offset')
          checkEqual(checkpoint.ciphertextOffset, chunkCiphertextOffset(3), 'checkpoint blob offset')
          checkEqual(head.length, checkpoint.plaintextOffset, 'plaintext released up to the checkpoint')
          const resumed = await createFileDecryptor(backend, { secrets, resume: checkpoint })
          const tail = await collect(
            decryptChunks(resumed, split(blob.subarray(checkpoint.ciphertextOffset), [777])),
          )
          checkBytes(tail, plaintext.subarray(checkpoint.plaintextOffset), 'the rest after resuming')
          // A checkpoint whose chain value does not match the bytes before it fails at the end.
          const forged = { ...checkpoint, digestState: new Uint8Array(CONTENT_DIGEST_BYTES) }
          const wrong = await createFileDecryptor(backend, { secrets, resume: forged })
          await checkRejects(
            () => collect(decryptChunks(wrong, [blob.subarray(forged.ciphertextOffset)])),
            isFileError('digest-mismatch', 'verification-failed'),
            'forged digest state',
          )
          await checkRejects(
            () => createFileDecryptor(backend, { secrets, resume: { ...checkpoint, chunkIndex: 99 } }),
            isFileError('misuse', 'usage'),
            'checkpoint past the end',
          )
        },
      },
      {
        name: 'an upload resumes from a checkpoint and produces the same blob',
        async run() {
          const plaintext = vectorPlaintext(5 * FILE_CHUNK_BYTES - 3)
          const encryptor = await createFileEncryptor(backend, { size: plaintext.length })
          const head: Uint8Array[] = [encryptor.header]
          head.push(...(await encryptor.push(plaintext.subarray(0, 2 * FILE_CHUNK_BYTES + 10))))
          const checkpoint = encryptor.checkpoint()
          checkEqual(checkpoint.chunkIndex, 2, 'two chunks sealed')
          const rest: Uint8Array[] = []
          for await (const c of encryptChunks(encryptor, [plaintext.subarray(2 * FILE_CHUNK_BYTES + 10)]))
            rest.push(c)
          const secrets = await encryptor.finish()
          const resumed = await createFileEncryptor(backend, {
            size: plaintext.length,
            resume: { key: encryptor.key, checkpoint },
          })
          const again = await collect(
            encryptChunks(resumed, [plaintext.subarray(checkpoint.plaintextOffset)]),
          )
          const original = await collect(
            (async function* () {
              yield* head.slice(1)
              yield* rest
            })(),
          )
          checkBytes(again, original.subarray(checkpoint.ciphertextOffset - 16), 'same chunks after resuming')
          checkBytes((await resumed.finish()).digest, secrets.digest, 'same digest after resuming')
        },
      },
      {
        name: 'misuse is refused with usage errors, and a failed decryptor stays failed',
        async run() {
          const e = await createFileEncryptor(backend, { size: 10 })
          await checkRejects(
            () => e.push(new Uint8Array(11)),
            isFileError('misuse', 'usage'),
            'more than size',
          )
          const f = await createFileEncryptor(backend, { size: 10 })
          await checkRejects(() => f.nextPaddingChunk(), isFileError('misuse'), 'padding before data')
          await checkRejects(() => f.finish(), isFileError('misuse'), 'finish before data')
          const g = await createFileEncryptor(backend, { size: 3 * FILE_CHUNK_BYTES })
          const first = g.push(new Uint8Array(FILE_CHUNK_BYTES))
          await checkRejects(() => g.push(new Uint8Array(1)), isFileError('misuse'), 'concurrent push')
          await first
          await checkRejects(
            () => createFileEncryptor(backend, { size: -1 }),
            isFileError('misuse'),
            'negative size',
          )
          await checkRejects(
            () => createFileEncryptor(backend, { size: MAX_FILE_BYTES + 1 }),
            isFileError('too-large', 'too-large'),
            'above MAX_FILE_BYTES',
          )
          check(fileLayout(MAX_FILE_BYTES).chunkCount < MAX_FILE_CHUNKS, 'MAX_FILE_BYTES fits the counter')
          const { blob, secrets } = await encryptWhole(backend, vectorPlaintext(100))
          const d: FileDecryptor = await createFileDecryptor(backend, { secrets })
          const bad = blob.slice()
          bad[40] = bad[40]! ^ 1
          await checkRejects(() => d.push(bad), isFileError('chunk-auth-failed'), 'flipped')
          await checkRejects(() => d.push(new Uint8Array(1)), isFileError('misuse'), 'push after failure')
          await checkRejects(() => d.finish(), isFileError('misuse'), 'finish after failure')
          await checkRejects(
            () => createFileDecryptor(backend, { secrets: { ...secrets, key: new Uint8Array(16) } }),
            isFileError('misuse'),
            'short key',
          )
        },
      },
      {
        name: 'errors name no key, digest or plaintext',
        async run() {
          const plaintext = new TextEncoder().encode('the secret launch code is 0000')
          const { blob, secrets } = await encryptWhole(backend, plaintext)
          const wrongDigest = { ...secrets, digest: secrets.digest.map((x) => x ^ 0xff) }
          const errors = [
            await checkRejects(
              () => decryptWhole(backend, blob, wrongDigest),
              () => true,
              'digest',
            ),
            await checkRejects(
              () => decryptWhole(backend, blob, { ...secrets, key: secrets.key.map((x) => x ^ 1) }),
              () => true,
              'key',
            ),
          ]
          for (const error of errors) {
            const text = `${String(error)} ${JSON.stringify(error)}`
            for (const secret of [secrets.key, secrets.digest, wrongDigest.digest]) {
              check(!text.includes(bytesToHex(secret)), 'no secret in the error')
            }
            check(!text.includes('launch code'), 'no plaintext in the error')
          }
        },
      },
      {
        name: 'descriptors: names, media types and sizes are checked; bad bytes are typed errors',
        async run() {
          const good: FileDescriptor = {
            blobId: 'AAECAwQFBgcICQoLDA0ODw',
            key: new Uint8Array(32).fill(1),
            size: 5,
            digest: new Uint8Array(32).fill(2),
            name: 'a.txt',
            mediaType: 'text/plain',
          }
          const bytes = encodeFileDescriptor(good)
          checkEqual(decodeFileDescriptor(bytes).name, 'a.txt', 'round trip')
          for (const name of [
            '',
            '.',
            '..',
            'a/b',
            'a\\b',
            '../etc/passwd',
            'nul\u0000',
            'bell\u0007',
            'x'.repeat(256),
          ]) {
            check(!isValidFileName(name), `name ${JSON.stringify(name).slice(0, 20)} refused`)
            await checkRejects(
              () => encodeFileDescriptor({ ...good, name }),
              isFileError('bad-descriptor', 'malformed'),
              'bad name',
            )
          }
          for (const name of ['photo.jpg', 'café', '日本語.pdf', '.hidden', 'x'.repeat(255)]) {
            check(isValidFileName(name), `name ${name.slice(0, 20)} accepted`)
          }
          for (const mediaType of ['text', 'text/', '/plain', 'text/plain; charset=utf-8', 'a b/c']) {
            await checkRejects(
              () => encodeFileDescriptor({ ...good, mediaType }),
              isFileError('bad-descriptor'),
              `media type ${mediaType}`,
            )
          }
          await checkRejects(
            () => encodeFileDescriptor({ ...good, size: MAX_FILE_BYTES + 1 }),
            isFileError('too-large', 'too-large'),
            'size',
          )
          await checkRejects(
            () => encodeFileDescriptor({ ...good, blobId: 'not/base64' }),
            isFileError('bad-descriptor'),
            'blob id',
          )
          const cases: [string, Uint8Array, FileErrorReason][] = [
            ['empty', new Uint8Array(0), 'bad-descriptor'],
            ['version 2', Uint8Array.of(2, ...bytes.subarray(1)), 'unsupported-version'],
            ['truncated', bytes.subarray(0, bytes.length - 1), 'bad-descriptor'],
            ['trailing byte', Uint8Array.of(...bytes, 0), 'bad-descriptor'],
            ['above the maximum', new Uint8Array(MAX_FILE_DESCRIPTOR_BYTES + 1), 'too-large'],
          ]
          for (const [label, input, reason] of cases) {
            await checkRejects(() => decodeFileDescriptor(input), isFileError(reason), label)
          }
          // Invalid UTF-8 in the name field.
          const badUtf8 = bytes.slice()
          badUtf8[bytes.length - 1 - 'text/plain'.length - 1 - 1] = 0xff
          await checkRejects(() => decodeFileDescriptor(badUtf8), isFileError('bad-descriptor'), 'bad UTF-8')
        },
      },
    ],
  }
}
