import { CallKeyring, exportCallEpochKeys } from '../../src/call-keys.ts'
import type { CallCodec } from '../../src/codec-header.ts'
import { protectMediaFrame, unprotectMediaFrame } from '../../src/media-frame.ts'

/**
 * Per-frame cost of the media path (clear header split, SFrame encrypt/decrypt with AES-256-GCM,
 * replay window), runtime-neutral so the calls benchmark runs the same code in Node and in
 * Chromium. The baseline, in the same run, is WebCrypto AES-256-GCM of the same bytes with a key
 * imported once: the floor any per-frame encryption on WebCrypto pays.
 */

export interface FrameSize {
  readonly name: string
  readonly codec: CallCodec
  readonly bytes: number
}

export const FRAME_SIZES: readonly FrameSize[] = [
  { name: 'audio (Opus, 160 B)', codec: 'opus', bytes: 160 },
  { name: 'video delta (VP8, 1.2 KB)', codec: 'vp8', bytes: 1200 },
  { name: 'video key frame (VP8, 30 KB)', codec: 'vp8', bytes: 30_000 },
]

export interface FrameBenchRow {
  readonly name: string
  readonly bytes: number
  readonly iterations: number
  /** Microseconds per frame. */
  readonly encrypt: { readonly p50: number; readonly p95: number }
  readonly decrypt: { readonly p50: number; readonly p95: number }
  readonly baselineSeal: { readonly p50: number; readonly p95: number }
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN
}

function summary(samples: number[]): { p50: number; p95: number } {
  samples.sort((a, b) => a - b)
  return { p50: percentile(samples, 0.5) * 1000, p95: percentile(samples, 0.95) * 1000 }
}

function frameOf(size: FrameSize): Uint8Array {
  const frame = new Uint8Array(size.bytes)
  for (let i = 0; i < frame.length; i++) frame[i] = (i * 31 + 7) & 0xff
  // A VP8 frame tag with the interframe bit set, except for the key frame row (RFC 6386 §9.1).
  if (size.codec === 'vp8') frame[0] = size.bytes >= 10_000 ? 0x10 : 0x11
  return frame
}

export async function benchFrames(iterations: number, warmup: number): Promise<FrameBenchRow[]> {
  const exporter = async (_label: string, _context: Uint8Array, length: number) =>
    new Uint8Array(length).fill(7)
  const common = { exporter, callId: new Uint8Array([1, 2, 3]), epoch: 3n }
  const rows: FrameBenchRow[] = []
  for (const size of FRAME_SIZES) {
    const sender = new CallKeyring()
    const receiver = new CallKeyring()
    await sender.setKeys(await exportCallEpochKeys({ ...common, ownLeafIndex: 0, memberLeafIndices: [1] }))
    await receiver.setKeys(await exportCallEpochKeys({ ...common, ownLeafIndex: 1, memberLeafIndices: [0] }))
    const frame = frameOf(size)
    const encryptTimes: number[] = []
    const decryptTimes: number[] = []
    for (let i = 0; i < warmup + iterations; i++) {
      const t0 = performance.now()
      const sealed = await protectMediaFrame(sender, size.codec, frame)
      const t1 = performance.now()
      const opened = await unprotectMediaFrame(receiver, size.codec, sealed)
      const t2 = performance.now()
      if (opened.kind !== 'plaintext') throw new Error('benchmark frame did not decrypt')
      if (i >= warmup) {
        encryptTimes.push(t1 - t0)
        decryptTimes.push(t2 - t1)
      }
    }
    const rawKey = await crypto.subtle.importKey('raw', new Uint8Array(32).fill(9), 'AES-GCM', false, [
      'encrypt',
    ])
    const iv = new Uint8Array(12)
    const baseline: number[] = []
    for (let i = 0; i < warmup + iterations; i++) {
      new DataView(iv.buffer).setUint32(8, i)
      const t0 = performance.now()
      await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, rawKey, frame as Uint8Array<ArrayBuffer>)
      if (i >= warmup) baseline.push(performance.now() - t0)
    }
    rows.push({
      name: size.name,
      bytes: size.bytes,
      iterations,
      encrypt: summary(encryptTimes),
      decrypt: summary(decryptTimes),
      baselineSeal: summary(baseline),
    })
  }
  return rows
}
