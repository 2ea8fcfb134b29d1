/**
 * Throughput of the file format against raw AES-256-GCM, measured in the same run (the figures in
 * docs/decisions/0008). Not a test (timings belong in benchmarks): run by hand with
 *   npm run bench:files [-- MiB] [-- --json]
 * Rows: node:crypto AES-256-GCM on 64 KiB chunks (the ceiling), the same through nodeBackend's
 * `aead.seal`, SHA-256 of 64 KiB chunks through the backend (the content digest's cost), and the
 * file encryptor and decryptor end to end.
 */
import { createCipheriv, randomBytes } from 'node:crypto'
import { nodeBackend } from '@tacit/crypto/node/backend'
import { absorbChunk, initialDigestState } from '../packages/protocol/src/files/content-digest.ts'
import { createFileDecryptor } from '../packages/protocol/src/files/decryptor.ts'
import { createFileEncryptor } from '../packages/protocol/src/files/encryptor.ts'
import { FILE_CHUNK_BYTES } from '../packages/protocol/src/files/format.ts'

const mib = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 256)
const total = mib * 1024 * 1024
const chunks = total / FILE_CHUNK_BYTES
const chunk = randomBytes(FILE_CHUNK_BYTES)
const key = randomBytes(32)
const aad = new Uint8Array(16)

/** Best of ROUNDS after a warm-up: the machine is shared, and the best run is the least disturbed. */
const ROUNDS = 3

async function measure(
  name: string,
  work: () => Promise<void>,
): Promise<{ name: string; mbPerSecond: number }> {
  await work()
  let best = Number.POSITIVE_INFINITY
  for (let r = 0; r < ROUNDS; r++) {
    const start = performance.now()
    await work()
    best = Math.min(best, (performance.now() - start) / 1000)
  }
  return { name, mbPerSecond: total / 1e6 / best }
}

const rows = [
  await measure('raw node:crypto AES-256-GCM, 64 KiB', async () => {
    const nonce = Buffer.alloc(12)
    for (let i = 0; i < chunks; i++) {
      nonce.writeUInt32BE(i, 7)
      const c = createCipheriv('aes-256-gcm', key, nonce)
      c.setAAD(aad)
      c.update(chunk)
      c.final()
      c.getAuthTag()
    }
  }),
  await measure('nodeBackend aead.seal, 64 KiB', async () => {
    const nonce = new Uint8Array(12)
    for (let i = 0; i < chunks; i++) {
      new DataView(nonce.buffer).setUint32(7, i)
      await nodeBackend.aead.seal('AES-256-GCM', key, nonce, aad, chunk)
    }
  }),
  await measure('nodeBackend SHA-256 chain, 64 KiB', async () => {
    let state = await initialDigestState(nodeBackend)
    for (let i = 0; i < chunks; i++) state = await absorbChunk(nodeBackend, state, chunk)
  }),
  await measure('file encryptor (seal + digest)', async () => {
    const e = await createFileEncryptor(nodeBackend, { size: total })
    for (let i = 0; i < chunks; i++) await e.push(chunk)
    while ((await e.nextPaddingChunk()) !== null) {}
    await e.finish()
  }),
]

// The decryptor needs a blob: encrypt one chunk-stream into chunk-sized pieces kept in memory
// only up to `mib` MiB (run with a smaller size on a small machine).
const e = await createFileEncryptor(nodeBackend, { size: total })
const blob: Uint8Array[] = [e.header]
for (let i = 0; i < chunks; i++) blob.push(...(await e.push(chunk)))
for (let c = await e.nextPaddingChunk(); c !== null; c = await e.nextPaddingChunk()) blob.push(c)
const secrets = await e.finish()
rows.push(
  await measure('file decryptor (open + digest)', async () => {
    const d = await createFileDecryptor(nodeBackend, { secrets })
    for (const piece of blob) await d.push(piece)
    await d.finish()
  }),
)

const ceiling = rows[0]!.mbPerSecond
console.log(`${mib} MiB per row, Node ${process.version}`)
for (const r of rows) {
  console.log(
    `${r.name.padEnd(40)} ${r.mbPerSecond.toFixed(0).padStart(6)} MB/s  ${(r.mbPerSecond / ceiling).toFixed(2)}x`,
  )
}
if (process.argv.includes('--json')) console.log(JSON.stringify({ mib, node: process.version, rows }))
