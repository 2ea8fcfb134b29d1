/**
 * One WebRTC connection between this device and one other device of a call, whatever drives it
 * (a 1:1 call here; a mesh or SFU leg later). It owns the RTCPeerConnection and does what the
 * call's security rests on:
 *
 * - Its DTLS certificate is made here, and its fingerprint goes into the signed offer or answer
 *   (`localFingerprint`). Once the connection is up, the certificate the peer actually presented
 *   (WebRTC stats: transport → remoteCertificateId → certificate) must equal the fingerprint in
 *   the peer's signed signal (`verifyRemoteFingerprint`), or the call is refused: a man in the
 *   middle of the signalling cannot forge the MLS signature over it (RFC 8827 §6.5).
 * - Every sender and receiver gets the SFrame transform when its transceiver is created (on the
 *   offering side `ontrack` is too late in Chromium, DESIGN.md §8), before any frame flows.
 * - VP8 and Opus only (codec preferences): the SFrame transform keeps their header bytes clear.
 * - Our audio goes out in 40 ms packets: each remote description gets `a=ptime` before it is
 *   applied (`withAudioPacketTime`, decision 0015), which sets our own encoder's frame size.
 */
import { withAudioPacketTime } from '@tacit/calls/audio-packet-time'
import {
  type DtlsFingerprint,
  fingerprintFromText,
  sameFingerprint,
} from '@tacit/client/calls/call-signalling'

/** What protects media frames (packages/calls' SFrame transform, or nothing in a test control). */
export interface MediaProtection {
  protectSender(sender: RTCRtpSender, kind: 'audio' | 'video'): void
  protectReceiver(receiver: RTCRtpReceiver, kind: 'audio' | 'video'): void
}

export interface PeerSessionOptions {
  readonly role: 'offerer' | 'answerer'
  readonly iceServers: RTCIceServer[]
  readonly relayOnly: boolean
  readonly localStream: MediaStream
  readonly protection: MediaProtection
  /** The protection uses `createEncodedStreams` (no RTCRtpScriptTransform in this browser). */
  readonly encodedStreams: boolean
  /** Our ICE candidates as they are found (null: gathering is complete). */
  readonly onCandidate: (candidate: RTCIceCandidate | null) => void
  readonly onRemoteTrack: (track: MediaStreamTrack) => void
  readonly onConnectionState: (state: RTCPeerConnectionState) => void
}

/** Remote candidates held until the remote description is set; more than this is refused. */
const MAX_PENDING_CANDIDATES = 256
const KINDS = ['audio', 'video'] as const
/** Looks for the peer's certificate in the stats, this many times this far apart, before refusing. */
const CERTIFICATE_LOOKUPS = 10
const CERTIFICATE_LOOKUP_INTERVAL_MS = 200

export class PeerSession {
  readonly pc: RTCPeerConnection
  readonly localFingerprint: DtlsFingerprint
  private readonly pending: RTCIceCandidateInit[] = []
  private remoteSet = false
  private closed = false

  private constructor(
    private readonly o: PeerSessionOptions,
    certificate: RTCCertificate,
  ) {
    const fp = certificate.getFingerprints().find((f) => f.algorithm === 'sha-256')
    if (!fp?.value) throw new Error('the DTLS certificate has no sha-256 fingerprint')
    this.localFingerprint = fingerprintFromText('sha-256', fp.value)
    this.pc = new RTCPeerConnection({
      iceServers: o.iceServers,
      iceTransportPolicy: o.relayOnly ? 'relay' : 'all',
      certificates: [certificate],
      bundlePolicy: 'max-bundle',
      rtcpMuxPolicy: 'require',
      // The createEncodedStreams fallback works only on a connection made for it.
      ...(o.encodedStreams ? ({ encodedInsertableStreams: true } as object) : {}),
    })
    this.pc.onicecandidate = (e) => {
      if (!this.closed) o.onCandidate(e.candidate)
    }
    this.pc.ontrack = (e) => {
      if (!this.closed) o.onRemoteTrack(e.track)
    }
    this.pc.onconnectionstatechange = () => {
      if (!this.closed) o.onConnectionState(this.pc.connectionState)
    }
  }

  /** A fresh ECDSA P-256 certificate per call: nothing links two calls of one device. */
  static async create(o: PeerSessionOptions): Promise<PeerSession> {
    const certificate = await RTCPeerConnection.generateCertificate({
      name: 'ECDSA',
      namedCurve: 'P-256',
    } as EcKeyGenParams)
    const session = new PeerSession(o, certificate)
    if (o.role === 'offerer') session.addLocalTransceivers()
    return session
  }

  /** Offering side: one send-receive transceiver per kind, protected at creation. */
  private addLocalTransceivers(): void {
    for (const kind of KINDS) {
      const track = this.o.localStream.getTracks().find((t) => t.kind === kind) ?? null
      const t = this.pc.addTransceiver(track ?? kind, {
        direction: 'sendrecv',
        streams: [this.o.localStream],
      })
      this.prepare(t, kind)
    }
  }

