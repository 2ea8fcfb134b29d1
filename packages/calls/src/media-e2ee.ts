import type { CallEpochKeys } from './call-keys.ts'
import { CallsError } from './errors.ts'
import type {
  CallMediaE2eeStats,
  MediaKind,
  TransformOptions,
  WorkerReply,
  WorkerRequest,
} from './media-protocol.ts'

export type { CallMediaE2eeStats, FrameDropReason, MediaKind } from './media-protocol.ts'

/**
 * Page side of call media encryption: one worker per call runs `transform-worker.ts`, and every
 * RTCRtpSender / RTCRtpReceiver of the call is routed through it. Keys go to the worker with
 * `setKeys` (one `CallEpochKeys` per MLS epoch, from `exportCallEpochKeys`).
 *
 * Two mechanisms, detected in this order:
 * - `script-transform`: `RTCRtpScriptTransform` (WebRTC Encoded Transform). Chromium 156 has it.
 *   Set `receiver.transform` when the transceiver is created: in `ontrack` is too late on the
 *   offering side (DESIGN §8).
 * - `encoded-streams`: Chromium's older `createEncodedStreams()`. It only works on a peer
 *   connection created with `ENCODED_STREAMS_PEER_CONNECTION_CONFIG` in its configuration, and
 *   has no key frame requests.
 */

export type MediaE2eeMode = 'script-transform' | 'encoded-streams'

/** Must be part of the RTCPeerConnection configuration for the `encoded-streams` mode. */
export const ENCODED_STREAMS_PEER_CONNECTION_CONFIG = { encodedInsertableStreams: true } as const

/** How long `setKeys` and `stats` wait for the worker before failing. */
export const WORKER_REPLY_TIMEOUT_MS = 10_000

/** MIME types whose frames the worker can protect (see `codec-header.ts`); RTX only resends packets. */
export const E2EE_CODEC_MIME_TYPES: readonly string[] = ['video/vp8', 'video/vp9', 'audio/opus', 'video/rtx']

interface EncodedStreams {
  readonly readable: ReadableStream
  readonly writable: WritableStream
}

type WithEncodedStreams = { createEncodedStreams?: () => EncodedStreams }

/** Which mechanism this browser offers, or undefined when it can do neither (no E2EE calls). */
export function detectMediaE2eeMode(): MediaE2eeMode | undefined {
  if (typeof globalThis.RTCRtpScriptTransform === 'function') return 'script-transform'
  const sender = globalThis.RTCRtpSender?.prototype as WithEncodedStreams | undefined
  if (sender !== undefined && typeof sender.createEncodedStreams === 'function') return 'encoded-streams'
  return undefined
}

/**
 * Limits a transceiver to codecs the worker protects (VP8, then VP9; Opus), so negotiation never
 * lands on H.264 or AV1, whose packetisers need more than a clear header.
 */
export function preferE2eeCodecs(transceiver: RTCRtpTransceiver, kind: MediaKind): void {
  const capabilities = RTCRtpReceiver.getCapabilities(kind)
  if (capabilities === null) return
  const rank = (mime: string): number => E2EE_CODEC_MIME_TYPES.indexOf(mime.toLowerCase())
  const codecs = capabilities.codecs.filter((codec) => rank(codec.mimeType) >= 0)
  codecs.sort((a, b) => rank(a.mimeType) - rank(b.mimeType))
  transceiver.setCodecPreferences(codecs)
}

export interface CallMediaE2ee {
  readonly mode: MediaE2eeMode
  /** Call when the transceiver is created (DESIGN §8). */
  protectSender(sender: RTCRtpSender, kind: MediaKind): void
  /** Call when the transceiver is created; in `ontrack` is too late on the offering side. */
  protectReceiver(receiver: RTCRtpReceiver, kind: MediaKind): void
  /** Installs one epoch's keys in the worker; resolves once frames use them. */
  setKeys(keys: CallEpochKeys): Promise<void>
  stats(): Promise<CallMediaE2eeStats>
  close(): void
}

