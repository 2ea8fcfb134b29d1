/**
 * Group calls in the web client (docs/protocol/sfu.md §Group calls): up to 8 members of a group
 * conversation, through the server's forwarding SFU on `/v1/sfu`.
 *
 * - Membership travels inside the conversation as call signals (MLS application messages):
 *   `group-join` to everyone when a device enters the call (members already in it answer with a
 *   `group-join` to the newcomer, so it learns who is there), `group-leave` when it goes.
 * - Media: one peer connection to the SFU, which makes the offers; we publish camera and
 *   microphone on the m-lines it names and receive everyone else's on the others. Every frame is
 *   SFrame-encrypted in the transform worker (packages/calls) under our own KID, with the base
 *   key `MLS-Exporter("SFrame 1.0 Base Key", call_id, 32)` of the conversation's current epoch;
 *   frames are accepted only from KIDs of current call members.
 * - Joining and leaving rotate the keys: on a membership change the remaining member with the
 *   lowest leaf index commits an MLS self-update; the new epoch gives everyone a new base key
 *   (the `epoch` event re-keys). The previous epoch's receive keys stay a few seconds (call-keys.ts),
 *   so the switch costs no frames.
 */

import { withAudioPacketTime } from '@tacit/calls/audio-packet-time'
import { exportCallEpochKeys, SFRAME_MLS_EXPORTER_LABEL } from '@tacit/calls/call-keys'
import {
  type CallMediaE2ee,
  type CallMediaE2eeStats,
  createCallMediaE2ee,
  ENCODED_STREAMS_PEER_CONNECTION_CONFIG,
} from '@tacit/calls/media-e2ee'
import { sframeSuite, TACIT_SFRAME_SUITE } from '@tacit/calls/sframe'
import type { CallMedia, CallPeer, CallSignal, CallSignalEvent } from '@tacit/client/calls/call-signalling'
import type { TacitClient } from '@tacit/client/client'
import { ChangeListeners, stopStream } from './call-common.ts'

export const SFU_PATH = '/v1/sfu'
/** The SFU's room limit (packages/sfu/src/limits.ts). */
export const MAX_GROUP_CALL_PARTICIPANTS = 8
/** Ongoing group calls remembered from signals (across conversations). */
export const MAX_KNOWN_GROUP_CALLS = 64
/** From "join" to the SFU's first offer answered and media connected. */
export const GROUP_CONNECT_TIMEOUT_MS = 30_000

export type GroupCallPhase = 'joining' | 'active'

export interface GroupCallTile {
  /** The SFU's opaque id of the participant whose media this is. */
  readonly participant: string
  readonly stream: MediaStream
}

export interface GroupCallState {
  readonly callId: string
  readonly conversationId: string
  readonly phase: GroupCallPhase
  readonly media: CallMedia
  /** Devices in the call, from the conversation's signals (ourselves included). */
  readonly members: readonly CallPeer[]
  readonly localStream: MediaStream | null
  readonly tiles: readonly GroupCallTile[]
  readonly muted: boolean
  readonly cameraOff: boolean
}

/** A group call somebody announced in a conversation. */
export interface KnownGroupCall {
  readonly callId: string
  readonly conversationId: string
  readonly members: ReadonlyMap<string, CallPeer>
}

/** Hooks for tests/web/calls-group.test.ts; they exist only when the test defines them. */
export interface GroupCallTestHooks {
  peerConnection?: RTCPeerConnection
  mediaStats?: () => Promise<CallMediaE2eeStats>
  /** The epochs whose keys were installed, in order. */
  epochs?: string[]
  /** The current call's id (the test computes the SFU room from it). */
  callId?: string
  /**
   * Only with `exposeKeys` set by the test: every epoch's base key and our leaf, so the test can
   * show that what the SFU forwards decrypts with them and with nothing else.
   */
  exposeKeys?: boolean
  keys?: { epoch: string; baseKey: number[]; ownLeafIndex: number }[]
  trace?: string[]
}

function groupHooks(): GroupCallTestHooks | undefined {
  return (globalThis as { __tacitGroupCallTestHooks?: GroupCallTestHooks }).__tacitGroupCallTestHooks
}

function trace(event: string): void {
  const hooks = groupHooks()
  if (!hooks) return
  hooks.trace ??= []
  if (hooks.trace.length < 1000) hooks.trace.push(event)
}

