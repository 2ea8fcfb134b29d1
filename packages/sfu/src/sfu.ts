/**
 * A forwarding SFU on werift (docs/protocol/sfu.md, docs/decisions/0011-own-sfu-on-werift.md).
 *
 * Each participant has one peer connection to the SFU: two m-lines on which it publishes its own
 * audio and video, and two per other participant on which the SFU forwards theirs. Forwarding is
 * packet by packet: the RTP header is rewritten for the subscriber's m-line (SSRC, payload type,
 * sequence number and timestamp continuity, header extensions), the payload — SFrame ciphertext
 * behind the codec's clear header bytes — is passed on as received. The SFU holds no media key
 * and never depacketizes or decodes. Key-frame requests (PLI) from a subscriber go to the
 * publisher, at most one per `MIN_KEY_FRAME_REQUEST_INTERVAL_MS`.
 *
 * The SFU always makes the offers: a join or a leave changes the m-lines of everyone in the room,
 * and each participant gets a new offer once its previous one was answered.
 */
import { randomBytes } from 'node:crypto'
import {
  type MediaStreamTrack,
  PictureLossIndication,
  RTCPeerConnection,
  type RTCRtpTransceiver,
  type RtcpPacket,
  RtcpPayloadSpecificFeedback,
  type RtpPacket,
  useAbsSendTime,
  useNACK,
  useOPUS,
  usePLI,
  useSdesMid,
  useVP8,
} from 'werift'
import { SfuError, type SfuErrorCode } from './errors.ts'
import {
  ANSWER_TIMEOUT_MS,
  CONNECT_TIMEOUT_MS,
  IDLE_CHECK_INTERVAL_MS,
  MAX_CANDIDATES,
  MAX_PARTICIPANTS,
  MAX_ROOMS,
  MAX_TRANSCEIVERS,
  MEDIA_IDLE_TIMEOUT_MS,
  MIN_KEY_FRAME_REQUEST_INTERVAL_MS,
} from './limits.ts'
import type { ForwardedTrack, ServerMessage } from './messages.ts'

export type MediaKind = 'audio' | 'video'
const KINDS: readonly MediaKind[] = ['audio', 'video']

export interface SfuOptions {
  /** UDP ports for media, inclusive; default: any free port. */
  readonly portRange?: readonly [number, number]
  /** The one local IPv4 address media sockets bind to and advertise; default: every interface. */
  readonly address?: string
  /** The address put in candidates instead of `address` (a host behind 1:1 NAT). */
  readonly announcedAddress?: string
  readonly now?: () => number
  /** Structured events without addresses or payloads (the server's logger). */
  readonly log?: (event: string, fields: Record<string, string | number>) => void
  /** Test hook: sees every RTP packet the SFU receives from a publisher, before forwarding. */
  readonly onPublishedPacket?: (room: string, participant: string, kind: MediaKind, packet: RtpPacket) => void
}

/** What a participant's signalling session gets from the SFU. */
export interface ParticipantSink {
  send(message: ServerMessage): void
  /** The SFU dropped the participant (timeout, failed connection, shutdown). */
  dropped(code: SfuErrorCode, message: string): void
}

export interface SfuStats {
  readonly rooms: number
  readonly participants: number
  readonly forwardedPackets: number
  readonly keyFrameRequests: number
}

function randomId(): string {
  return randomBytes(16).toString('base64url')
}

/** Rewrites host candidates (and the connection line) from the bound address to the announced one. */
export function announceAddress(sdp: string, bound: string, announced: string): string {
  return sdp
    .split('\r\n')
    .map((line) => {
      if (line.startsWith('a=candidate:')) {
        const parts = line.split(' ')
        if (parts[4] === bound) parts[4] = announced
        return parts.join(' ')
      }
      if (line === `c=IN IP4 ${bound}`) return `c=IN IP4 ${announced}`
      return line
    })
    .join('\r\n')
}

class Forward {
  constructor(
    readonly transceiver: RTCRtpTransceiver,
    /** Publisher id, or null while the m-line is spare (inactive, waiting to be reused). */
    public publisher: string | null,
  ) {}
}

