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
  const clearCount = clearCountToProtect(codec, frame)
  return keyring.encrypt(frame.subarray(clearCount), frame.subarray(0, clearCount), true)
}

/**
 * `protectMediaFrame` without a promise for frames the in-thread AEAD takes (CallKeyring.encryptNow);
 * undefined means "use `protectMediaFrame`".
 */
export function protectMediaFrameNow(
  keyring: CallKeyring,
  codec: CallCodec,
  frame: Uint8Array,
): Uint8Array | undefined {
  const clearCount = clearCountToProtect(codec, frame)
  return keyring.encryptNow(frame.subarray(clearCount), frame.subarray(0, clearCount), true)
}

function clearCountToProtect(codec: CallCodec, frame: Uint8Array): number {
  const clearCount = clearByteCount(codec, frame)
  if (clearCount === undefined) {
    throw new CallsError(
      'unsupported-codec',
      `a ${codec} frame of ${frame.length} bytes has no complete header`,
    )
  }
  return clearCount
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
  const clearCount = clearCountToUnprotect(codec, frame)
  const clear = frame.subarray(0, clearCount)
  return withClearBytes(clear, await keyring.decrypt(frame.subarray(clearCount), clear))
}

/**
 * `unprotectMediaFrame` without a promise when the keyring can decrypt in-thread
 * (CallKeyring.decryptNow); undefined means "use `unprotectMediaFrame`".
 */
export function unprotectMediaFrameNow(
  keyring: CallKeyring,
  codec: CallCodec,
  frame: Uint8Array,
): UnprotectedMediaFrame | undefined {
  const clearCount = clearCountToUnprotect(codec, frame)
  const clear = frame.subarray(0, clearCount)
  const result = keyring.decryptNow(frame.subarray(clearCount), clear)
  return result === undefined ? undefined : withClearBytes(clear, result)
}

function clearCountToUnprotect(codec: CallCodec, frame: Uint8Array): number {
  const clearCount = clearByteCount(codec, frame)
  if (clearCount === undefined) {
    throw new CallsError('invalid-header', `a protected ${codec} frame of ${frame.length} bytes is too short`)
  }
  return clearCount
}

function withClearBytes(clear: Uint8Array, result: CallDecryptResult): UnprotectedMediaFrame {
  if (result.kind !== 'plaintext') return result
  const out = new Uint8Array(clear.length + result.plaintext.length)
  out.set(clear)
  out.set(result.plaintext, clear.length)
  return { ...result, frame: out }
}
