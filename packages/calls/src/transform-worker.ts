import { CallKeyring } from './call-keys.ts'
import { type CallCodec, codecFromMimeType } from './codec-header.ts'
import { CallsError } from './errors.ts'
import {
  protectMediaFrame,
  protectMediaFrameNow,
  type UnprotectedMediaFrame,
  unprotectMediaFrame,
  unprotectMediaFrameNow,
} from './media-frame.ts'
import type {
  CallMediaE2eeStats,
  FrameDropReason,
  TransformOptions,
  WorkerReply,
  WorkerRequest,
} from './media-protocol.ts'

/**
 * The media encryption worker: SFrame-encrypts every outgoing encoded frame and decrypts every
 * incoming one. It runs under `RTCRtpScriptTransform` (an `rtctransform` event per sender or
 * receiver) or, as a fallback, on the streams of `createEncodedStreams()` posted by the page.
 * A frame that cannot be encrypted or decrypted is dropped and counted; nothing passes in the clear.
 * Keys arrive from the page as `CallEpochKeys` (one message per epoch).
 */

/** The worker-side transformer (lib.webworker's RTCRtpScriptTransformer; the repo builds with lib.dom). */
interface ScriptTransformer {
  readonly readable: ReadableStream<EncodedFrame>
  readonly writable: WritableStream<EncodedFrame>
  readonly options: TransformOptions
  sendKeyFrameRequest?(): Promise<void>
}

type EncodedFrame = RTCEncodedVideoFrame | RTCEncodedAudioFrame

interface WorkerScope {
  addEventListener(type: 'message', listener: (event: MessageEvent<WorkerRequest>) => void): void
  addEventListener(
    type: 'rtctransform',
    listener: (event: Event & { transformer: ScriptTransformer }) => void,
  ): void
  postMessage(message: WorkerReply): void
}

/** At most one key frame request per this many milliseconds per receiver. */
export const KEY_FRAME_REQUEST_INTERVAL_MS = 1_000

const scope = globalThis as unknown as WorkerScope
const keyring = new CallKeyring()
const counts = {
  encrypted: 0,
  decrypted: 0,
  dropped: 0,
  replayed: 0,
  unsent: 0,
  keyFrameRequests: 0,
}
const reasons: Partial<Record<FrameDropReason, number>> = {}

function reasonOf(error: unknown): FrameDropReason {
  if (CallsError.is(error)) {
    switch (error.code) {
      case 'unknown-kid':
      case 'auth-failed':
      case 'invalid-header':
      case 'unsupported-codec':
        return error.code
      case 'limit-exceeded':
        return 'invalid-header'
      default:
        return 'other'
    }
  }
  return 'other'
}

function count(reason: FrameDropReason): void {
  reasons[reason] = (reasons[reason] ?? 0) + 1
}

function codecOf(frame: EncodedFrame, kind: 'audio' | 'video'): CallCodec | undefined {
  // Audio packetisers never read the payload: one clear byte (Opus's TOC) suits every audio codec,
  // and skipping getMetadata() saves work on 50 frames a second.
  if (kind === 'audio') return 'opus'
  const metadata = frame.getMetadata() as { mimeType?: string }
  const codec = codecFromMimeType(metadata.mimeType, kind)
  // Without a MIME type in the metadata a video frame is taken as VP8, the codec calls negotiate first.
  return codec ?? (metadata.mimeType === undefined && kind === 'video' ? 'vp8' : undefined)
}

/**
 * What a transform does with one frame: the frame to pass on, undefined to drop it, or a promise
 * of either when the frame needs WebCrypto (a large frame, a KID whose key is still derived).
 */
type FrameHandler = (frame: EncodedFrame) => EncodedFrame | undefined | Promise<EncodedFrame | undefined>

function senderHandler(kind: 'audio' | 'video'): FrameHandler {
  const sent = (frame: EncodedFrame, protectedFrame: Uint8Array): EncodedFrame => {
    frame.data = protectedFrame.buffer as ArrayBuffer
    counts.encrypted++
    return frame
  }
  const unsent = (error: unknown): undefined => {
    counts.unsent++
    count(reasonOf(error))
    return undefined
  }
  return (frame) => {
    const codec = codecOf(frame, kind)
    if (codec === undefined) {
      counts.unsent++
      count('unsupported-codec')
      return undefined
    }
    if (keyring.sendKid === undefined) {
      counts.unsent++
      count('no-key')
      return undefined
    }
    const data = new Uint8Array(frame.data)
    try {
      // Most frames (audio, small video) are sealed here and now: no thread hop, no await.
      const now = protectMediaFrameNow(keyring, codec, data)
      if (now !== undefined) return sent(frame, now)
    } catch (error) {
      return unsent(error)
    }
    return protectMediaFrame(keyring, codec, data).then((p) => sent(frame, p), unsent)
  }
}

