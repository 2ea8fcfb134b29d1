/**
 * The web client's calls: one `CallController` per signed-in client. It turns call signals
 * (`client.calls`, MLS application messages of the conversation) into a call's life:
 *
 *   caller                                  callee (every device of the other user rings)
 *   invite (to everyone) ───────────────▶   ringing, at most RING_MS
 *                        ◀───────────────   accept (to the caller's device); its other devices stop
 *   offer (SDP + signed DTLS fingerprint) ▶
 *                        ◀───────────────   answer (SDP + signed DTLS fingerprint)
 *   candidates both ways; connected → each side checks the peer's actual DTLS certificate against
 *   the fingerprint in its signed signal, and refuses the call if they differ
 *   end (hangup | decline | busy | unanswered | fingerprint-mismatch | failed) either way
 *
 * Media is SFrame-encrypted on every frame with keys from the MLS exporter of the conversation's
 * current epoch (RFC 9605 §5.2), re-keyed whenever the epoch changes. One call at a time: an
 * invite during a call is answered `busy`. Unanswered, declined and refused calls leave a notice
 * in the conversation, kept in its call log in the device's encrypted store (`client.calls.record`)
 * so that a reload shows it again.
 */
import type {
  CallLogEntry,
  CallLogKind,
  CallMedia,
  CallPeer,
  CallSignal,
  CallSignalEvent,
  DtlsFingerprint,
  EndReason,
} from '@tacit/client/calls/call-signalling'
import type { TacitClient } from '@tacit/client/client'
import { ChangeListeners, stopStream } from './call-common.ts'
import { type CallMediaProtection, createMediaProtection } from './media-protection.ts'
import { PeerSession } from './peer-session.ts'
import { callTestHooks, traceCall } from './test-hooks.ts'

/** How long a call rings before the caller gives up (and the callee shows it as missed). */
export const RING_MS = 45_000
/** The callee's own guard, in case the caller's "unanswered" never arrives. */
const CALLEE_RING_GUARD_MS = 10_000
/** From accept to a verified connection. */
export const CONNECT_TIMEOUT_MS = 30_000
/** Remote candidates kept until our connection exists. */
const MAX_EARLY_CANDIDATES = 64
/**
 * Notices held in memory (newest win): the call logs of the conversations opened this session,
 * each at most MAX_CALL_LOG_ENTRIES as the SDK keeps them.
 */
export const MAX_CALL_NOTICES = 2_000

export type CallPhase = 'outgoing' | 'incoming' | 'connecting' | 'active'

export interface CallState {
  readonly callId: string
  readonly conversationId: string
  /** The other user (a 1:1 conversation's peer). */
  readonly peerHandle: string
  readonly direction: 'outgoing' | 'incoming'
  readonly media: CallMedia
  readonly phase: CallPhase
  readonly muted: boolean
  readonly cameraOff: boolean
  readonly localStream: MediaStream | null
  /** Set once the peer's DTLS certificate matched its signed fingerprint. */
  readonly remoteStream: MediaStream | null
  readonly startedAt: number
}

export type CallNoticeKind = CallLogKind

/** One entry of a conversation's call log (the SDK keeps it in the device's encrypted store). */
export interface CallNotice {
  readonly key: string
  readonly conversationId: string
  readonly kind: CallNoticeKind
  readonly text: string
  readonly at: number
}

interface Live {
  state: CallState
  /** The device on the other end once it accepted (or the caller's device, for the callee). */
  remote: CallPeer | null
  remoteFingerprint: DtlsFingerprint | null
  session: PeerSession | null
  protection: CallMediaProtection | null
  timer: ReturnType<typeof setTimeout> | null
  remoteStream: MediaStream
  /** Candidates that came before our connection existed. */
  earlyCandidates: RTCIceCandidateInit[]
  /** Our own end was sent or received: nothing more is done for this call. */
  over: boolean
}

type Listener = () => void

const controllers = new WeakMap<TacitClient, CallController>()

/** The controller of this client (made on first use; lives as long as the client). */
export function callControllerFor(client: TacitClient): CallController {
  let c = controllers.get(client)
  if (!c) {
    c = new CallController(client)
    controllers.set(client, c)
  }
  return c
}

/** A call log entry as a notice: its id is the key. */
function noticeOf(e: CallLogEntry): CallNotice {
  return { key: e.id, conversationId: e.conversationId, kind: e.kind, text: e.text, at: e.at }
}

