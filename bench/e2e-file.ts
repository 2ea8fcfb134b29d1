/**
 * The SDK's side of the file figure of `bench:e2e`: one device sends a file into a 1:1
 * conversation (`sendFile`: encrypt while uploading, then the descriptor as an MLS message); its
 * partner receives the message and downloads the file (`downloadFile`: download, decrypt, check
 * every chunk and the digest, rename into place). Both devices are in this process.
 */
import { createHash } from 'node:crypto'
import { createReadStream, rmSync } from 'node:fs'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { BenchDevice } from './e2e-clients.ts'

export interface FileTransferResult {
  readonly uploadMs: number
  readonly downloadMs: number
  /** The received file's SHA-256 equals the sent one's (checked after the timing). */
  readonly identical: boolean
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256')
  await pipeline(createReadStream(path, { highWaterMark: 1024 * 1024 }), hash)
  return hash.digest('hex')
}

export async function runFileTransfer(o: {
  sender: BenchDevice
  receiver: BenchDevice
  path: string
  storeDir: string
}): Promise<FileTransferResult> {
  const id = await o.sender.client.createConversation({ members: [o.receiver.handle] })
  await o.receiver.client.sync()
  const t0 = performance.now()
  const sent = await o.sender.client.sendFile(id, o.path, { name: 'bench.bin' })
  const t1 = performance.now()
  await o.receiver.client.sync()
  const destination = join(o.storeDir, 'received.bin')
  await o.receiver.client.downloadFile(id, sent.id, destination)
  const t2 = performance.now()
  const identical = (await sha256Of(o.path)) === (await sha256Of(destination))
  rmSync(destination, { force: true })
  return { uploadMs: t1 - t0, downloadMs: t2 - t1, identical }
}
