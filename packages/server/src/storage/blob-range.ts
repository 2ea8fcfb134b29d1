import { StorageError } from './storage.ts'

/** Copies [start, end) out of consecutive chunks; the first chunk starts at or before `start`. */
export function assembleRange(
  chunks: readonly { start: number; data: Uint8Array }[],
  start: number,
  end: number,
): Uint8Array {
  const out = new Uint8Array(end - start)
  let filled = 0
  for (const c of chunks) {
    const from = Math.max(start, c.start)
    const to = Math.min(end, c.start + c.data.length)
    if (to <= from) continue
    if (from - start !== filled) break
    out.set(c.data.subarray(from - c.start, to - c.start), filled)
    filled += to - from
  }
  if (filled !== out.length) throw new StorageError('unavailable', 'the stored blob is missing chunks')
  return out
}