export class CallController {
  private live: Live | null = null
  private noticeList: CallNotice[] = []
  private nextNoticeKey = 1
  /** Conversations whose stored call log was read (or is being read) into `noticeList`. */
  private readonly loadedLogs = new Set<string>()
  private readonly listeners = new ChangeListeners()
  /** Text of the last call that ended badly, until dismissed (e.g. a refused fingerprint). */
  private problem: string | null = null

  constructor(private readonly client: TacitClient) {
    client.calls.on('signal', (e) => void this.onSignal(e).catch(() => undefined))
    client.calls.on('epoch', (e) => {
      const live = this.live
      if (live && !live.over && live.state.conversationId === e.conversationId) void this.rekey(live)
    })
  }

  // ------------------------------------------------------------------------------------------
  // What the screens read

  get state(): CallState | null {
    return this.live?.state ?? null
  }

  get lastProblem(): string | null {
    return this.problem
  }

  /** The conversation's call log; the first call reads it from the store and notifies when it has. */
  notices(conversationId: string): CallNotice[] {
    if (!this.loadedLogs.has(conversationId)) this.loadLog(conversationId)
    return this.noticeList.filter((n) => n.conversationId === conversationId)
  }

  subscribe(fn: Listener): () => void {
    return this.listeners.add(fn)
  }

  dismissProblem(): void {
    this.problem = null
    this.changed()
  }

  private changed(): void {
    this.listeners.notify()
  }

  private update(live: Live, patch: Partial<CallState>): void {
    if (this.live !== live) return
    live.state = { ...live.state, ...patch }
    this.changed()
  }

  /** Records the notice in the conversation's call log, so that it is still there after a reload. */
  private notice(conversationId: string, kind: CallNoticeKind, text: string): void {
    const at = Date.now()
    this.client.calls.record(conversationId, kind, text).then(
      (entry) => this.addNotices([noticeOf(entry)]),
      // Not stored (the store refused, or the conversation is gone): shown for this session only.
      () => this.addNotices([{ key: `session-${this.nextNoticeKey++}`, conversationId, kind, text, at }]),
    )
  }

  private loadLog(conversationId: string): void {
    this.loadedLogs.add(conversationId)
    this.client.calls.log(conversationId).then(
      (entries) => this.addNotices(entries.map(noticeOf)),
      () => {
        // Nothing to show from the store; this session's notices still appear.
      },
    )
  }

  /** Adds notices, once each (by key), in time order. */
  private addNotices(notices: readonly CallNotice[]): void {
    const known = new Set(this.noticeList.map((n) => n.key))
    const fresh: CallNotice[] = []
    for (const n of notices) {
      if (known.has(n.key)) continue
      known.add(n.key)
      fresh.push(n)
    }
    if (fresh.length === 0) return
    this.noticeList = [...this.noticeList, ...fresh].sort((a, b) => a.at - b.at).slice(-MAX_CALL_NOTICES)
    this.changed()
  }

  // ------------------------------------------------------------------------------------------
  // What the user does

  async start(conversationId: string, peerHandle: string, media: CallMedia): Promise<void> {
    if (this.live) throw new Error('already in a call')
    const callId = this.client.calls.newCallId()
    const live = this.newLive({
      callId,
      conversationId,
      peerHandle,
      direction: 'outgoing',
      media,
      phase: 'outgoing',
    })
    this.live = live
    this.changed()
    try {
      const stream = await navigator.mediaDevices.getUserMedia(media)
      if (live.over) {
        stopStream(stream)
        return
      }
      this.update(live, { localStream: stream })
      // Before the invite goes: an accept may come back before `send` returns, and it replaces
      // this timer with the connect timeout.
      live.timer = setTimeout(() => {
        if (live.state.phase !== 'outgoing') return
        void this.send(live, { kind: 'end', callId, to: null, reason: 'unanswered' }).catch(() => undefined)
        this.finish(live, 'no-answer', `${peerHandle} did not answer`)
      }, callTestHooks()?.ringMs ?? RING_MS)
      await this.send(live, { kind: 'invite', callId, to: null, media })
    } catch (error) {
      this.finish(live, 'failed', `Could not start the call: ${messageOf(error)}`)
      throw error
    }
  }

  async accept(): Promise<void> {
    const live = this.live
    if (!live || live.state.phase !== 'incoming' || !live.remote) return
    clearTimer(live)
    this.update(live, { phase: 'connecting' })
    try {
      const stream = await navigator.mediaDevices.getUserMedia(live.state.media)
      if (live.over) {
        stopStream(stream)
        return
      }
      this.update(live, { localStream: stream })
      live.timer = setTimeout(() => this.fail(live), CONNECT_TIMEOUT_MS)
      await this.send(live, {
        kind: 'accept',
        callId: live.state.callId,
        to: live.remote.memberId,
        media: live.state.media,
      })
    } catch (error) {
      this.hangupWith(live, 'failed', 'failed', `The call failed: ${messageOf(error)}`)
    }
  }