class Participant {
  readonly id = randomId()
  readonly pc: RTCPeerConnection
  readonly publishing = new Map<MediaKind, RTCRtpTransceiver>()
  readonly publishedTracks = new Map<MediaKind, MediaStreamTrack>()
  /** Forwarding m-lines, in creation order; key of `active`: `${publisher}/${kind}`. */
  readonly forwards: Forward[] = []
  readonly active = new Map<string, Forward>()
  lastActivityAt: number
  connected = false
  closed = false
  private awaitingAnswer = false
  private offerAgain = false
  /** An answer was applied: werift's ICE and DTLS are starting or up. */
  private answered = false
  private connectTimer: ReturnType<typeof setTimeout> | null = null
  private negotiation: Promise<void> = Promise.resolve()
  private answerTimer: ReturnType<typeof setTimeout> | null = null
  private candidates = 0
  private lastKeyFrameRequestAt = Number.NEGATIVE_INFINITY
  private readonly unsubscribers: (() => void)[] = []

  constructor(
    readonly room: Room,
    readonly deviceId: string,
    readonly sink: ParticipantSink,
    private readonly sfu: Sfu,
  ) {
    this.lastActivityAt = sfu.now()
    const options = sfu.options
    this.pc = new RTCPeerConnection({
      codecs: {
        audio: [useOPUS()],
        video: [useVP8({ rtcpFeedback: [useNACK(), usePLI()] })],
      },
      headerExtensions: { audio: [useSdesMid()], video: [useSdesMid(), useAbsSendTime()] },
      bundlePolicy: 'max-bundle',
      // ICE lite (RFC 8445 §2.5), as SFUs with a reachable address run: the browser, a full agent,
      // makes the checks, nominates and keeps consent fresh (RFC 7675). As a full agent werift
      // sent its own consent checks with a 500 ms response window and no retransmission; on a
      // loaded machine six late responses in a row expired consent and failed healthy connections.
      // A client that goes silent is dropped by MEDIA_IDLE_TIMEOUT_MS instead.
      iceLite: true,
      iceUseIpv6: false,
      iceUseTcp: false,
      ...(options.portRange !== undefined
        ? { icePortRange: [options.portRange[0], options.portRange[1]] }
        : {}),
      ...(options.address !== undefined
        ? { iceInterfaceAddresses: { udp4: options.address }, iceAdditionalHostAddresses: [options.address] }
        : {}),
    })
    for (const kind of KINDS) {
      const transceiver = this.pc.addTransceiver(kind, { direction: 'recvonly' })
      this.publishing.set(kind, transceiver)
      const onTrack = transceiver.onTrack.subscribe((track) => this.onPublishedTrack(kind, track))
      this.unsubscribers.push(onTrack.unSubscribe)
      this.watchRtcp(transceiver)
    }
    const onState = this.pc.connectionStateChange.subscribe((state) => {
      if (state === 'connected' && !this.connected) this.onConnected()
      // ICE failed (no pair, or RFC 7675 §5.1 consent expired 30 s after the last response) or
      // DTLS failed: the client is gone or unreachable.
      if (state === 'failed') this.sfu.drop(this, 'connection-lost', 'the media connection failed')
    })
    this.unsubscribers.push(onState.unSubscribe)
  }

  touch(): void {
    this.lastActivityAt = this.sfu.now()
  }

  private onConnected(): void {
    this.connected = true
    if (this.connectTimer !== null) clearTimeout(this.connectTimer)
    this.connectTimer = null
    // A subscriber that just connected needs a key frame from everyone it receives.
    for (const forward of this.active.values())
      if (forward.publisher !== null) this.room.get(forward.publisher)?.requestKeyFrame()
    // Room changes while the connection came up were held back (see negotiate()).
    if (this.offerAgain && !this.awaitingAnswer) {
      this.offerAgain = false
      this.negotiate()
    }
  }