  private prepare(t: RTCRtpTransceiver, kind: 'audio' | 'video'): void {
    this.o.protection.protectSender(t.sender, kind)
    this.o.protection.protectReceiver(t.receiver, kind)
    preferCodec(t, kind)
  }

  async createOffer(): Promise<string> {
    const offer = await this.pc.createOffer()
    await this.pc.setLocalDescription(offer)
    return this.pc.localDescription?.sdp ?? offer.sdp ?? ''
  }

  /**
   * Answering side. Our tracks go in with `addTrack` before the offer is applied, so the offer's
   * m-lines take over these very transceivers (JSEP: transceivers made by addTrack are reused),
   * and their transforms are in place from the start: in Chromium a transform set on a
   * transceiver that setRemoteDescription created does not see its frames.
   */
  async answer(offerSdp: string): Promise<string> {
    for (const track of this.o.localStream.getTracks()) {
      const sender = this.pc.addTrack(track, this.o.localStream)
      const t = this.pc.getTransceivers().find((x) => x.sender === sender)
      if (t) this.prepare(t, track.kind as 'audio' | 'video')
    }
    const prepared = new Set(this.pc.getTransceivers())
    await this.pc.setRemoteDescription({ type: 'offer', sdp: withAudioPacketTime(offerSdp) })
    await this.remoteDescriptionSet()
    for (const t of this.pc.getTransceivers()) {
      // A kind we send nothing of (an audio call's video line): receive only, still protected.
      if (!prepared.has(t)) this.prepare(t, t.receiver.track.kind as 'audio' | 'video')
      t.direction = 'sendrecv'
    }
    const answer = await this.pc.createAnswer()
    await this.pc.setLocalDescription(answer)
    return this.pc.localDescription?.sdp ?? answer.sdp ?? ''
  }

  async acceptAnswer(answerSdp: string): Promise<void> {
    await this.pc.setRemoteDescription({ type: 'answer', sdp: withAudioPacketTime(answerSdp) })
    await this.remoteDescriptionSet()
  }

  private async remoteDescriptionSet(): Promise<void> {
    this.remoteSet = true
    for (const c of this.pending.splice(0)) await this.pc.addIceCandidate(c).catch(() => undefined)
  }

  async addRemoteCandidate(c: RTCIceCandidateInit): Promise<void> {
    if (this.closed) return
    if (!this.remoteSet) {
      if (this.pending.length < MAX_PENDING_CANDIDATES) this.pending.push(c)
      return
    }
    // A candidate that does not parse is the peer's problem; the others still work.
    await this.pc.addIceCandidate(c).catch(() => undefined)
  }

  /**
   * The certificate the peer presented on this connection, from the DTLS transport's stats, as
   * an RFC 8122 fingerprint in the algorithm of `expected`; null while there is none yet.
   */
  async remoteFingerprint(): Promise<DtlsFingerprint | null> {
    const stats = await this.pc.getStats()
    let certId: string | undefined
    stats.forEach((s: { type: string; dtlsState?: string; remoteCertificateId?: string }) => {
      if (s.type === 'transport' && s.dtlsState === 'connected' && s.remoteCertificateId) {
        certId = s.remoteCertificateId
      }
    })
    if (certId === undefined) return null
    const cert = stats.get(certId) as { fingerprint?: string; fingerprintAlgorithm?: string } | undefined
    if (!cert?.fingerprint || !cert.fingerprintAlgorithm) return null
    return fingerprintFromText(cert.fingerprintAlgorithm, cert.fingerprint)
  }

  /**
   * True only if the connected peer's certificate is the one its signed signal named. The stats
   * may trail the 'connected' event by a moment: a missing certificate is asked for again a few
   * times; a different one is refused at once.
   */
  async verifyRemoteFingerprint(signed: DtlsFingerprint): Promise<boolean> {
    for (let attempt = 0; attempt < CERTIFICATE_LOOKUPS; attempt++) {
      if (this.closed) return false
      const actual = await this.remoteFingerprint().catch(() => null)
      if (actual !== null) return sameFingerprint(actual, signed)
      await new Promise((r) => setTimeout(r, CERTIFICATE_LOOKUP_INTERVAL_MS))
    }
    return false
  }

  sender(kind: 'audio' | 'video'): RTCRtpSender | undefined {
    return this.pc.getTransceivers().find((t) => t.receiver.track.kind === kind)?.sender
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.pc.close()
  }
}

/**
 * VP8 (with its retransmission format) for video, Opus for audio: the codecs whose header bytes
 * the SFrame transform keeps in the clear (DESIGN.md §8).
 */
function preferCodec(t: RTCRtpTransceiver, kind: 'audio' | 'video'): void {
  const caps = RTCRtpReceiver.getCapabilities(kind)
  if (!caps || typeof t.setCodecPreferences !== 'function') return
  const wanted = kind === 'video' ? ['video/vp8', 'video/rtx'] : ['audio/opus']
  const codecs = caps.codecs.filter((c) => wanted.includes(c.mimeType.toLowerCase()))
  if (codecs.length > 0) t.setCodecPreferences(codecs)
}