  decline(): void {
    const live = this.live
    if (!live || live.state.phase !== 'incoming') return
    this.hangupWith(live, 'decline', 'declined', `You declined a call from ${live.state.peerHandle}`)
  }

  hangup(): void {
    const live = this.live
    if (!live) return
    if (live.state.phase === 'outgoing') {
      this.hangupWith(live, 'hangup', 'no-answer', `Call to ${live.state.peerHandle} cancelled`)
      return
    }
    if (live.state.phase === 'incoming') {
      this.decline()
      return
    }
    this.hangupWith(live, 'hangup', 'ended', `Call with ${live.state.peerHandle} ended`)
  }

  toggleMute(): void {
    const live = this.live
    if (!live) return
    const muted = !live.state.muted
    for (const t of live.state.localStream?.getAudioTracks() ?? []) t.enabled = !muted
    this.update(live, { muted })
  }

  /** Camera off stops sending video frames at all (not black ones); on sends the camera again. */
  async toggleCamera(): Promise<void> {
    const live = this.live
    if (!live) return
    const cameraOff = !live.state.cameraOff
    const track = live.state.localStream?.getVideoTracks()[0] ?? null
    if (track) track.enabled = !cameraOff
    this.update(live, { cameraOff })
    const sender = live.session?.sender('video')
    if (sender) await sender.replaceTrack(cameraOff ? null : track).catch(() => undefined)
  }

  // ------------------------------------------------------------------------------------------
  // Signals

  private async onSignal(e: CallSignalEvent): Promise<void> {
    const s = e.signal
    const self = this.client.calls.self
    const live = this.live && !this.live.over && this.live.state.callId === s.callId ? this.live : null
    if (e.from.handle === self.handle) {
      // Another device of ours: it took or declined the call that rings here.
      if (live && live.state.phase === 'incoming' && (s.kind === 'accept' || s.kind === 'end')) {
        this.finish(
          live,
          'ended',
          s.kind === 'accept' ? 'Answered on another device' : 'Declined on another device',
        )
      }
      return
    }
    if (s.to !== null && s.to !== self.memberId) return
    switch (s.kind) {
      case 'invite':
        return this.onInvite(e, s.media)
      case 'accept':
        if (live && live.state.phase === 'outgoing') await this.connectAsOfferer(live, e.from)
        else if (live && live.state.direction === 'outgoing' && !sameDevice(live.remote, e.from)) {
          // A second device of the callee answered too late: tell it, so it stops waiting.
          await this.send(live, {
            kind: 'end',
            callId: s.callId,
            to: e.from.memberId,
            reason: 'answered-elsewhere',
          })
        }
        return
      case 'offer':
        // Only after we accepted, and only from the device that called.
        if (
          live &&
          live.state.phase === 'connecting' &&
          live.state.direction === 'incoming' &&
          sameDevice(live.remote, e.from)
        ) {
          live.remoteFingerprint = s.fingerprint
          await this.connectAsAnswerer(live, s.sdp)
        }
        return
      case 'answer':
        if (live?.session && live.state.direction === 'outgoing' && sameDevice(live.remote, e.from)) {
          live.remoteFingerprint = s.fingerprint
          await live.session.acceptAnswer(s.sdp).catch(() => this.fail(live))
        }
        return
      case 'candidate':
        if (live && sameDevice(live.remote, e.from)) await this.onCandidate(live, s)
        return
      case 'end':
        if (live) this.onEnd(live, e.from, s.reason)
        return
    }
  }

  private onInvite(e: CallSignalEvent, media: CallMedia): void {
    const { signal: s, from } = e
    if (e.stale) {
      this.notice(e.conversationId, 'missed', `Missed call from ${from.handle}`)
      return
    }
    if (this.live) {
      if (this.live.state.callId === s.callId) return
      // One call at a time: the caller hears "busy"; we see that they tried.
      void this.client.calls
        .send(e.conversationId, { kind: 'end', callId: s.callId, to: from.memberId, reason: 'busy' })
        .catch(() => undefined)
      this.notice(e.conversationId, 'missed', `Missed call from ${from.handle} (you were in a call)`)
      return
    }
    const live = this.newLive({
      callId: s.callId,
      conversationId: e.conversationId,
      peerHandle: from.handle,
      direction: 'incoming',
      media,
      phase: 'incoming',
    })
    live.remote = from
    this.live = live
    live.timer = setTimeout(
      () => {
        if (live.state.phase === 'incoming') this.finish(live, 'missed', `Missed call from ${from.handle}`)
      },
      (callTestHooks()?.ringMs ?? RING_MS) + CALLEE_RING_GUARD_MS,
    )
    this.changed()
  }