  /**
   * Every RTCP packet the client sends counts as activity; a key-frame request (PLI, RFC 4585
   * §6.3.1, or FIR, RFC 5104 §4.3.1) for one of our forwarding senders goes to that m-line's
   * publisher. Matched by the media source SSRC here because werift routes feedback by the
   * *sender* SSRC first, and browsers send it from their own send SSRC — which is one of our
   * receivers, not the forwarding sender the request is about.
   */
  private watchRtcp(transceiver: RTCRtpTransceiver): void {
    const onPacket = (packet: RtcpPacket) => this.onClientRtcp(packet)
    this.unsubscribers.push(transceiver.receiver.onRtcp.subscribe(onPacket).unSubscribe)
    this.unsubscribers.push(transceiver.sender.onRtcp.subscribe(onPacket).unSubscribe)
  }

  private onClientRtcp(packet: RtcpPacket): void {
    this.touch()
    if (!(packet instanceof RtcpPayloadSpecificFeedback)) return
    const feedback = packet.feedback
    let ssrcs: number[]
    if (feedback instanceof PictureLossIndication) ssrcs = [feedback.mediaSsrc]
    else if ('fir' in feedback) ssrcs = feedback.fir.map((entry: { ssrc: number }) => entry.ssrc)
    else return
    for (const ssrc of ssrcs) {
      const forward = this.forwards.find((f) => f.transceiver.sender.ssrc === ssrc)
      if (forward?.publisher) this.room.get(forward.publisher)?.requestKeyFrame()
    }
  }

  private onPublishedTrack(kind: MediaKind, track: MediaStreamTrack): void {
    if (this.closed) return
    this.publishedTracks.set(kind, track)
    const { unSubscribe } = track.onReceiveRtp.subscribe((packet) => this.forward(kind, packet))
    this.unsubscribers.push(unSubscribe)
  }

  private forward(kind: MediaKind, packet: RtpPacket): void {
    if (this.closed) return
    this.touch()
    this.sfu.options.onPublishedPacket?.(this.room.id, this.id, kind, packet)
    const key = `${this.id}/${kind}`
    for (const subscriber of this.room.participants.values()) {
      if (subscriber === this) continue
      const forward = subscriber.active.get(key)
      if (forward === undefined) continue
      // The sender writes its own SSRC, payload type, sequence number, timestamp and header
      // extensions; the client's extensions (ids negotiated with it, not with the subscriber) are
      // dropped. The payload is not touched.
      const copy = packet.clone()
      copy.header.extensions = []
      this.sfu.countForwarded()
      forward.transceiver.sender.sendRtp(copy).catch(() => {
        // A subscriber that went away mid-send: its own teardown follows.
      })
    }
  }

  /** Asks the publisher for a key frame (RFC 4585 §6.3.1 PLI), at most once per interval. */
  requestKeyFrame(): void {
    const now = this.sfu.now()
    if (this.closed || now - this.lastKeyFrameRequestAt < MIN_KEY_FRAME_REQUEST_INTERVAL_MS) return
    const track = this.publishedTracks.get('video')
    const transceiver = this.publishing.get('video')
    if (track?.ssrc === undefined || transceiver === undefined) return
    this.lastKeyFrameRequestAt = now
    this.sfu.countKeyFrameRequest()
    transceiver.receiver.sendRtcpPLI(track.ssrc).catch(() => {})
  }

  /** Starts forwarding `publisher`'s media on a spare m-line or a new one. */
  addForward(publisher: Participant): void {
    for (const kind of KINDS) {
      const key = `${publisher.id}/${kind}`
      if (this.active.has(key)) continue
      let forward = this.forwards.find((f) => f.publisher === null && f.transceiver.kind === kind)
      if (forward === undefined) {
        if (this.pc.getTransceivers().length >= MAX_TRANSCEIVERS)
          throw new SfuError('room-full', 'no m-line left for another participant')
        forward = new Forward(this.pc.addTransceiver(kind, { direction: 'sendonly' }), publisher.id)
        this.forwards.push(forward)
        this.watchRtcp(forward.transceiver)
      } else {
        forward.publisher = publisher.id
        forward.transceiver.setDirection('sendonly')
        // The next packet continues this m-line's sequence numbers and timestamps.
        forward.transceiver.sender.replaceRTP({ sequenceNumber: 0, timestamp: 0 })
      }
      this.active.set(key, forward)
    }
  }

  /** Stops forwarding `publisherId`'s media; its m-lines become inactive and spare. */
  removeForward(publisherId: string): void {
    for (const kind of KINDS) {
      const key = `${publisherId}/${kind}`
      const forward = this.active.get(key)
      if (forward === undefined) continue
      this.active.delete(key)
      forward.publisher = null
      forward.transceiver.setDirection('inactive')
    }
  }

