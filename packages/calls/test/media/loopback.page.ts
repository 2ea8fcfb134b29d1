import { withAudioPacketTime } from '../../src/audio-packet-time.ts'
import { type CallEpochKeys, exportCallEpochKeys } from '../../src/call-keys.ts'
import {
  type CallMediaE2ee,
  type CallMediaE2eeStats,
  createCallMediaE2ee,
  ENCODED_STREAMS_PEER_CONNECTION_CONFIG,
  type MediaE2eeMode,
  preferE2eeCodecs,
} from '../../src/media-e2ee.ts'
import { benchFrames } from './frame-bench.ts'

/**
 * Page side of the media tests and the calls benchmark: a loopback call inside one page, Alice
 * (leaf 0) sending the fake camera and microphone to Bob (leaf 1), each with its own E2EE worker.
 * Node drives it through `globalThis.tacitMedia`.
 *
 * The epoch keys come from `exportCallEpochKeys` over an HKDF "exporter" of a per-epoch secret
 * byte: the MLS exporter itself is the protocol package's and is tested there; here the point is
 * the media path with right, wrong and rotated keys.
 */

export interface LoopbackOptions {
  /** Without E2EE: the baseline of the benchmark. */
  readonly e2ee: boolean
  /**
   * Benchmark only, with `e2ee: false`: route frames through a worker that passes them on
   * unchanged (`'empty'`), that replaces each frame's data with a copy (`'copy'`), or that also
   * AES-GCM-encrypts a copy of each (`'aes-gcm'`).
   */
  readonly passthrough?: 'empty' | 'copy' | 'aes-gcm'
  /** Benchmark only, with `e2ee: true`: the URL of another build of the transform worker to use. */
  readonly workerUrl?: string
  readonly mode?: MediaE2eeMode
  readonly width: number
  readonly height: number
  readonly frameRate: number
  /** Secret byte of the epoch Alice sends in; Bob uses `bobSecret` (defaults to the same). */
  readonly secret: number
  readonly bobSecret?: number
  /** Alice's audio packet time; the product's (`CALL_AUDIO_PACKET_MS`) unless a benchmark compares. */
  readonly audioPacketMs?: number
}

interface LoopbackCall {
  readonly alice: RTCPeerConnection
  readonly bob: RTCPeerConnection
  readonly aliceE2ee: CallMediaE2ee | undefined
  readonly bobE2ee: CallMediaE2ee | undefined
  readonly stream: MediaStream
  readonly video: HTMLVideoElement
  readonly audio: AudioContext
  readonly workers: readonly Worker[]
}

const CALL_ID = new Uint8Array([0x7a, 0xc1, 0x7c, 0xa1, 0x1d])
let current: LoopbackCall | undefined
/** Loudest received audio sample since the call started (the fake microphone beeps). */
let audioPeak = 0
let audioPeakTimer: ReturnType<typeof setInterval> | undefined

async function keysFor(epoch: bigint, secret: number, own: number, other: number): Promise<CallEpochKeys> {
  return exportCallEpochKeys({
    exporter: async (label, context, length) => {
      const ikm = await crypto.subtle.importKey('raw', new Uint8Array(32).fill(secret), 'HKDF', false, [
        'deriveBits',
      ])
      const info = new Uint8Array([...new TextEncoder().encode(label), ...context])
      return new Uint8Array(
        await crypto.subtle.deriveBits(
          { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info },
          ikm,
          length * 8,
        ),
      )
    },
    callId: CALL_ID,
    epoch,
    ownLeafIndex: own,
    memberLeafIndices: [other],
  })
}

function waitFor(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const poll = () => {
      if (condition()) resolve()
      else if (performance.now() - started > timeoutMs) reject(new Error(`timed out waiting for ${what}`))
      else setTimeout(poll, 50)
    }
    poll()
  })
}

