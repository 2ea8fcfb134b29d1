import type { CallDecryptResult, CallKeyring } from './call-keys.ts'
import { type CallCodec, clearByteCount } from './codec-header.ts'
import { CallsError } from './errors.ts'

/**
 * One encoded media frame on the wire: clear codec bytes ‖ SFrame header ‖ ciphertext ‖ tag.
 * The clear bytes are the SFrame metadata (authenticated, RFC 9605 §4.4.3), so changing them makes
 * the frame fail to decrypt. Runtime-neutral: the transform worker and Node tests share it.
 */

/** Encrypts one encoded frame. Throws `unsupported-codec` for a frame too short for its codec. */
export async function protectMediaFrame(
  keyring: CallKeyring,
  codec: CallCodec,
  frame: Uint8Array,
): Promise<Uint8Array> {
  const clearCount = clearByteCount(codec, frame)
  if (clearCount === undefined) {
    throw new CallsError(
      'unsupported-codec',
      `a ${codec} frame of ${frame.length} bytes has no complete header`,
    )
  }
  return keyring.encrypt(frame.subarray(clearCount), frame.subarray(0, clearCount), true)
}

export type UnprotectedMediaFrame =
  | (CallDecryptResult & { readonly kind: 'plaintext'; readonly frame: Uint8Array })
  | Extract<CallDecryptResult, { readonly kind: 'replay' }>

/**
 * Decrypts one protected frame back to the codec's frame. Throws CallsError (`invalid-header`,
 * `unknown-kid`, `auth-failed`, `unsupported-codec`, ...) for frames to drop; a replayed frame is
 * the `replay` result.
 */
export async function unprotectMediaFrame(
  keyring: CallKeyring,
  codec: CallCodec,
  frame: Uint8Array,
): Promise<UnprotectedMediaFrame> {
  const clearCount = clearByteCount(codec, frame)
  if (clearCount === undefined) {
    throw new CallsError('invalid-header', `a protected ${codec} frame of ${frame.length} bytes is too short`)
  }
  const clear = frame.subarray(0, clearCount)
  const result = await keyring.decrypt(frame.subarray(clearCount), clear)
  if (result.kind !== 'plaintext') return result
  const out = new Uint8Array(clearCount + result.plaintext.length)
  out.set(clear)
  out.set(result.plaintext, clearCount)
  return { ...result, frame: out }
}