  /**
   * Queues a new offer; one is outstanding at a time, changes meanwhile go in the next. After the
   * first answer the next offer also waits until the media connection is up: werift starts ICE and
   * DTLS on every applied answer, and a second start before the first one finished does not
   * settle — its DTLS start fails ("state must be new") and fails the connection, or (a full ICE
   * agent) its ICE start hangs in `checking`. A join or leave in the seconds after someone's
   * answer dropped that participant while its browser showed a working call.
   */
  negotiate(): void {
    if (this.awaitingAnswer || (this.answered && !this.connected)) {
      this.offerAgain = true
      return
    }
    this.awaitingAnswer = true
    this.negotiation = this.negotiation
      .then(() => this.sendOffer())
      .catch((error: unknown) => {
        this.sfu.drop(this, 'negotiation-failed', 'the SFU could not make an offer', error)
      })
  }

  private async sendOffer(): Promise<void> {
    if (this.closed) return
    const offer = await this.pc.createOffer()
    await this.pc.setLocalDescription(offer)
    if (this.closed) return
    let sdp = this.pc.localDescription?.sdp ?? ''
    const { address, announcedAddress } = this.sfu.options
    if (address !== undefined && announcedAddress !== undefined)
      sdp = announceAddress(sdp, address, announcedAddress)
    const tracks: ForwardedTrack[] = []
    for (const forward of this.forwards) {
      const mid = forward.transceiver.mid
      if (forward.publisher !== null && mid !== null)
        tracks.push({ mid, participant: forward.publisher, kind: forward.transceiver.kind as MediaKind })
    }
    const publish = {
      audio: this.publishing.get('audio')?.mid ?? '',
      video: this.publishing.get('video')?.mid ?? '',
    }
    this.candidates = 0
    this.answerTimer = setTimeout(
      () => this.sfu.drop(this, 'answer-timeout', 'no answer to the offer in time'),
      ANSWER_TIMEOUT_MS,
    )
    this.answerTimer.unref?.()
    this.sink.send({ type: 'offer', sdp, publish, tracks })
  }

  async applyAnswer(sdp: string): Promise<void> {
    if (!this.awaitingAnswer || this.answerTimer === null)
      throw new SfuError('bad-message', 'no offer is waiting for an answer')
    clearTimeout(this.answerTimer)
    this.answerTimer = null
    try {
      await this.pc.setRemoteDescription({ type: 'answer', sdp })
    } catch (error) {
      throw new SfuError('negotiation-failed', 'the answer was refused', { cause: error })
    }
    if (!this.answered) {
      // ICE and DTLS start with the first answer: the connection gets its time from here, not
      // from the join (the answer has a timeout of its own), so a slow answer on a loaded
      // client does not eat into it.
      this.answered = true
      this.connectTimer = setTimeout(() => {
        if (!this.connected) this.sfu.drop(this, 'connect-timeout', 'the media connection did not come up')
      }, CONNECT_TIMEOUT_MS)
      this.connectTimer.unref?.()
    }
    this.awaitingAnswer = false
    if (this.offerAgain) {
      this.offerAgain = false
      this.negotiate()
    }
  }

  async addCandidate(candidate: string, sdpMid: string | null, sdpMLineIndex: number | null): Promise<void> {
    if (++this.candidates > MAX_CANDIDATES) return
    try {
      await this.pc.addIceCandidate({ candidate, sdpMid, sdpMLineIndex })
    } catch {
      // A candidate that does not parse or fits no m-line is ignored, as browsers do.
    }
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    if (this.answerTimer !== null) clearTimeout(this.answerTimer)
    if (this.connectTimer !== null) clearTimeout(this.connectTimer)
    for (const unsubscribe of this.unsubscribers) unsubscribe()
    this.pc.close().catch(() => {})
  }
}

class Room {
  readonly participants = new Map<string, Participant>()
  constructor(readonly id: string) {}

  get(id: string): Participant | undefined {
    return this.participants.get(id)
  }

  ids(): string[] {
    return [...this.participants.keys()]
  }
}

