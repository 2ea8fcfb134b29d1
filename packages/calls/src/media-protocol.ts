import type { CallEpochKeys } from './call-keys.ts'

/**
 * Messages between the page (`media-e2ee.ts`) and the transform worker (`transform-worker.ts`).
 * Only plain data crosses: keys as `CallEpochKeys`, streams (fallback mode) as transferables.
 */

export type MediaKind = 'audio' | 'video'
export type TransformSide = 'send' | 'receive'

/** The options object of `new RTCRtpScriptTransform(worker, options)`. */
export interface TransformOptions {
  readonly side: TransformSide
  readonly kind: MediaKind
}

/** Why frames were not passed on; each count is in `CallMediaE2eeStats.reasons`. */
export type FrameDropReason =
  | 'no-key' // sending before any keys were set
  | 'unknown-kid' // a frame under a KID we hold no key for (other call, expired epoch, wrong group)
  | 'auth-failed' // did not authenticate: tampered, or a wrong key
  | 'invalid-header' // not an SFrame frame at all (e.g. a sender without E2EE)
  | 'unsupported-codec' // a codec without a clear-header rule (H.264, AV1) or a truncated frame
  | 'other'

export interface CallMediaE2eeStats {
  /** Frames this side encrypted and sent on. */
  readonly encrypted: number
  /** Frames that decrypted and went on to the decoder. */
  readonly decrypted: number
  /** Incoming frames dropped because they did not decrypt (never passed on in the clear). */
  readonly dropped: number
  /** Incoming duplicates or too-old frames, dropped silently. */
  readonly replayed: number
  /** Outgoing frames not sent (no key yet, unsupported codec). */
  readonly unsent: number
  /** Key frame requests the receive side sent after a gap of undecryptable frames. */
  readonly keyFrameRequests: number
  readonly reasons: Readonly<Partial<Record<FrameDropReason, number>>>
}

export type WorkerRequest =
  | { readonly type: 'keys'; readonly id: number; readonly keys: CallEpochKeys }
  | { readonly type: 'stats'; readonly id: number }
  | {
      readonly type: 'streams'
      readonly options: TransformOptions
      readonly readable: ReadableStream
      readonly writable: WritableStream
    }

export type WorkerReply =
  | { readonly type: 'keys'; readonly id: number; readonly ok: true }
  | { readonly type: 'keys'; readonly id: number; readonly ok: false; readonly code: string }
  | { readonly type: 'stats'; readonly id: number; readonly stats: CallMediaE2eeStats }
