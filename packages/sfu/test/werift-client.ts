/**
 * A call participant for the Node tests: a werift peer that speaks the SFU's signalling (answers
 * every offer, publishes on the m-lines the offer names) and records the payload of every RTP
 * packet it receives, per sending participant.
 */
import {
  MediaStreamTrack,
  RTCPeerConnection,
  RtpHeader,
  RtpPacket,
  useNACK,
  useOPUS,
  usePLI,
  useVP8,
} from 'werift'
import type { ClientMessage, ServerMessage } from '../src/messages.ts'

export interface ReceivedPacket {
  readonly from: string
  readonly kind: 'audio' | 'video'
  readonly payload: Buffer
}

export class TestParticipant {
  readonly pc = new RTCPeerConnection({
    codecs: { audio: [useOPUS()], video: [useVP8({ rtcpFeedback: [useNACK(), usePLI()] })] },
    bundlePolicy: 'max-bundle',
    iceUseIpv6: false,
    iceUseTcp: false,
    iceAdditionalHostAddresses: ['127.0.0.1'],
    iceInterfaceAddresses: { udp4: '127.0.0.1' },
  })
  readonly tracks = {
    audio: new MediaStreamTrack({ kind: 'audio' }),
    video: new MediaStreamTrack({ kind: 'video' }),
  }
  id: string | null = null
  participants: readonly string[] = []
  readonly received: ReceivedPacket[] = []
  readonly sent = new Map<'audio' | 'video', Buffer[]>([
    ['audio', []],
    ['video', []],
  ])
  offers = 0
  errors: { code: string; message: string }[] = []
  /** mid → whose media the SFU says arrives there. */
  midOwners = new Map<string, { participant: string; kind: 'audio' | 'video' }>()
  private seq = { audio: 0, video: 0 }
  private queue: Promise<void> = Promise.resolve()
  private timer: ReturnType<typeof setInterval> | null = null

  constructor(readonly send: (message: ClientMessage) => void) {
    this.pc.onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe((packet) => {
        const mid = this.pc
          .getTransceivers()
          .find((t) => t.receiver.track === track || t.receiver.tracks.includes(track))?.mid
        const owner = mid === null || mid === undefined ? undefined : this.midOwners.get(mid)
        this.received.push({
          from: owner?.participant ?? '?',
          kind: track.kind as 'audio' | 'video',
          payload: packet.payload,
        })
      })
    })
  }

  /** Handles one message from the SFU (in order; answers are asynchronous). */
  handle(message: ServerMessage): void {
    this.queue = this.queue.then(() => this.apply(message))
  }

  private async apply(message: ServerMessage): Promise<void> {
    switch (message.type) {
      case 'joined':
        this.id = message.participant
        this.participants = message.participants
        return
      case 'participants':
        this.participants = message.participants
        return
      case 'error':
        this.errors.push({ code: message.code, message: message.message })
        return
      case 'offer': {
        this.offers++
        this.midOwners = new Map(
          message.tracks.map((t) => [t.mid, { participant: t.participant, kind: t.kind }]),
        )
        await this.pc.setRemoteDescription({ type: 'offer', sdp: message.sdp })
        for (const kind of ['audio', 'video'] as const) {
          const transceiver = this.pc.getTransceivers().find((t) => t.mid === message.publish[kind])
          if (transceiver === undefined) throw new Error(`no ${kind} publishing m-line`)
          transceiver.setDirection('sendonly')
          if (transceiver.sender.track !== this.tracks[kind])
            await transceiver.sender.replaceTrack(this.tracks[kind])
        }
        await this.pc.setLocalDescription(await this.pc.createAnswer())
        this.send({ type: 'answer', sdp: this.pc.localDescription!.sdp })
        return
      }
      case 'ready':
        return
    }
  }

  /** Publishes synthetic packets every 20 ms: random payloads, remembered for comparison. */
  startPublishing(): void {
    this.timer = setInterval(() => {
      for (const kind of ['audio', 'video'] as const) {
        const payload = Buffer.from(crypto.getRandomValues(new Uint8Array(kind === 'audio' ? 60 : 900)))
        const header = new RtpHeader({
          sequenceNumber: this.seq[kind]++ & 0xffff,
          timestamp: (this.seq[kind] * 960) >>> 0,
          payloadType: 96,
          ssrc: kind === 'audio' ? 1111 : 2222,
          marker: true,
        })
        this.sent.get(kind)!.push(payload)
        this.tracks[kind].writeRtp(new RtpPacket(header, payload))
      }
    }, 20)
  }

  stopPublishing(): void {
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
  }

  async close(): Promise<void> {
    this.stopPublishing()
    await this.pc.close()
  }
}