interface Live {
  state: GroupCallState
  members: Map<string, CallPeer>
  ws: WebSocket | null
  pc: RTCPeerConnection | null
  e2ee: CallMediaE2ee | null
  sendContext: number | undefined
  /** Latest SFU offer's mapping of m-lines to participants. */
  tracks: { mid: string; participant: string; kind: 'audio' | 'video' }[]
  protectedSenders: WeakSet<RTCRtpSender>
  protectedReceivers: WeakSet<RTCRtpReceiver>
  /** Offers are applied one at a time; keys likewise. */
  negotiation: Promise<void>
  keying: Promise<void>
  timer: ReturnType<typeof setTimeout> | null
  over: boolean
  /** Our participant id in the SFU room, from `joined`. */
  sfuParticipant: string | null
  /** Each other member's SFU participant id, from its `group-join`. */
  sfuIds: Map<string, string>
  /** The SFU's latest participant list, and every id it ever listed (bounded by MAX_SFU_IDS_SEEN). */
  sfuPresent: Set<string>
  sfuSeen: Set<string>
}

/** SFU participant ids remembered per call: 8 at once, so this allows much churn. */
const MAX_SFU_IDS_SEEN = 256

type Listener = () => void

const controllers = new WeakMap<TacitClient, GroupCallController>()

export function groupCallControllerFor(client: TacitClient): GroupCallController {
  let c = controllers.get(client)
  if (!c) {
    c = new GroupCallController(client)
    controllers.set(client, c)
  }
  return c
}

