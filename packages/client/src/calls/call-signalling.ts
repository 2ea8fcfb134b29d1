/**
 * `client.calls`: the SDK side of calls. It sends and receives call signals (./signal.ts) as MLS
 * application messages of a conversation, hands out key material from the MLS exporter of the
 * conversation's current epoch (RFC 9420 §8.5) for the media keys (RFC 9605 §5.2), tells when
 * that epoch changes, and fetches short-lived TURN credentials from the server.
 *
 * It holds no call state: a call (WebRTC, ringing, media keys) lives in the app that uses it
 * (packages/web/src/calls/). What the app records of how calls ended it keeps here, in this
 * device's encrypted store (`record`, `log`: ./call-log.ts). Everything here works the same for
 * two participants or N: a signal names the one device it is for (`to`) or none (everyone).
 */
import type { CallLogEntry, CallLogKind } from './call-log.ts'
import { type CallSignal, CallSignalError, decodeCallSignal, encodeCallSignal, newCallId } from './signal.ts'

export * from './call-log.ts'
export * from './signal.ts'

/** A call device: its user's handle and the member id inside its MLS credential. */
export interface CallPeer {
  readonly handle: string
  readonly memberId: string
}

export interface CallSignalEvent {
  readonly conversationId: string
  /** The MLS-authenticated sender (RFC 9420 §6.1): the signal was signed by this device. */
  readonly from: CallPeer
  /** Sender's clock (the content's `sent_at`). */
  readonly sentAt: number
  /** Our clock when it was decrypted. */
  readonly receivedAt: number
  /**
   * Sent more than MAX_RING_AGE_MS before it arrived (the device was offline): an invite like
   * this must not ring, only be shown as missed.
   */
  readonly stale: boolean
  readonly signal: CallSignal
}

export interface CallEpochEvent {
  readonly conversationId: string
  readonly epoch: bigint
}

export interface CallMember extends CallPeer {
  /** The MLS leaf index: the SFrame sender id of RFC 9605 §5.2. */
  readonly leafIndex: number
}

/** MLS-Exporter output for the conversation's current epoch, with who is in that epoch. */
export interface CallKeyMaterial {
  readonly epoch: bigint
  readonly secret: Uint8Array
  readonly ownLeafIndex: number
  readonly members: readonly CallMember[]
}

/** One entry of RTCConfiguration.iceServers. */
export interface IceServer {
  readonly urls: readonly string[]
  readonly username?: string
  readonly credential?: string
}

export interface TurnCredentials {
  readonly iceServers: readonly IceServer[]
  /** Unix milliseconds after which the credentials stop working; 0 with no TURN configured. */
  readonly expiresAt: number
}

export interface CallEvents {
  signal: CallSignalEvent
  epoch: CallEpochEvent
  /** A call signal from the conversation that did not decode (its stable error code). */
  'signal-error': { readonly conversationId: string; readonly from: CallPeer; readonly code: string }
}

/** What the client gives the signalling object (client.ts wires it). */
export interface CallPort {
  readonly self: CallPeer
  send(conversationId: string, signal: Uint8Array): Promise<void>
  exportSecret(
    conversationId: string,
    label: string,
    context: Uint8Array,
    length: number,
  ): Promise<CallKeyMaterial>
  turnCredentials(): Promise<TurnCredentials>
  /** Persists one call log entry of a conversation (call-log.ts). */
  recordCall(conversationId: string, kind: CallLogKind, text: string): Promise<CallLogEntry>
  /** The conversation's call log, oldest first. */
  callLog(conversationId: string): Promise<CallLogEntry[]>
  now(): number
  randomBytes(n: number): Uint8Array
}

/** An invite older than this when it arrives is shown as missed, never rung (45 s ring + slack). */
export const MAX_RING_AGE_MS = 60_000
/** Listeners per event: a bound against leaks in a long-lived page. */
export const MAX_CALL_LISTENERS = 64

type Listener = (value: never) => void

export class CallSignalling {
  private readonly listeners = new Map<keyof CallEvents, Set<Listener>>()

  constructor(private readonly port: CallPort) {}

  /** This device, as other members see it in signals. */
  get self(): CallPeer {
    return this.port.self
  }

  on<E extends keyof CallEvents>(event: E, fn: (value: CallEvents[E]) => void): () => void {
    let set = this.listeners.get(event)
    if (!set) {
      set = new Set()
      this.listeners.set(event, set)
    }
    if (set.size >= MAX_CALL_LISTENERS) throw new CallSignalError('usage', 'too many call listeners')
    set.add(fn as Listener)
    const s = set
    return () => void s.delete(fn as Listener)
  }

  newCallId(): string {
    return newCallId(this.port.randomBytes)
  }

  /** Encodes (checking every limit) and sends one signal to the conversation. */
  async send(conversationId: string, signal: CallSignal): Promise<void> {
    await this.port.send(conversationId, encodeCallSignal(signal))
  }

  /** Sends already-encoded bytes (tests of a misbehaving peer use it). */
  async sendEncoded(conversationId: string, signal: Uint8Array): Promise<void> {
    await this.port.send(conversationId, signal)
  }

  /** RFC 9420 §8.5 MLS-Exporter(label, context, length) of the conversation's current epoch. */
  keyMaterial(
    conversationId: string,
    label: string,
    context: Uint8Array,
    length: number,
  ): Promise<CallKeyMaterial> {
    return this.port.exportSecret(conversationId, label, context, length)
  }

  /** ICE servers for a call: STUN/TURN with short-lived credentials from the server (may be none). */
  turnCredentials(): Promise<TurnCredentials> {
    return this.port.turnCredentials()
  }

  /**
   * Records how a call of the conversation ended, on this device (`call-log.ts`): the app's own
   * words, shown again after a restart. `usage` for an unknown kind, a text over
   * MAX_CALL_LOG_TEXT_CHARS or an unknown conversation; nothing is written then.
   */
  record(conversationId: string, kind: CallLogKind, text: string): Promise<CallLogEntry> {
    return this.port.recordCall(conversationId, kind, text)
  }

  /** This device's call log of the conversation, oldest first (at most MAX_CALL_LOG_ENTRIES). */
  log(conversationId: string): Promise<CallLogEntry[]> {
    return this.port.callLog(conversationId)
  }

  /** @internal Called by the client for each decrypted `call` content. */
  receive(conversationId: string, from: CallPeer, sentAt: number, bytes: Uint8Array): void {
    let signal: CallSignal
    try {
      signal = decodeCallSignal(bytes)
    } catch (error) {
      const code = CallSignalError.is(error) ? error.code : 'malformed'
      this.emit('signal-error', { conversationId, from, code })
      return
    }
    const receivedAt = this.port.now()
    this.emit('signal', {
      conversationId,
      from,
      sentAt,
      receivedAt,
      stale: receivedAt - sentAt > MAX_RING_AGE_MS,
      signal,
    })
  }

  /** @internal Called by the client when a conversation's group moves to a new epoch. */
  epochChanged(conversationId: string, epoch: bigint): void {
    this.emit('epoch', { conversationId, epoch })
  }

  private emit<E extends keyof CallEvents>(event: E, value: CallEvents[E]): void {
    for (const fn of this.listeners.get(event) ?? []) {
      try {
        ;(fn as (v: CallEvents[E]) => void)(value)
      } catch {
        // A listener's failure is its own.
      }
    }
  }
}