  private onEnd(live: Live, from: CallPeer, reason: EndReason): void {
    const { phase, peerHandle } = live.state
    // While ringing out, any of the callee's devices may decline or be busy; later only the
    // device we are connected to can end the call.
    if (phase !== 'outgoing' && !sameDevice(live.remote, from)) return
    if (phase === 'incoming') {
      this.finish(live, 'missed', `Missed call from ${peerHandle}`)
      return
    }
    switch (reason) {
      case 'decline':
        this.finish(live, 'declined', `${peerHandle} declined the call`)
        break
      case 'busy':
        this.finish(live, 'busy', `${peerHandle} is busy`)
        break
      case 'fingerprint-mismatch':
        this.finish(live, 'refused', 'Call refused: fingerprint mismatch', true)
        break
      case 'failed':
        this.finish(live, 'failed', `The call with ${peerHandle} failed`, true)
        break
      case 'answered-elsewhere':
        this.finish(live, 'ended', 'Answered on another device')
        break
      default:
        this.finish(live, 'ended', `Call with ${peerHandle} ended`)
    }
  }

  private async onCandidate(live: Live, s: Extract<CallSignal, { kind: 'candidate' }>): Promise<void> {
    if (s.candidate === '') return
    const candidate = {
      candidate: s.candidate,
      sdpMid: s.sdpMid,
      sdpMLineIndex: s.sdpMLineIndex,
      usernameFragment: s.usernameFragment,
    }
    // The callee's connection is made while the caller's first candidates are on their way: keep
    // them for it (a relay-only peer is unreachable without its relay candidate).
    if (!live.session) {
      if (live.earlyCandidates.length < MAX_EARLY_CANDIDATES) live.earlyCandidates.push(candidate)
      return
    }
    await live.session.addRemoteCandidate(candidate)
  }

  // ------------------------------------------------------------------------------------------
  // Connecting

  private async connectAsOfferer(live: Live, remote: CallPeer): Promise<void> {
    clearTimer(live)
    live.remote = remote
    this.update(live, { phase: 'connecting' })
    live.timer = setTimeout(() => this.fail(live), CONNECT_TIMEOUT_MS)
    try {
      const session = await this.newSession(live, 'offerer')
      if (!session) return
      const sdp = await session.createOffer()
      await this.send(live, {
        kind: 'offer',
        callId: live.state.callId,
        to: remote.memberId,
        sdp,
        fingerprint: this.signedFingerprint(session),
      })
    } catch {
      this.fail(live)
    }
  }

  private async connectAsAnswerer(live: Live, offerSdp: string): Promise<void> {
    if (live.session || !live.remote) return
    try {
      const session = await this.newSession(live, 'answerer')
      if (!session) return
      const sdp = await session.answer(offerSdp)
      await this.send(live, {
        kind: 'answer',
        callId: live.state.callId,
        to: live.remote.memberId,
        sdp,
        fingerprint: this.signedFingerprint(session),
      })
    } catch {
      this.fail(live)
    }
  }

  /** Our certificate's fingerprint for the signed signal (a test hook may lie about it). */
  private signedFingerprint(session: PeerSession): DtlsFingerprint {
    const f = session.localFingerprint
    if (!callTestHooks()?.tamperFingerprint) return f
    const value = f.value.slice()
    value[value.length - 1]! ^= 0x01
    return { algorithm: f.algorithm, value }
  }