function callIdBytes(callId: string): Uint8Array {
  const out = new Uint8Array(callId.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(callId.slice(2 * i, 2 * i + 2), 16)
  return out
}

function base64url(bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += String.fromCharCode(b)
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** sfu.md §Group calls: room = SHA-256("tacit sfu room" ‖ call_id)[0..16], base64url. */
export async function sfuRoomFor(callId: string): Promise<string> {
  const label = new TextEncoder().encode('tacit sfu room')
  const id = callIdBytes(callId)
  const input = new Uint8Array(label.length + id.length)
  input.set(label)
  input.set(id, label.length)
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', input))
  return base64url(digest.subarray(0, 16))
}

export class GroupCallController {
  private live: Live | null = null
  private readonly known = new Map<string, { conversationId: string; members: Map<string, CallPeer> }>()
  private readonly listeners = new ChangeListeners()
  private problemText: string | null = null

  constructor(private readonly client: TacitClient) {
    client.calls.on('signal', (e) => this.onSignal(e))
    client.calls.on('epoch', (e) => {
      const live = this.live
      if (live && !live.over && live.state.conversationId === e.conversationId) void this.rekey(live)
    })
  }

  get state(): GroupCallState | null {
    return this.live?.state ?? null
  }

  get problem(): string | null {
    return this.problemText
  }

  dismissProblem(): void {
    this.problemText = null
    this.changed()
  }

  /** The group call going on in a conversation that we are not in, if one was announced. */
  ongoing(conversationId: string): KnownGroupCall | null {
    for (const [callId, k] of this.known) {
      if (k.conversationId === conversationId && k.members.size > 0 && this.live?.state.callId !== callId)
        return { callId, conversationId, members: k.members }
    }
    return null
  }

  subscribe(fn: Listener): () => void {
    return this.listeners.add(fn)
  }

  private changed(): void {
    this.listeners.notify()
  }

  private update(live: Live, patch: Partial<GroupCallState>): void {
    if (this.live !== live) return
    live.state = { ...live.state, ...patch }
    this.changed()
  }

  // ------------------------------------------------------------------------------------------
  // What the user does

  /** Starts a new group call in a conversation. */
  start(conversationId: string, media: CallMedia): Promise<void> {
    return this.join(conversationId, this.client.calls.newCallId(), media)
  }

  /** Joins a call (announced or new): SFU first, then the announcement to the conversation. */
  async join(conversationId: string, callId: string, media: CallMedia): Promise<void> {
    if (this.live) throw new Error('already in a group call')
    const self = this.client.calls.self
    const members = new Map<string, CallPeer>(this.known.get(callId)?.members ?? [])
    if (members.size >= MAX_GROUP_CALL_PARTICIPANTS) throw new Error('the call is full')
    members.set(self.memberId, self)
    const live: Live = {
      state: {
        callId,
        conversationId,
        phase: 'joining',
        media,
        members: [...members.values()],
        localStream: null,
        tiles: [],
        muted: false,
        cameraOff: false,
      },
      members,
      ws: null,
      pc: null,
      e2ee: null,
      sendContext: undefined,
      tracks: [],
      protectedSenders: new WeakSet(),
      protectedReceivers: new WeakSet(),
      negotiation: Promise.resolve(),
      keying: Promise.resolve(),
      timer: null,
      over: false,
      sfuParticipant: null,
      sfuIds: new Map(),
      sfuPresent: new Set(),
      sfuSeen: new Set(),
    }
    this.live = live
    this.problemText = null
    this.changed()
    try {
      const stream = await navigator.mediaDevices.getUserMedia(media)
      if (live.over) return stopStream(stream)
      this.update(live, { localStream: stream })
      const e2ee = createCallMediaE2ee()
      live.e2ee = e2ee
      const hooks = groupHooks()
      if (hooks) hooks.mediaStats = () => e2ee.stats()
      await this.rekey(live)
      const turn = await this.client.calls.turnCredentials().catch(() => ({ iceServers: [], expiresAt: 0 }))
      if (live.over) return
      const pc = new RTCPeerConnection({
        bundlePolicy: 'max-bundle',
        iceServers: turn.iceServers.map((s) => ({
          urls: [...s.urls],
          ...(s.username !== undefined ? { username: s.username } : {}),
          ...(s.credential !== undefined ? { credential: s.credential } : {}),
        })),
        ...(e2ee.mode === 'encoded-streams' ? ENCODED_STREAMS_PEER_CONNECTION_CONFIG : {}),
      } as RTCConfiguration)
      live.pc = pc
      if (hooks) hooks.peerConnection = pc
      // Our tracks go in with addTrack before the SFU's first offer, so its publishing m-lines take
      // over these transceivers (JSEP §5.10) and the transforms are there from the start: in
      // Chromium a transform set on a sender that setRemoteDescription created sees no frames.
      for (const track of stream.getTracks()) {
        const kind = track.kind as 'audio' | 'video'
        const sender = pc.addTrack(track, stream)
        e2ee.protectSender(sender, kind)
        live.protectedSenders.add(sender)
      }
      pc.onicecandidate = (e) => {
        if (e.candidate && e.candidate.candidate !== '')
          this.sfuSend(live, {
            type: 'candidate',
            candidate: e.candidate.candidate,
            sdpMid: e.candidate.sdpMid,
            sdpMLineIndex: e.candidate.sdpMLineIndex,
          })
      }
      pc.ontrack = () => this.refreshTiles(live)
      pc.onconnectionstatechange = () => {
        if (live.over) return
        if (pc.connectionState === 'connected' && live.state.phase !== 'active') {
          if (live.timer !== null) clearTimeout(live.timer)
          live.timer = null
          trace('connected')
          this.update(live, { phase: 'active' })
        }
        if (pc.connectionState === 'failed') this.finish(live, 'The group call lost its connection')
      }
      live.timer = setTimeout(
        () => this.finish(live, 'The group call could not connect'),
        GROUP_CONNECT_TIMEOUT_MS,
      )
      await this.connectSfu(live, await sfuRoomFor(callId))
    } catch (error) {
      this.finish(live, `Could not join the group call: ${messageOf(error)}`)
      throw error
    }
  }

  leave(): void {
    const live = this.live
    if (!live || live.over) return
    void this.signal(live, { kind: 'group-leave', callId: live.state.callId, to: null }).catch(
      () => undefined,
    )
    this.finish(live, null)
  }

  toggleMute(): void {
    const live = this.live
    if (!live) return
    const muted = !live.state.muted
    for (const t of live.state.localStream?.getAudioTracks() ?? []) t.enabled = !muted
    this.update(live, { muted })
  }

  toggleCamera(): void {
    const live = this.live
    if (!live) return
    const cameraOff = !live.state.cameraOff
    for (const t of live.state.localStream?.getVideoTracks() ?? []) t.enabled = !cameraOff
    this.update(live, { cameraOff })
  }

  // ------------------------------------------------------------------------------------------
  // The SFU session

  private connectSfu(live: Live, room: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const url = new URL(SFU_PATH, location.href)
      url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
      const ws = new WebSocket(url.href)
      live.ws = ws
      let joined = false
      ws.onmessage = (event) => {
        if (live.over || typeof event.data !== 'string') return
        let message: { type?: string; [key: string]: unknown }
        try {
          message = JSON.parse(event.data) as typeof message
        } catch {
          return
        }
        switch (message.type) {
          case 'ready':
            void this.sessionToken()
              .then((token) => {
                this.sfuSend(live, { type: 'auth', token })
                this.sfuSend(live, { type: 'join', room })
              })
              .catch(reject)
            return
          case 'joined':
            joined = true
            trace('sfu joined')
            live.sfuParticipant = typeof message.participant === 'string' ? message.participant : null
            this.sfuParticipants(live, message.participants)
            resolve()
            // Announce ourselves only once the SFU took us (a full room refuses before this).
            void this.announce(live, null).catch(() => undefined)
            return
          case 'participants':
            this.sfuParticipants(live, message.participants)
            return
          case 'offer':
            live.negotiation = live.negotiation
              .then(() => this.applyOffer(live, message as unknown as SfuOffer))
              .catch(() => this.finish(live, 'The group call could not be negotiated'))
            return
          case 'error': {
            const code = typeof message.code === 'string' ? message.code : 'error'
            const text = code === 'room-full' ? 'The group call is full' : `The group call ended (${code})`
            if (!joined) reject(new Error(text))
            this.finish(live, text)
            return
          }
        }
      }
      ws.onclose = () => {
        if (!joined) reject(new Error('the SFU closed the connection'))
        if (!live.over) this.finish(live, 'The group call lost its connection')
      }
    })
  }

  /** A device session token for the SFU's `auth` (the same bearer session as the HTTP API). */
  private sessionToken(): Promise<string> {
    // HttpApi keeps its session helper private; bracket access keeps this change out of it.
    // biome-ignore lint/complexity/useLiteralKeys: TypeScript allows private access only this way
    const api = this.client['api'] as unknown as {
      withSession<T>(call: (token: string) => Promise<T>): Promise<T>
    }
    // biome-ignore lint/complexity/useLiteralKeys: as above
    return api['withSession']((token: string) => Promise.resolve(token))
  }

  /** `group-join` with our SFU participant id, to everyone (`to` null) or to one newcomer. */
  private announce(live: Live, to: string | null): Promise<void> {
    if (live.sfuParticipant === null) return Promise.resolve()
    return this.signal(live, {
      kind: 'group-join',
      callId: live.state.callId,
      to,
      media: live.state.media,
      sfuParticipant: live.sfuParticipant,
    })
  }

  /**
   * The SFU's participant list changed. A member whose SFU participant has gone from it was
   * dropped by the SFU (its socket closed, its media connection failed or went silent: a crash
   * or a lost network) without a `group-leave`; it leaves our call as if it had sent one, so its
   * frames stop being accepted and the keys rotate.
   */
  private sfuParticipants(live: Live, list: unknown): void {
    if (!Array.isArray(list) || live.over) return
    live.sfuPresent = new Set(list.filter((x): x is string => typeof x === 'string'))
    for (const id of live.sfuPresent) {
      if (live.sfuSeen.size >= MAX_SFU_IDS_SEEN) break
      live.sfuSeen.add(id)
    }
    let changed = false
    for (const [memberId, id] of live.sfuIds) {
      if (live.sfuPresent.has(id)) continue
      live.sfuIds.delete(memberId)
      this.known.get(live.state.callId)?.members.delete(memberId)
      if (live.members.delete(memberId)) changed = true
    }
    if (changed) {
      trace('sfu dropped a member')
      this.membershipChanged(live)
      this.changed()
    }
  }

  private sfuSend(live: Live, message: Record<string, unknown>): void {
    if (live.ws?.readyState === WebSocket.OPEN) live.ws.send(JSON.stringify(message))
  }

  private async applyOffer(live: Live, offer: SfuOffer): Promise<void> {
    const pc = live.pc
    const e2ee = live.e2ee
    if (!pc || !e2ee || live.over) return
    // The SFU forwards what we send as it is: our audio packet time is ours to set (decision 0015).
    await pc.setRemoteDescription({ type: 'offer', sdp: withAudioPacketTime(offer.sdp) })
    for (const t of pc.getTransceivers()) {
      const kind = t.receiver.track.kind as 'audio' | 'video'
      if (t.mid !== null && t.mid === offer.publish[kind]) {
        t.direction = 'sendonly'
        if (!live.protectedSenders.has(t.sender)) {
          e2ee.protectSender(t.sender, kind)
          live.protectedSenders.add(t.sender)
        }
        const track = live.state.localStream?.getTracks().find((x) => x.kind === kind) ?? null
        if (t.sender.track !== track) await t.sender.replaceTrack(track)
      } else if (!live.protectedReceivers.has(t.receiver)) {
        // Before the answer, so no frame of this m-line reaches the decoder unprotected.
        e2ee.protectReceiver(t.receiver, kind)
        live.protectedReceivers.add(t.receiver)
      }
    }
    await pc.setLocalDescription(await pc.createAnswer())
    if (live.over) return
    this.sfuSend(live, { type: 'answer', sdp: pc.localDescription?.sdp ?? '' })
    live.tracks = offer.tracks
    this.refreshTiles(live)
    trace(`offer applied tracks=${offer.tracks.length}`)
  }

  /** One tile per other participant, from the latest offer's m-line mapping. */
  private refreshTiles(live: Live): void {
    const pc = live.pc
    if (!pc || live.over) return
    const byParticipant = new Map<string, MediaStreamTrack[]>()
    for (const t of live.tracks) {
      const transceiver = pc.getTransceivers().find((x) => x.mid === t.mid)
      if (!transceiver) continue
      const list = byParticipant.get(t.participant) ?? []
      list.push(transceiver.receiver.track)
      byParticipant.set(t.participant, list)
    }
    const old = new Map(live.state.tiles.map((t) => [t.participant, t]))
    const tiles: GroupCallTile[] = []
    for (const [participant, tracks] of byParticipant) {
      const existing = old.get(participant)
      const same =
        existing !== undefined &&
        existing.stream.getTracks().length === tracks.length &&
        tracks.every((x) => existing.stream.getTracks().includes(x))
      tiles.push(same ? existing : { participant, stream: new MediaStream(tracks) })
    }
    this.update(live, { tiles })
  }

  // ------------------------------------------------------------------------------------------
  // Membership and keys

  private onSignal(e: CallSignalEvent): void {
    const s = e.signal
    if (s.kind !== 'group-join' && s.kind !== 'group-leave') return
    const self = this.client.calls.self
    if (e.from.memberId === self.memberId) return
    if (s.to !== null && s.to !== self.memberId) return
    let known = this.known.get(s.callId)
    if (known && known.conversationId !== e.conversationId) return
    const live = this.live && !this.live.over && this.live.state.callId === s.callId ? this.live : null
    if (s.kind === 'group-join') {
      if (e.stale && !live) return
      if (!known) {
        if (this.known.size >= MAX_KNOWN_GROUP_CALLS) {
          const oldest = this.known.keys().next().value
          if (oldest !== undefined) this.known.delete(oldest)
        }
        known = { conversationId: e.conversationId, members: new Map() }
        this.known.set(s.callId, known)
      }
      known.members.set(e.from.memberId, e.from)
      if (live && live.state.conversationId === e.conversationId) {
        // A newcomer's announcement to everyone: tell it that we are here.
        if (s.to === null) void this.announce(live, e.from.memberId).catch(() => undefined)
        // Its SFU participant came and went already (listed once, not now): it is not in the call.
        if (live.sfuSeen.has(s.sfuParticipant) && !live.sfuPresent.has(s.sfuParticipant)) {
          known.members.delete(e.from.memberId)
          this.changed()
          return
        }
        live.sfuIds.set(e.from.memberId, s.sfuParticipant)
        if (!live.members.has(e.from.memberId) && live.members.size < MAX_GROUP_CALL_PARTICIPANTS) {
          live.members.set(e.from.memberId, e.from)
          this.membershipChanged(live)
        }
      }
    } else {
      known?.members.delete(e.from.memberId)
      if (known && known.members.size === 0) this.known.delete(s.callId)
      live?.sfuIds.delete(e.from.memberId)
      if (live?.members.delete(e.from.memberId)) this.membershipChanged(live)
    }
    this.changed()
  }

  /** New members' frames are accepted at once; then the lowest leaf commits a new epoch. */
  private membershipChanged(live: Live): void {
    this.update(live, { members: [...live.members.values()] })
    trace(`members ${live.members.size}`)
    void this.rekey(live)
      .then(async () => {
        if (live.over) return
        const material = await this.client.calls.keyMaterial(
          live.state.conversationId,
          SFRAME_MLS_EXPORTER_LABEL,
          callIdBytes(live.state.callId),
          sframeSuite(TACIT_SFRAME_SUITE).nk,
        )
        const leaves = material.members
          .filter((m) => live.members.has(m.memberId))
          .map((m) => m.leafIndex)
          .sort((a, b) => a - b)
        if (leaves[0] !== material.ownLeafIndex) return
        trace('rotating')
        // RFC 9420 §12.4: a self-update gives the group a new epoch and so the call new keys.
        await this.client.updateOwnLeaf(live.state.conversationId)
      })
      .catch(() => undefined)
  }

  /** Installs the conversation's current epoch keys, accepting the call members' KIDs. */
  private rekey(live: Live): Promise<void> {
    live.keying = live.keying.then(async () => {
      const e2ee = live.e2ee
      if (!e2ee || live.over) return
      const nk = sframeSuite(TACIT_SFRAME_SUITE).nk
      const context = callIdBytes(live.state.callId)
      const self = this.client.calls.self
      const material = await this.client.calls.keyMaterial(
        live.state.conversationId,
        SFRAME_MLS_EXPORTER_LABEL,
        context,
        nk,
      )
      const others = material.members
        .filter((m) => m.memberId !== self.memberId && live.members.has(m.memberId))
        .map((m) => m.leafIndex)
      const keys = await exportCallEpochKeys({
        exporter: async (label, ctx, length) => {
          if (label !== SFRAME_MLS_EXPORTER_LABEL || length !== nk || ctx.length !== context.length)
            throw new Error('unexpected exporter request')
          return material.secret
        },
        callId: context,
        epoch: material.epoch,
        ownLeafIndex: material.ownLeafIndex,
        memberLeafIndices: others,
        ...(live.sendContext !== undefined ? { sendContext: live.sendContext } : {}),
      })
      live.sendContext = keys.sendContext
      if (live.over) return
      await e2ee.setKeys(keys)
      const hooks = groupHooks()
      if (hooks) {
        hooks.epochs ??= []
        hooks.epochs.push(String(material.epoch))
        hooks.callId = live.state.callId
        if (hooks.exposeKeys === true) {
          hooks.keys ??= []
          hooks.keys.push({
            epoch: String(material.epoch),
            baseKey: [...keys.baseKey],
            ownLeafIndex: material.ownLeafIndex,
          })
        }
      }
      trace(`keys epoch ${material.epoch} members ${others.length}`)
    })
    live.keying = live.keying.catch(() => undefined)
    return live.keying
  }

  private signal(live: Live, signal: CallSignal): Promise<void> {
    return this.client.calls.send(live.state.conversationId, signal)
  }

  // ------------------------------------------------------------------------------------------
  // Ending

  private finish(live: Live, problem: string | null): void {
    if (live.over) return
    live.over = true
    if (live.timer !== null) clearTimeout(live.timer)
    if (live.ws && live.ws.readyState === WebSocket.OPEN) {
      live.ws.send(JSON.stringify({ type: 'leave' }))
      live.ws.close(1000, 'left')
    }
    live.pc?.close()
    live.e2ee?.close()
    stopStream(live.state.localStream)
    if (this.live === live) this.live = null
    if (problem !== null) this.problemText = problem
    trace(problem === null ? 'left' : `ended: ${problem}`)
    this.changed()
  }
}

interface SfuOffer {
  readonly sdp: string
  readonly publish: { readonly audio: string; readonly video: string }
  readonly tracks: { mid: string; participant: string; kind: 'audio' | 'video' }[]
}

function messageOf(error: unknown): string {
  return error instanceof Error && error.message !== '' ? error.message : 'unknown error'
}
