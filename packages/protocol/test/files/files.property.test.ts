/**
 * Property tests of the file format (docs/protocol/files.md): any size round-trips through any
 * split of plaintext and ciphertext, the blob has the size the layout promises, and one flipped
 * bit anywhere in the blob is rejected.
 */
import { test } from 'node:test'
import { nodeBackend } from '@tacit/crypto/node/backend'
import fc from 'fast-check'
import { createFileEncryptor } from '../../src/files/encryptor.ts'
import { FileError } from '../../src/files/errors.ts'
import { fileLayout } from '../../src/files/format.ts'
import { decryptWhole, encryptWhole } from './files.cases.ts'

const RUNS = 40
const pieces = fc.array(fc.integer({ min: 1, max: 150_000 }), { minLength: 1, maxLength: 4 })

test(
  'random sizes and splits round-trip; the blob size is the layout size',
  { timeout: 300_000 },
  async () => {
    let runs = 0
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 400_000 })),
        pieces,
        pieces,
        async (size, plainPieces, cipherPieces) => {
          runs++
          const plaintext = new Uint8Array(size)
          for (let i = 0; i < size; i++) plaintext[i] = (i * 131 + size) & 0xff
          const { blob, secrets } = await encryptWhole(nodeBackend, plaintext, plainPieces)
          if (blob.length !== fileLayout(size).ciphertextSize)
            throw new Error('blob size differs from the layout')
          const back = await decryptWhole(nodeBackend, blob, secrets, cipherPieces)
          if (Buffer.compare(Buffer.from(back), Buffer.from(plaintext)) !== 0)
            throw new Error('round trip differs')
        },
      ),
      { numRuns: RUNS },
    )
    if (runs !== RUNS) throw new Error(`expected ${RUNS} runs, got ${runs}`)
  },
)

test('one flipped bit anywhere in the blob is rejected', { timeout: 300_000 }, async () => {
  let runs = 0
  const plaintext = new Uint8Array(140_000).fill(7)
  const { blob, secrets } = await encryptWhole(nodeBackend, plaintext)
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: blob.length * 8 - 1 }), async (bit) => {
      runs++
      const bad = blob.slice()
      bad[bit >> 3] = bad[bit >> 3]! ^ (1 << (bit & 7))
      try {
        await decryptWhole(nodeBackend, bad, secrets)
      } catch (error) {
        if (FileError.is(error)) return
        throw error
      }
      throw new Error(`flipping bit ${bit} went unnoticed`)
    }),
    { numRuns: RUNS },
  )
  if (runs !== RUNS) throw new Error(`expected ${RUNS} runs, got ${runs}`)
})

test('a checkpoint taken after every chunk points at the end of the blob', async () => {
  // Regression: the final checkpoint once assumed a full-size last chunk, so an upload of a file
  // whose last chunk is short (most small files) saw its checkpoint disagree with the server.
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: 300_000 }), async (size) => {
      const plaintext = new Uint8Array(size)
      const encryptor = await createFileEncryptor(nodeBackend, { size })
      let total = encryptor.header.length
      for (const chunk of await encryptor.push(plaintext)) total += chunk.length
      for (let c = await encryptor.nextPaddingChunk(); c !== null; c = await encryptor.nextPaddingChunk()) {
        total += c.length
      }
      const layout = fileLayout(size)
      if (total !== layout.ciphertextSize) throw new Error('blob size differs from the layout')
      const end = encryptor.checkpoint()
      if (end.ciphertextOffset !== total) {
        throw new Error(`final checkpoint at ${end.ciphertextOffset}, blob ends at ${total}`)
      }
      if (end.plaintextOffset !== size) throw new Error('final checkpoint plaintext offset')
    }),
    { numRuns: 60 },
  )
})