async function start(options: LoopbackOptions): Promise<{ mode: string | undefined }> {
  if (current !== undefined) close()
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: true,
    video: {
      width: { exact: options.width },
      height: { exact: options.height },
      frameRate: options.frameRate,
    },
  })
  const e2eeOptions = () => ({
    ...(options.mode === undefined ? {} : { mode: options.mode }),
    ...(options.workerUrl === undefined
      ? {}
      : { worker: new Worker(options.workerUrl, { type: 'module', name: 'tacit-call-e2ee-compare' }) }),
  })
  const aliceE2ee = options.e2ee ? createCallMediaE2ee(e2eeOptions()) : undefined
  const bobE2ee = options.e2ee ? createCallMediaE2ee(e2eeOptions()) : undefined
  const config: RTCConfiguration =
    options.mode === 'encoded-streams'
      ? ({ ...ENCODED_STREAMS_PEER_CONNECTION_CONFIG } as RTCConfiguration)
      : {}
  const alice = new RTCPeerConnection(config)
  const bob = new RTCPeerConnection(config)
  alice.onicecandidate = (event) => {
    if (event.candidate !== null) bob.addIceCandidate(event.candidate).catch(() => undefined)
  }
  bob.onicecandidate = (event) => {
    if (event.candidate !== null) alice.addIceCandidate(event.candidate).catch(() => undefined)
  }
  if (aliceE2ee !== undefined && bobE2ee !== undefined) {
    await aliceE2ee.setKeys(await keysFor(1n, options.secret, 0, 1))
    await bobE2ee.setKeys(await keysFor(1n, options.bobSecret ?? options.secret, 1, 0))
  }
  const passthrough =
    options.passthrough !== undefined && !options.e2ee
      ? { alice: new Worker('/passthrough-worker.js'), bob: new Worker('/passthrough-worker.js') }
      : undefined
  for (const track of stream.getTracks()) {
    const kind = track.kind === 'audio' ? 'audio' : 'video'
    const transceiver = alice.addTransceiver(track, { direction: 'sendonly', streams: [stream] })
    preferE2eeCodecs(transceiver, kind)
    aliceE2ee?.protectSender(transceiver.sender, kind)
    if (passthrough !== undefined)
      transceiver.sender.transform = new RTCRtpScriptTransform(passthrough.alice, {
        aesGcm: options.passthrough === 'aes-gcm',
        copy: options.passthrough === 'copy',
      })
  }
  const video = document.createElement('video')
  video.muted = true
  video.autoplay = true
  video.playsInline = true
  document.body.append(video)
  // Chromium decodes received audio only when something plays it out: a silent Web Audio graph.
  const audio = new AudioContext()
  audioPeak = 0
  bob.ontrack = (event) => {
    if (event.track.kind === 'video') {
      video.srcObject = new MediaStream([event.track])
      video.play().catch(() => undefined)
    } else {
      // Chromium pulls remote WebRTC audio through a media element; Web Audio alone stays silent.
      const element = new Audio()
      element.muted = true
      element.srcObject = new MediaStream([event.track])
      element.play().catch(() => undefined)
      const silent = audio.createGain()
      silent.gain.value = 0
      const analyser = audio.createAnalyser()
      audio
        .createMediaStreamSource(new MediaStream([event.track]))
        .connect(analyser)
        .connect(silent)
      silent.connect(audio.destination)
      audio.resume().catch(() => undefined)
      const samples = new Float32Array(analyser.fftSize)
      audioPeakTimer = setInterval(() => {
        analyser.getFloatTimeDomainData(samples)
        for (const sample of samples) audioPeak = Math.max(audioPeak, Math.abs(sample))
      }, 20)
    }
  }
  await alice.setLocalDescription(await alice.createOffer())
  await bob.setRemoteDescription(alice.localDescription as RTCSessionDescription)
  // The answering side's receivers exist now; route them before any media can arrive.
  for (const transceiver of bob.getTransceivers()) {
    const kind = transceiver.receiver.track.kind === 'audio' ? 'audio' : 'video'
    bobE2ee?.protectReceiver(transceiver.receiver, kind)
    if (passthrough !== undefined)
      transceiver.receiver.transform = new RTCRtpScriptTransform(passthrough.bob, {
        aesGcm: options.passthrough === 'aes-gcm',
        copy: options.passthrough === 'copy',
      })
  }
  await bob.setLocalDescription(await bob.createAnswer())
  // As the web client does with every remote description: our sender's audio packet time.
  const answer = bob.localDescription as RTCSessionDescription
  await alice.setRemoteDescription({
    type: 'answer',
    sdp: withAudioPacketTime(answer.sdp, options.audioPacketMs),
  })
  await waitFor(() => alice.connectionState === 'connected', 'the loopback connection')
  current = {
    alice,
    bob,
    aliceE2ee,
    bobE2ee,
    stream,
    video,
    audio,
    workers: passthrough === undefined ? [] : [passthrough.alice, passthrough.bob],
  }
  return { mode: aliceE2ee?.mode }
}

function need(): LoopbackCall {
  if (current === undefined) throw new Error('no loopback call running')
  return current
}

interface InboundStats {
  readonly framesDecoded: number
  readonly keyFramesDecoded: number
  /** RTP payload bytes received (after the receive transform's input, i.e. protected frames). */
  readonly videoBytes: number
  readonly audioBytes: number
  readonly audioPackets: number
  readonly frameWidth: number
  readonly frameHeight: number
  readonly audioSamples: number
  readonly concealedSamples: number
  readonly audioEnergy: number
  readonly audioPeak: number
  readonly codecs: string[]
  /** The sender's video `qualityLimitationReason` ('none', 'cpu', 'bandwidth', 'other'). */
  readonly sendLimitation: string
  /** Seconds the sender's video spent limited by CPU (`qualityLimitationDurations.cpu`). */
  readonly sendCpuLimitedSeconds: number
}

