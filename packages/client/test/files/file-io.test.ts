/**
 * The Node file adapters (packages/client/src/files/): round trips through real files, progress,
 * integrity before anything is at the final path, resumable downloads and uploads.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { nodeBackend } from '@tacit/crypto/node/backend'
import { ProtocolError } from '@tacit/protocol/errors'
import { FileError } from '@tacit/protocol/files/errors'
import { chunkCiphertextOffset, FILE_CHUNK_BYTES } from '@tacit/protocol/files/format'
import {
  type BlobSource,
  decryptToPath,
  fileBlobSource,
  partialPathOf,
} from '../../src/files/decrypt-file.ts'
import { encryptFileToPath, openFileEncryption } from '../../src/files/encrypt-file.ts'

let dir: string
const SIZE = 5 * FILE_CHUNK_BYTES + 1234

function content(size: number): Buffer {
  const b = Buffer.alloc(size)
  for (let i = 0; i < size; i++) b[i] = (i * 17 + 5) & 0xff
  return b
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tacit-files-'))
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function prepare(name: string, size = SIZE) {
  const input = join(dir, `${name}.in`)
  const blob = join(dir, `${name}.blob`)
  await writeFile(input, content(size))
  const secrets = await encryptFileToPath(nodeBackend, input, blob)
  return { input, blob, secrets }
}

test('a file round-trips through a blob file, with progress, and the partial file is gone', async () => {
  const { input, blob, secrets } = await prepare('roundtrip')
  const out = join(dir, 'roundtrip.out')
  const seen: number[] = []
  await decryptToPath(nodeBackend, fileBlobSource(blob), secrets, out, {
    onProgress: (done, total) => {
      assert.equal(total, SIZE)
      // Integrity before visibility: nothing at the final path while decrypting.
      assert.equal(existsSync(out), false)
      seen.push(done)
    },
  })
  assert.deepEqual(await readFile(out), await readFile(input))
  assert.equal(existsSync(partialPathOf(out)), false)
  assert.equal(seen.at(-1), SIZE)
  assert.deepEqual(
    [...seen].sort((a, b) => a - b),
    seen,
    'progress only grows',
  )
  assert.ok((await stat(blob)).size > SIZE, 'the blob is padded')
})

test('a corrupted blob leaves nothing at the destination and removes the partial file', async () => {
  const { blob, secrets } = await prepare('corrupt')
  const bytes = await readFile(blob)
  bytes[chunkCiphertextOffset(3) + 10]! ^= 1
  await writeFile(blob, bytes)
  const out = join(dir, 'corrupt.out')
  await assert.rejects(decryptToPath(nodeBackend, fileBlobSource(blob), secrets, out), (e) =>
    FileError.isReason(e, 'chunk-auth-failed'),
  )
  assert.equal(existsSync(out), false)
  assert.equal(existsSync(partialPathOf(out)), false)
})

test('a digest mismatch (every chunk authentic) still leaves nothing at the destination', async () => {
  const { blob, secrets } = await prepare('digest')
  const out = join(dir, 'digest.out')
  const wrong = { ...secrets, digest: secrets.digest.map((x) => x ^ 1) }
  await assert.rejects(decryptToPath(nodeBackend, fileBlobSource(blob), wrong, out), (e) =>
    ProtocolError.is(e, 'verification-failed'),
  )
  assert.equal(existsSync(out), false)
  assert.equal(existsSync(partialPathOf(out)), false)
})

test('an interrupted download keeps its partial file and resumes from the last whole chunk', async () => {
  const { input, blob, secrets } = await prepare('resume')
  const out = join(dir, 'resume.out')
  const full = fileBlobSource(blob)
  const cutAt = chunkCiphertextOffset(3) + 999
  // A network that drops the connection after `cutAt` bytes.
  const flaky: BlobSource = async function* (offset) {
    let sent = offset
    for await (const piece of full(offset)) {
      const room = cutAt - sent
      if (room <= 0) throw new Error('connection reset')
      yield piece.subarray(0, Math.min(room, piece.length))
      sent += piece.length
    }
  }
  await assert.rejects(decryptToPath(nodeBackend, flaky, secrets, out), /connection reset/)
  assert.equal(existsSync(out), false)
  assert.ok(existsSync(partialPathOf(out)), 'the partial file is kept for resuming')
  const offsets: number[] = []
  const tracking: BlobSource = (offset) => {
    offsets.push(offset)
    return full(offset)
  }
  const seen: number[] = []
  await decryptToPath(nodeBackend, tracking, secrets, out, { resume: true, onProgress: (d) => seen.push(d) })
  assert.deepEqual(await readFile(out), await readFile(input))
  // One read for the header, one from chunk 3 on: the first three chunks were not fetched again.
  assert.deepEqual(offsets, [0, chunkCiphertextOffset(3)])
  assert.ok(seen[0]! > 3 * FILE_CHUNK_BYTES, 'progress starts after the resumed part')

  // A resumed partial file whose bytes were altered fails the digest and is deleted.
  await assert.rejects(decryptToPath(nodeBackend, flaky, secrets, out + '2'), /connection reset/)
  const partial = partialPathOf(out + '2')
  const bytes = await readFile(partial)
  bytes[100]! ^= 1
  await writeFile(partial, bytes)
  await assert.rejects(decryptToPath(nodeBackend, full, secrets, out + '2', { resume: true }), (e) =>
    FileError.isReason(e, 'digest-mismatch'),
  )
  assert.equal(existsSync(out + '2'), false)
  assert.equal(existsSync(partial), false)
})

test('an upload resumes from a checkpoint with the same key and yields the same blob tail', async () => {
  const { input } = await prepare('upload')
  const first = await openFileEncryption(nodeBackend, input)
  const head: Uint8Array[] = []
  let checkpoint = first.encryptor.checkpoint()
  for await (const chunk of first.chunks) {
    head.push(chunk)
    checkpoint = first.encryptor.checkpoint()
    if (checkpoint.chunkIndex === 2) break
  }
  const resumed = await openFileEncryption(nodeBackend, input, {
    resume: { key: first.encryptor.key, checkpoint },
  })
  const tail: Uint8Array[] = []
  for await (const chunk of resumed.chunks) tail.push(chunk)
  const secrets = await resumed.encryptor.finish()
  const blob = Buffer.concat([...head, ...tail])
  const path = join(dir, 'upload.blob')
  await writeFile(path, blob)
  const out = join(dir, 'upload.out')
  await decryptToPath(nodeBackend, fileBlobSource(path), secrets, out)
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
  assert.equal(sha(await readFile(out)), sha(await readFile(input)))
})
