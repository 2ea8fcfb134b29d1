import { CallsError } from './errors.ts'

/**
 * Codec bytes kept in the clear in front of the SFrame ciphertext, and authenticated as its
 * metadata (RFC 9605 §4.4.3 aad = header ‖ metadata). Whole-frame encryption would hide what the
 * RTP packetiser and the receiver's depacketiser read (DESIGN §8: VP8 key-frame detection breaks),
 * so these few bytes stay readable; they say what kind of frame it is, never what it shows.
 *
 * - VP8 (RFC 6386 §9.1): the 3-byte frame tag; on key frames also the 3-byte start code and the
 *   4 bytes of width and height, 10 bytes in all.
 * - VP9: the first byte of the uncompressed header (frame marker, profile, show-existing-frame,
 *   frame type).
 * - Opus (RFC 6716 §3.1): the TOC byte (mode, bandwidth, frame size, stereo, frame count code).
 */

export type CallCodec = 'vp8' | 'vp9' | 'opus'

export const VP8_KEY_FRAME_CLEAR_BYTES = 10
export const VP8_DELTA_FRAME_CLEAR_BYTES = 3
export const VP9_CLEAR_BYTES = 1
export const OPUS_CLEAR_BYTES = 1

/**
 * RFC 6386 §9.1: the first bit (bit 0 of byte 0) of the frame tag is the frame type, 0 for a key
 * frame and 1 for an interframe.
 */
export function isVp8KeyFrame(frame: Uint8Array): boolean {
  return frame.length > 0 && (frame[0]! & 0x01) === 0
}

/**
 * How many leading bytes of `frame` stay in the clear. The answer depends only on bytes that are
 * themselves in the clear, so the receiver computes the same number from the encrypted frame.
 * Returns undefined when the frame is shorter than its codec's clear header (not a valid frame of
 * that codec): such frames are dropped, never sent as they are.
 */
export function clearByteCount(codec: CallCodec, frame: Uint8Array): number | undefined {
  let count: number
  switch (codec) {
    case 'vp8':
      count = isVp8KeyFrame(frame) ? VP8_KEY_FRAME_CLEAR_BYTES : VP8_DELTA_FRAME_CLEAR_BYTES
      break
    case 'vp9':
      count = VP9_CLEAR_BYTES
      break
    case 'opus':
      count = OPUS_CLEAR_BYTES
      break
    default:
      throw new CallsError('unsupported-codec', `no clear header rule for codec ${String(codec)}`)
  }
  return frame.length >= count ? count : undefined
}

/**
 * The codec of an encoded frame from its metadata's MIME type (`video/VP8`, `audio/opus`, ...), or
 * undefined for a codec Tacit does not protect (H.264 and AV1 need packetiser-aware handling).
 */
export function codecFromMimeType(
  mimeType: string | undefined,
  kind: 'audio' | 'video',
): CallCodec | undefined {
  if (mimeType === undefined || mimeType === '') return kind === 'audio' ? 'opus' : undefined
  switch (mimeType.toLowerCase()) {
    case 'video/vp8':
      return 'vp8'
    case 'video/vp9':
      return 'vp9'
    case 'audio/opus':
      return 'opus'
    default:
      return undefined
  }
}