/** A participant as the session sees it. */
export interface ParticipantHandle {
  readonly id: string
  readonly room: string
  answer(sdp: string): Promise<void>
  candidate(candidate: string, sdpMid: string | null, sdpMLineIndex: number | null): Promise<void>
  leave(): void
}

export class Sfu {
  readonly rooms = new Map<string, Room>()
  readonly now: () => number
  private forwardedPackets = 0
  private keyFrameRequests = 0
  private closed = false
  private readonly idleTimer: ReturnType<typeof setInterval>

  constructor(readonly options: SfuOptions = {}) {
    this.now = options.now ?? Date.now
    this.idleTimer = setInterval(() => this.dropIdle(), IDLE_CHECK_INTERVAL_MS)
    this.idleTimer.unref?.()
  }

  stats(): SfuStats {
    let participants = 0
    for (const room of this.rooms.values()) participants += room.participants.size
    return {
      rooms: this.rooms.size,
      participants,
      forwardedPackets: this.forwardedPackets,
      keyFrameRequests: this.keyFrameRequests,
    }
  }

  countForwarded(): void {
    this.forwardedPackets++
  }

  countKeyFrameRequest(): void {
    this.keyFrameRequests++
  }

  /** Adds a participant to a room (created on first join) and starts negotiating with everyone. */
  join(roomId: string, deviceId: string, sink: ParticipantSink): ParticipantHandle {
    if (this.closed) throw new SfuError('shutting-down', 'the SFU is shutting down')
    let room = this.rooms.get(roomId)
    if (room === undefined) {
      if (this.rooms.size >= MAX_ROOMS)
        throw new SfuError('too-many-rooms', 'the SFU has no room for a new call')
      room = new Room(roomId)
    }
    if (room.participants.size >= MAX_PARTICIPANTS)
      throw new SfuError('room-full', `a call has at most ${MAX_PARTICIPANTS} participants`)
    this.rooms.set(roomId, room)
    const participant = new Participant(room, deviceId, sink, this)
    const others = [...room.participants.values()]
    room.participants.set(participant.id, participant)
    for (const other of others) {
      participant.addForward(other)
      other.addForward(participant)
    }
    sink.send({ type: 'joined', participant: participant.id, participants: room.ids() })
    participant.negotiate()
    for (const other of others) {
      other.sink.send({ type: 'participants', participants: room.ids() })
      other.negotiate()
    }
    this.options.log?.('sfu.join', { participants: room.participants.size })
    return {
      id: participant.id,
      room: roomId,
      answer: (sdp) => participant.applyAnswer(sdp),
      candidate: (candidate, mid, index) => participant.addCandidate(candidate, mid, index),
      leave: () => this.remove(participant),
    }
  }

  /** Removes a participant: its peer connection closes, everyone else gets an offer without it. */
  private remove(participant: Participant): void {
    if (participant.closed) return
    participant.close()
    const room = participant.room
    room.participants.delete(participant.id)
    if (room.participants.size === 0) {
      this.rooms.delete(room.id)
    } else {
      for (const other of room.participants.values()) {
        other.removeForward(participant.id)
        other.sink.send({ type: 'participants', participants: room.ids() })
        other.negotiate()
      }
    }
    this.options.log?.('sfu.leave', { participants: room.participants.size })
  }

  drop(participant: Participant, code: SfuErrorCode, message: string, cause?: unknown): void {
    if (participant.closed) return
    this.options.log?.('sfu.drop', { code, ...(cause instanceof Error ? { cause: cause.name } : {}) })
    this.remove(participant)
    participant.sink.dropped(code, message)
  }

  private dropIdle(): void {
    const now = this.now()
    for (const room of [...this.rooms.values()])
      for (const participant of [...room.participants.values()])
        if (participant.connected && now - participant.lastActivityAt > MEDIA_IDLE_TIMEOUT_MS)
          this.drop(participant, 'media-idle', 'no media or RTCP from the client for too long')
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    clearInterval(this.idleTimer)
    for (const room of [...this.rooms.values()])
      for (const participant of [...room.participants.values()])
        this.drop(participant, 'shutting-down', 'the SFU is shutting down')
  }
}
