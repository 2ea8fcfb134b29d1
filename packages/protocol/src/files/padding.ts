/**
 * Size buckets for file ciphertexts (docs/protocol/files.md §4). The server sees the blob's size;
 * it must not learn the file's. Padmé (Nikitin et al., "Reducing Metadata Leakage from Encrypted
 * Files and Communication with PURBs", PETS 2019, §4) rounds a length L up so that only its
 * top ⌊log2 E⌋ + 1 bits (E = ⌊log2 L⌋) remain: it leaks O(log log L) bits of the size and adds
 * less than 2^−S (3.1% from 64 KiB to 4 GiB), where powers of two leak as little but cost up to 100%.
 * Below the floor every file looks the same.
 */
import { FileError } from './errors.ts'
import { MAX_FILE_BYTES } from './limits.ts'

/** Every padded plaintext is at least this long: all files up to 4 KiB share one bucket. */
export const MIN_PADDED_FILE_BYTES = 4096

/** The number of bits of `value` (0 for 0); exact for every safe integer, unlike Math.log2. */
function bitLength(value: number): number {
  let bits = 0
  let power = 1
  while (power <= value) {
    bits++
    power *= 2
  }
  return bits
}

/** Padmé(L) for L ≥ 2 (PURBs §4, Algorithm 1): clear the low E − S bits, rounding up. */
export function padme(length: number): number {
  const e = bitLength(length) - 1
  const s = bitLength(e)
  const step = 2 ** (e - s)
  // Division by a power of two is exact in binary floating point below 2^53.
  return Math.ceil(length / step) * step
}

/** The padded plaintext length of a file of `size` bytes: its bucket. */
export function paddedFileSize(size: number): number {
  if (!Number.isSafeInteger(size) || size < 0)
    throw new FileError('misuse', 'size must be a non-negative integer')
  if (size > MAX_FILE_BYTES) throw new FileError('too-large', `file above MAX_FILE_BYTES (${MAX_FILE_BYTES})`)
  return size <= MIN_PADDED_FILE_BYTES ? MIN_PADDED_FILE_BYTES : padme(size)
}