export interface CallMediaE2eeOptions {
  /** Forces a mechanism (tests); by default the first one `detectMediaE2eeMode` finds. */
  readonly mode?: MediaE2eeMode
  /** A worker running `transform-worker.ts`; by default one is started from the module URL. */
  readonly worker?: Worker
}

function startWorker(): Worker {
  // Vite (packages/web) recognises this pattern and bundles the worker with its imports.
  return new Worker(new URL('./transform-worker.ts', import.meta.url), {
    type: 'module',
    name: 'tacit-call-e2ee',
  })
}

export function createCallMediaE2ee(options: CallMediaE2eeOptions = {}): CallMediaE2ee {
  const mode = options.mode ?? detectMediaE2eeMode()
  if (mode === undefined) {
    throw new CallsError(
      'usage',
      'this browser offers neither RTCRtpScriptTransform nor createEncodedStreams',
    )
  }
  const worker = options.worker ?? startWorker()
  let closed = false
  let nextId = 1
  const pending = new Map<number, { resolve: (reply: WorkerReply) => void; reject: (error: Error) => void }>()
  worker.addEventListener('message', (event: MessageEvent<WorkerReply>) => {
    const waiter = pending.get(event.data.id)
    if (waiter === undefined) return
    pending.delete(event.data.id)
    waiter.resolve(event.data)
  })
  worker.addEventListener('error', () => {
    for (const waiter of pending.values()) waiter.reject(new CallsError('usage', 'the E2EE worker failed'))
    pending.clear()
  })

  const ask = (request: Extract<WorkerRequest, { id: number }>): Promise<WorkerReply> =>
    new Promise<WorkerReply>((resolve, reject) => {
      if (closed) {
        reject(new CallsError('usage', 'the call media encryption is closed'))
        return
      }
      const timer = setTimeout(() => {
        pending.delete(request.id)
        reject(new CallsError('usage', `the E2EE worker did not answer within ${WORKER_REPLY_TIMEOUT_MS} ms`))
      }, WORKER_REPLY_TIMEOUT_MS)
      pending.set(request.id, {
        resolve: (reply) => {
          clearTimeout(timer)
          resolve(reply)
        },
        reject: (error) => {
          clearTimeout(timer)
          reject(error)
        },
      })
      worker.postMessage(request)
    })

  const route = (target: RTCRtpSender | RTCRtpReceiver, options: TransformOptions): void => {
    if (closed) throw new CallsError('usage', 'the call media encryption is closed')
    if (mode === 'script-transform') {
      target.transform = new RTCRtpScriptTransform(worker, options)
      return
    }
    const withStreams = target as unknown as WithEncodedStreams
    if (typeof withStreams.createEncodedStreams !== 'function') {
      throw new CallsError('usage', 'createEncodedStreams is not available on this sender or receiver')
    }
    const { readable, writable } = withStreams.createEncodedStreams()
    const request: WorkerRequest = { type: 'streams', options, readable, writable }
    worker.postMessage(request, [readable as unknown as Transferable, writable as unknown as Transferable])
  }

  return {
    mode,
    protectSender: (sender, kind) => route(sender, { side: 'send', kind }),
    protectReceiver: (receiver, kind) => route(receiver, { side: 'receive', kind }),
    async setKeys(keys) {
      const reply = await ask({ type: 'keys', id: nextId++, keys })
      if (reply.type === 'keys' && !reply.ok)
        throw new CallsError('usage', `the worker refused the keys (${reply.code})`)
    },
    async stats() {
      const reply = await ask({ type: 'stats', id: nextId++ })
      if (reply.type !== 'stats') throw new CallsError('usage', 'unexpected reply from the E2EE worker')
      return reply.stats
    },
    close() {
      if (closed) return
      closed = true
      for (const waiter of pending.values()) waiter.reject(new CallsError('usage', 'closed'))
      pending.clear()
      worker.terminate()
    },
  }
}
