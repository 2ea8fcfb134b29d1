import { CallKeyring } from './call-keys.ts'
import { type CallCodec, codecFromMimeType } from './codec-header.ts'
import { CallsError } from './errors.ts'
import { protectMediaFrame, unprotectMediaFrame } from './media-frame.ts'
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

function senderTransform(kind: 'audio' | 'video'): TransformStream<EncodedFrame, EncodedFrame> {
  return new TransformStream({
    async transform(frame, controller) {
      const codec = codecOf(frame, kind)
      if (codec === undefined) {
        counts.unsent++
        count('unsupported-codec')
        return
      }
      if (keyring.sendKid === undefined) {
        counts.unsent++
        count('no-key')
        return
      }
      try {
        const protectedFrame = await protectMediaFrame(keyring, codec, new Uint8Array(frame.data))
        frame.data = protectedFrame.buffer as ArrayBuffer
        counts.encrypted++
        controller.enqueue(frame)
      } catch (error) {
        counts.unsent++
        count(reasonOf(error))
      }
    },
  })
}

function receiverTransform(
  kind: 'audio' | 'video',
  transformer: ScriptTransformer | undefined,
): TransformStream<EncodedFrame, EncodedFrame> {
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
  return new TransformStream({
    async transform(frame, controller) {
      const codec = codecOf(frame, kind)
      if (codec === undefined) {
        counts.dropped++
        count('unsupported-codec')
        return
      }
      try {
        const result = await unprotectMediaFrame(keyring, codec, new Uint8Array(frame.data))
        if (result.kind === 'replay') {
          counts.replayed++
          return
        }
        frame.data = result.frame.buffer as ArrayBuffer
        counts.decrypted++
        controller.enqueue(frame)
        // Frames lost to a key change leave the decoder without references: ask for a key frame.
        if (droppedSinceDecode) requestKeyFrame()
        droppedSinceDecode = false
      } catch (error) {
        counts.dropped++
        count(reasonOf(error))
        droppedSinceDecode = true
      }
    },
  })
}

function attach(
  options: TransformOptions,
  readable: ReadableStream<EncodedFrame>,
  writable: WritableStream<EncodedFrame>,
  transformer?: ScriptTransformer,
): void {
  const kind = options.kind === 'audio' ? 'audio' : 'video'
  const transform = options.side === 'send' ? senderTransform(kind) : receiverTransform(kind, transformer)
  // The pipe ends when the peer connection closes; nothing to report then.
  readable
    .pipeThrough(transform)
    .pipeTo(writable)
    .catch(() => undefined)
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