  private async newSession(live: Live, role: 'offerer' | 'answerer'): Promise<PeerSession | null> {
    const remote = live.remote
    const localStream = live.state.localStream
    if (!remote || !localStream) return null
    const turn = await this.client.calls.turnCredentials().catch((error: unknown) => {
      // Peer to peer still works without TURN; the tests see why there was none.
      traceCall(`ice servers error ${error instanceof Error ? error.message.split(':')[0] : 'unknown'}`)
      return { iceServers: [], expiresAt: 0 }
    })
    traceCall(`ice servers ${turn.iceServers.length}`)
    const protection = await createMediaProtection()
    live.protection = protection
    await this.rekey(live)
    if (live.over) {
      protection.close()
      return null
    }
    const session = await PeerSession.create({
      role,
      iceServers: turn.iceServers.map((s) => ({
        urls: [...s.urls],
        username: s.username,
        credential: s.credential,
      })),
      relayOnly: callTestHooks()?.relayOnly === true,
      localStream,
      protection,
      encodedStreams: protection.mode === 'encoded-streams',
      onCandidate: (c) => {
        if (live.over) return
        void this.send(live, {
          kind: 'candidate',
          callId: live.state.callId,
          to: remote.memberId,
          candidate: c?.candidate ?? '',
          sdpMid: c?.sdpMid ?? null,
          sdpMLineIndex: c?.sdpMLineIndex ?? null,
          usernameFragment: c?.usernameFragment ?? null,
        }).catch(() => undefined)
      },
      onRemoteTrack: (track) => {
        if (!live.remoteStream.getTracks().includes(track)) live.remoteStream.addTrack(track)
      },
      onConnectionState: (state) => void this.onConnectionState(live, state),
    })
    if (live.over) {
      session.close()
      return null
    }
    live.session = session
    for (const c of live.earlyCandidates.splice(0)) await session.addRemoteCandidate(c)
    const hooks = callTestHooks()
    if (hooks) {
      hooks.peerConnection = session.pc
      hooks.updateOwnLeaf = () => this.client.updateOwnLeaf(live.state.conversationId)
    }
    return session
  }

  private async onConnectionState(live: Live, state: RTCPeerConnectionState): Promise<void> {
    if (live.over) return
    if (state === 'failed') return this.fail(live)
    if (state !== 'connected' || live.state.phase === 'active' || !live.session) return
    traceCall('connected')
    const signed = live.remoteFingerprint
    const ok = signed !== null && (await live.session.verifyRemoteFingerprint(signed))
    if (live.over) return
    traceCall(ok ? 'verified' : 'refused')
    if (!ok) {
      this.hangupWith(live, 'fingerprint-mismatch', 'refused', 'Call refused: fingerprint mismatch', true)
      return
    }
    clearTimer(live)
    // Only a verified peer's media reaches the screen.
    this.update(live, { phase: 'active', remoteStream: live.remoteStream, startedAt: Date.now() })
  }

  /** Keys of the conversation's current epoch for this call (again on every epoch change). */
  private async rekey(live: Live): Promise<void> {
    const { protection, remote } = live
    if (!protection || !remote) return
    try {
      await protection.setKeys(this.client, live.state.conversationId, live.state.callId, remote.memberId)
    } catch {
      // The remote left the group: the call cannot be keyed any more.
      if (!live.over) this.hangupWith(live, 'failed', 'failed', 'The call could not be keyed', true)
    }
  }

  // ------------------------------------------------------------------------------------------
  // Ending

  private fail(live: Live): void {
    if (live.over) return
    this.hangupWith(live, 'failed', 'failed', `The call with ${live.state.peerHandle} failed`, true)
  }

  /** Tells the peer why, then ends here. */
  private hangupWith(
    live: Live,
    reason: EndReason,
    kind: CallNoticeKind,
    text: string,
    problem = false,
  ): void {
    if (live.over) return
    const to = live.state.phase === 'outgoing' ? null : (live.remote?.memberId ?? null)
    void this.send(live, { kind: 'end', callId: live.state.callId, to, reason }).catch(() => undefined)
    this.finish(live, kind, text, problem)
  }

  private finish(live: Live, kind: CallNoticeKind, text: string, problem = false): void {
    if (live.over) return
    live.over = true
    clearTimer(live)
    live.session?.close()
    live.protection?.close()
    stopStream(live.state.localStream)
    const hooks = callTestHooks()
    if (hooks && hooks.peerConnection === live.session?.pc) hooks.lastPeerConnection = live.session?.pc
    if (this.live === live) this.live = null
    if (problem) this.problem = text
    this.notice(live.state.conversationId, kind, text)
  }

  private async send(live: Live, signal: CallSignal): Promise<void> {
    await this.client.calls.send(live.state.conversationId, signal)
  }

  private newLive(
    s: Omit<CallState, 'muted' | 'cameraOff' | 'localStream' | 'remoteStream' | 'startedAt'>,
  ): Live {
    return {
      state: { ...s, muted: false, cameraOff: false, localStream: null, remoteStream: null, startedAt: 0 },
      remote: null,
      remoteFingerprint: null,
      session: null,
      protection: null,
      timer: null,
      remoteStream: new MediaStream(),
      earlyCandidates: [],
      over: false,
    }
  }
}

function sameDevice(a: CallPeer | null, b: CallPeer): boolean {
  return a !== null && a.handle === b.handle && a.memberId === b.memberId
}

function clearTimer(live: Live): void {
  if (live.timer !== null) clearTimeout(live.timer)
  live.timer = null
}

function messageOf(error: unknown): string {
  return error instanceof Error && error.name !== '' ? error.name : 'unknown error'
}