async function inbound(): Promise<InboundStats> {
  const call = need()
  const report = await call.bob.getStats()
  let sendLimitation = 'unknown'
  let sendCpuLimitedSeconds = 0
  ;(await call.alice.getStats()).forEach((entry: Record<string, unknown>) => {
    if (entry.type !== 'outbound-rtp' || entry.kind !== 'video') return
    sendLimitation = String(entry.qualityLimitationReason ?? 'unknown')
    const durations = entry.qualityLimitationDurations as Record<string, number> | undefined
    sendCpuLimitedSeconds = Number(durations?.cpu ?? 0)
  })
  const stats = {
    framesDecoded: 0,
    keyFramesDecoded: 0,
    videoBytes: 0,
    audioBytes: 0,
    audioPackets: 0,
    frameWidth: 0,
    frameHeight: 0,
    audioSamples: 0,
    concealedSamples: 0,
    audioEnergy: 0,
    audioPeak,
    codecs: [] as string[],
    sendLimitation,
    sendCpuLimitedSeconds,
  }
  const codecIds = new Set<string>()
  report.forEach((entry: Record<string, unknown>) => {
    if (entry.type !== 'inbound-rtp') return
    if (typeof entry.codecId === 'string') codecIds.add(entry.codecId)
    if (entry.kind === 'video') {
      stats.framesDecoded = Number(entry.framesDecoded ?? 0)
      stats.keyFramesDecoded = Number(entry.keyFramesDecoded ?? 0)
      stats.videoBytes = Number(entry.bytesReceived ?? 0)
      stats.frameWidth = Number(entry.frameWidth ?? 0)
      stats.frameHeight = Number(entry.frameHeight ?? 0)
    } else if (entry.kind === 'audio') {
      stats.audioSamples = Number(entry.totalSamplesReceived ?? 0)
      stats.concealedSamples = Number(entry.concealedSamples ?? 0)
      stats.audioBytes = Number(entry.bytesReceived ?? 0)
      stats.audioPackets = Number(entry.packetsReceived ?? 0)
      stats.audioEnergy = Number(entry.totalAudioEnergy ?? 0)
    }
  })
  report.forEach((entry: Record<string, unknown>) => {
    if (entry.type === 'codec' && codecIds.has(String(entry.id))) stats.codecs.push(String(entry.mimeType))
  })
  return stats
}

/** Mean luma of the received video drawn to a canvas, and the share of pixels above near-black. */
function sampleVideo(): { width: number; height: number; meanLuma: number; litFraction: number } {
  const { video } = need()
  const width = video.videoWidth
  const height = video.videoHeight
  if (width === 0 || height === 0) return { width, height, meanLuma: 0, litFraction: 0 }
  const canvas = document.createElement('canvas')
  canvas.width = width
  canvas.height = height
  const context = canvas.getContext('2d', { willReadFrequently: true })
  if (context === null) throw new Error('no 2d canvas')
  context.drawImage(video, 0, 0)
  const pixels = context.getImageData(0, 0, width, height).data
  let sum = 0
  let lit = 0
  for (let i = 0; i < pixels.length; i += 4) {
    const luma = 0.299 * pixels[i]! + 0.587 * pixels[i + 1]! + 0.114 * pixels[i + 2]!
    sum += luma
    if (luma > 16) lit++
  }
  const count = pixels.length / 4
  return { width, height, meanLuma: sum / count, litFraction: lit / count }
}

async function e2eeStats(): Promise<{
  alice: CallMediaE2eeStats | undefined
  bob: CallMediaE2eeStats | undefined
}> {
  const { aliceE2ee, bobE2ee } = need()
  return { alice: await aliceE2ee?.stats(), bob: await bobE2ee?.stats() }
}

/** Installs a new epoch at both ends (Alice first: Bob briefly sees a KID he has no key for yet). */
async function rotate({ epoch, secret }: { epoch: number; secret: number }): Promise<void> {
  const { aliceE2ee, bobE2ee } = need()
  if (aliceE2ee === undefined || bobE2ee === undefined) throw new Error('no E2EE in this call')
  await aliceE2ee.setKeys(await keysFor(BigInt(epoch), secret, 0, 1))
  await new Promise((resolve) => setTimeout(resolve, 100))
  await bobE2ee.setKeys(await keysFor(BigInt(epoch), secret, 1, 0))
}

function close(): void {
  const call = current
  current = undefined
  if (call === undefined) return
  call.alice.close()
  call.bob.close()
  call.aliceE2ee?.close()
  call.bobE2ee?.close()
  for (const track of call.stream.getTracks()) track.stop()
  call.video.remove()
  for (const worker of call.workers) worker.terminate()
  call.audio.close().catch(() => undefined)
  clearInterval(audioPeakTimer)
}

/** The per-frame benchmark on the page's own WebCrypto (for bench/calls.bench.ts). */
function benchFramesInPage({ iterations, warmup }: { iterations: number; warmup: number }) {
  return benchFrames(iterations, warmup)
}

const api = { start, inbound, sampleVideo, e2eeStats, rotate, close, benchFrames: benchFramesInPage }
export type TacitMediaApi = typeof api
Object.assign(globalThis, { tacitMedia: api, tacitMediaReady: true })