function receiverHandler(kind: 'audio' | 'video', transformer: ScriptTransformer | undefined): FrameHandler {
  let droppedSinceDecode = false
  let lastRequest = Number.NEGATIVE_INFINITY
  const requestKeyFrame = (): void => {
    const now = Date.now()
    if (kind !== 'video' || transformer?.sendKeyFrameRequest === undefined) return
    if (now - lastRequest < KEY_FRAME_REQUEST_INTERVAL_MS) return
    lastRequest = now
    counts.keyFrameRequests++
    transformer.sendKeyFrameRequest().catch(() => undefined)
  }
  const received = (frame: EncodedFrame, result: UnprotectedMediaFrame): EncodedFrame | undefined => {
    if (result.kind === 'replay') {
      counts.replayed++
      return undefined
    }
    frame.data = result.frame.buffer as ArrayBuffer
    counts.decrypted++
    // Frames lost to a key change leave the decoder without references: ask for a key frame.
    if (droppedSinceDecode) requestKeyFrame()
    droppedSinceDecode = false
    return frame
  }
  const dropped = (error: unknown): undefined => {
    counts.dropped++
    count(reasonOf(error))
    droppedSinceDecode = true
    return undefined
  }
  return (frame) => {
    const codec = codecOf(frame, kind)
    if (codec === undefined) {
      counts.dropped++
      count('unsupported-codec')
      return undefined
    }
    const data = new Uint8Array(frame.data)
    try {
      const now = unprotectMediaFrameNow(keyring, codec, data)
      if (now !== undefined) return received(frame, now)
    } catch (error) {
      return dropped(error)
    }
    return unprotectMediaFrame(keyring, codec, data).then((r) => received(frame, r), dropped)
  }
}

/**
 * Reads frames, handles them one at a time in arrival order and writes the survivors: a plain
 * reader/writer loop (one await per frame when the handler is synchronous) instead of
 * pipeThrough(TransformStream).pipeTo, which runs two pipes and a transform queue per frame.
 * Writes are not awaited one by one; like pipeTo, the loop waits only when the writable asks for
 * it (desiredSize ≤ 0).
 */
async function pump(
  readable: ReadableStream<EncodedFrame>,
  writable: WritableStream<EncodedFrame>,
  handle: FrameHandler,
): Promise<void> {
  const reader = readable.getReader()
  const writer = writable.getWriter()
  const ignore = (): void => undefined
  for (;;) {
    const next = await reader.read()
    if (next.done) break
    const result = handle(next.value)
    const frame = result instanceof Promise ? await result : result
    if (frame === undefined) continue
    if ((writer.desiredSize ?? 1) <= 0) await writer.ready
    writer.write(frame).catch(ignore)
  }
}

function attach(
  options: TransformOptions,
  readable: ReadableStream<EncodedFrame>,
  writable: WritableStream<EncodedFrame>,
  transformer?: ScriptTransformer,
): void {
  const kind = options.kind === 'audio' ? 'audio' : 'video'
  const handle = options.side === 'send' ? senderHandler(kind) : receiverHandler(kind, transformer)
  // The loop ends (or its streams error) when the peer connection closes; nothing to report then.
  pump(readable, writable, handle).catch(() => undefined)
}

function snapshot(): CallMediaE2eeStats {
  return { ...counts, reasons: { ...reasons } }
}

scope.addEventListener('rtctransform', (event) => {
  const transformer = event.transformer
  attach(transformer.options, transformer.readable, transformer.writable, transformer)
})

scope.addEventListener('message', (event) => {
  const request = event.data
  switch (request.type) {
    case 'keys':
      keyring.setKeys(request.keys).then(
        () => scope.postMessage({ type: 'keys', id: request.id, ok: true }),
        (error: unknown) =>
          scope.postMessage({
            type: 'keys',
            id: request.id,
            ok: false,
            code: CallsError.is(error) ? error.code : 'internal',
          }),
      )
      break
    case 'stats':
      scope.postMessage({ type: 'stats', id: request.id, stats: snapshot() })
      break
    case 'streams':
      attach(
        request.options,
        request.readable as ReadableStream<EncodedFrame>,
        request.writable as WritableStream<EncodedFrame>,
      )
      break
  }
})
