/**
 * One signalling session with the SFU (docs/protocol/sfu.md §Session): a WebSocket whose first
 * message is `auth` with the device's session token, then `join`, then answers (and trickled
 * candidates) until `leave` or the socket closes. Errors are reported once with their stable code
 * and end the session; a client starts a new one to try again.
 */
import { SfuError, type SfuErrorCode } from './errors.ts'
import { AUTH_TIMEOUT_MS, MAX_MESSAGES_PER_SECOND, MAX_SESSIONS_PER_DEVICE } from './limits.ts'
import { parseClientMessage, type ServerMessage } from './messages.ts'
import type { ParticipantHandle, Sfu } from './sfu.ts'

/** The part of a WebSocket the session needs. */
export interface SfuSocket {
  send(text: string): void
  close(code: number, reason: string): void
}

/** WebSocket close codes of the SFU endpoint (RFC 6455 §7.4.2: 4000–4999 are for applications). */
export const SfuCloseCode = {
  normal: 1000,
  goingAway: 1001,
  badMessage: 4400,
  unauthenticated: 4401,
  refused: 4403,
  timeout: 4408,
  gone: 4410,
  rateLimited: 4429,
} as const

const CLOSE_CODES: Record<SfuErrorCode, number> = {
  'bad-message': SfuCloseCode.badMessage,
  unauthenticated: SfuCloseCode.unauthenticated,
  'auth-timeout': SfuCloseCode.timeout,
  'rate-limited': SfuCloseCode.rateLimited,
  'room-full': SfuCloseCode.refused,
  'too-many-rooms': SfuCloseCode.refused,
  'too-many-sessions': SfuCloseCode.refused,
  'already-joined': SfuCloseCode.badMessage,
  'not-joined': SfuCloseCode.badMessage,
  'negotiation-failed': SfuCloseCode.badMessage,
  'answer-timeout': SfuCloseCode.timeout,
  'connect-timeout': SfuCloseCode.timeout,
  'connection-lost': SfuCloseCode.gone,
  'media-idle': SfuCloseCode.timeout,
  'shutting-down': SfuCloseCode.goingAway,
}

export interface SessionOptions {
  /** Resolves a session token to its device id, or throws `SfuError('unauthenticated')`. */
  readonly authenticate: (token: string) => Promise<string>
  /** Sessions per device across the SFU, shared by every session of one server. */
  readonly sessionsPerDevice: Map<string, number>
}

export class SfuSession {
  private deviceId: string | null = null
  private authenticating = false
  private participant: ParticipantHandle | null = null
  private ended = false
  private readonly authTimer: ReturnType<typeof setTimeout>
  /** Token bucket: MAX_MESSAGES_PER_SECOND, burst of four seconds' worth. */
  private tokens = MAX_MESSAGES_PER_SECOND * 4
  private refilledAt: number
  /** Messages are handled one at a time, in order. */
  private queue: Promise<void> = Promise.resolve()

  constructor(
    private readonly sfu: Sfu,
    private readonly socket: SfuSocket,
    private readonly options: SessionOptions,
  ) {
    this.refilledAt = sfu.now()
    this.authTimer = setTimeout(() => {
      if (this.deviceId === null || this.participant === null)
        this.fail(new SfuError('auth-timeout', 'authenticate and join within the time limit'))
    }, AUTH_TIMEOUT_MS)
    this.authTimer.unref?.()
    this.send({ type: 'ready' })
  }

  /** A text frame from the client. Binary frames are refused. */
  receive(data: string | null): void {
    if (this.ended) return
    if (data === null) {
      this.fail(new SfuError('bad-message', 'messages are JSON text frames'))
      return
    }
    const now = this.sfu.now()
    this.tokens = Math.min(
      MAX_MESSAGES_PER_SECOND * 4,
      this.tokens + ((now - this.refilledAt) / 1000) * MAX_MESSAGES_PER_SECOND,
    )
    this.refilledAt = now
    if (this.tokens < 1) {
      this.fail(new SfuError('rate-limited', 'too many messages'))
      return
    }
    this.tokens -= 1
    this.queue = this.queue.then(() => this.handle(data)).catch((error: unknown) => this.fail(error))
  }

  /** The socket closed: leave the room. */
  closed(): void {
    this.end()
  }

  private async handle(data: string): Promise<void> {
    if (this.ended) return
    const message = parseClientMessage(data)
    if (this.deviceId === null) {
      if (message.type !== 'auth' || this.authenticating)
        throw new SfuError('unauthenticated', 'the first message must be auth')
      this.authenticating = true
      const deviceId = await this.options.authenticate(message.token)
      if (this.ended) return
      const sessions = this.options.sessionsPerDevice.get(deviceId) ?? 0
      if (sessions >= MAX_SESSIONS_PER_DEVICE)
        throw new SfuError('too-many-sessions', 'this device has too many call sessions open')
      this.options.sessionsPerDevice.set(deviceId, sessions + 1)
      this.deviceId = deviceId
      return
    }
    switch (message.type) {
      case 'auth':
        throw new SfuError('bad-message', 'already authenticated')
      case 'join': {
        if (this.participant !== null) throw new SfuError('already-joined', 'this session is in a call')
        this.participant = this.sfu.join(message.room, this.deviceId, {
          send: (m) => this.send(m),
          dropped: (code, text) => {
            this.participant = null
            this.fail(new SfuError(code, text))
          },
        })
        clearTimeout(this.authTimer)
        return
      }
      case 'answer':
        if (this.participant === null) throw new SfuError('not-joined', 'join a call first')
        return this.participant.answer(message.sdp)
      case 'candidate':
        if (this.participant === null) throw new SfuError('not-joined', 'join a call first')
        return this.participant.candidate(message.candidate, message.sdpMid, message.sdpMLineIndex)
      case 'leave':
        this.end(SfuCloseCode.normal, 'left')
        return
    }
  }

  private send(message: ServerMessage): void {
    if (this.ended) return
    try {
      this.socket.send(JSON.stringify(message))
    } catch {
      this.end()
    }
  }

  private fail(error: unknown): void {
    if (this.ended) return
    const e = SfuError.is(error)
      ? error
      : new SfuError('negotiation-failed', 'the SFU could not handle the message', { cause: error })
    this.send({ type: 'error', code: e.code, message: e.message })
    this.end(CLOSE_CODES[e.code], e.code)
  }

  private end(code: number = SfuCloseCode.normal, reason = 'closed'): void {
    if (this.ended) return
    this.ended = true
    clearTimeout(this.authTimer)
    this.participant?.leave()
    this.participant = null
    if (this.deviceId !== null) {
      const left = (this.options.sessionsPerDevice.get(this.deviceId) ?? 1) - 1
      if (left <= 0) this.options.sessionsPerDevice.delete(this.deviceId)
      else this.options.sessionsPerDevice.set(this.deviceId, left)
    }
    try {
      this.socket.close(code, reason)
    } catch {
      // Already closed.
    }
  }
}
