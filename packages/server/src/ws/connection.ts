/**
 * One WebSocket connection (docs/protocol/server.md §WebSocket). The server speaks first with a
 * `challenge` frame; the client either authenticates as a device (`auth`) and then sends, acks,
 * commits and receives its mailbox, or stays anonymous and may only send sealed envelopes.
 *
 * Delivery: after `auth` the connection subscribes to mailbox hints, then pushes stored
 * envelopes oldest first, keeping at most `deliveryWindow` envelopes (and `deliveryWindowBytes`)
 * unacknowledged. An envelope committed by this process for a device connected here is handed
 * to the connection directly (`offer`) when it is the next seq after everything pushed and the
 * window is open — no mailbox read; otherwise a hint wakes the connection, which fetches from
 * its cursor. An ack fetches again only if the window had closed on a backlog. A timer re-scans
 * the whole mailbox from the start (skipping what is in flight, and what was acknowledged while
 * the re-scan read), at a random point of every `mailboxResyncMs`, so a lost hint or a seq that
 * became visible late costs latency, never an envelope. Envelopes are deleted only by the
 * device's `ack`.
 *
 * Every request is answered after storage resolved it — `send-ok` means durable.
 *
 * Socket writes: frames for one socket in one turn of the event loop (the `send-ok`s and
 * `deliver`s one group commit releases, `ack-ok`s) are framed together and leave as one socket
 * write after the turn's I/O phase (`outbox.ts`), instead of one `ws.send` per frame.
 */
import type { Socket } from 'node:net'

import { WireError } from '@tacit/protocol/wire/errors'
import type { ClientFrame } from '@tacit/protocol/wire/frames'
import {
  type DeliveryFrame,
  decodeClientFrame,
  deliveryFrameLength,
  encodeDeliveryFrameInto,
  encodeFrame,
  type ServerFrame,
} from '@tacit/protocol/wire/frames'
import { CHALLENGE_BYTES } from '@tacit/protocol/wire/limits'
import type { WebSocket } from 'ws'
import type { ServerContext } from '../context.ts'
import { toWireError } from '../errors.ts'
import { verifyDeviceAuth } from '../http/account-routes.ts'
import { openSession } from '../http/auth.ts'
import { resyncDelayMs } from '../notify/notifier.ts'
import { equalSecrets, hashSecret, randomSecret } from '../secrets.ts'
import type { EnqueueRequest, MailboxEntry } from '../storage/storage.ts'
import {
  flushAfterThisTurn,
  frameHeaderSize,
  MAX_OUTBOX_BYTES,
  type OutboxOwner,
  takeWriteBuffer,
  writeFrameHeader,
} from './outbox.ts'
import type { ConnectionRegistry, LiveConnection } from './registry.ts'

/** WebSocket close codes (RFC 6455 §7.4.2: 4000–4999 are for applications). */
export const CloseCode = {
  goingAway: 1001,
  unsupportedData: 1003,
  authFailed: 4401,
  revoked: 4403,
  authTimeout: 4408,
} as const

const BINARY = { binary: true } as const

/** Entries one storage fetch asks for. */
export const FETCH_PAGE = 128

export interface ConnectionOptions {
  readonly remoteAddress?: string
}

export class MailboxConnection implements LiveConnection, OutboxOwner {
  deviceId: string | null = null
  private readonly challenge = randomSecret(CHALLENGE_BYTES)
  private readonly challengeExpiresAt: number
  private challengeUsed = false
  private closed = false
  private unsubscribe: (() => void) | null = null
  private resyncTimer: ReturnType<typeof setTimeout> | null = null
  private idleTimer: ReturnType<typeof setTimeout> | null = null
  /** Requests (and pumps) started and not yet answered; `settled()` waits for 0. */
  private pending = 0
  private idleWaiters: (() => void)[] = []
  private readonly finishTask = () => this.finish()
  /** Not reading from the socket: too many requests of its own in flight, or held by the intake gate. */
  private paused = false
  private pendingFull = false
  private heldByGate = false

  // Delivery state.
  private readonly inFlight = new Map<bigint, number>()
  private inFlightBytes = 0
  /** Highest seq pushed on this connection. */
  private cursor = 0n
  private pumping = false
  private pumpAgain = false
  private rescan = false
  /**
   * Seqs acknowledged while a pump runs. Its fetch may have read the mailbox before the ack's
   * deletion committed; when the page arrives such an entry is no longer in flight, and would be
   * pushed again: a duplicate the client has to drop. Cleared when the pump ends.
   */
  private readonly ackedDuringPump = new Set<bigint>()
  /** The last pump stopped at a full window (or never ran): entries may wait beyond the cursor. */
  private backlog = true
  /**
   * Frames of this turn, written together by `flushOutbox`: delivery-path frames as they are
   * (encoded straight into the write buffer), others already encoded.
   */
  private outbox: (DeliveryFrame | Uint8Array)[] = []
  /** Encoded length of each outbox frame (WebSocket header not included). */
  private outboxLengths: number[] = []
  /** Bytes the outbox takes on the wire, WebSocket headers included. */
  private outboxBytes = 0
  /** The outbox holds only frames that may wait (`ack-ok`): no flush is due this turn (outbox.ts). */
  private outboxWaits = false

  constructor(
    private readonly ctx: ServerContext,
    private readonly ws: WebSocket,
    private readonly registry: ConnectionRegistry,
    private readonly options: ConnectionOptions = {},
  ) {
    this.challengeExpiresAt = ctx.now() + ctx.policy.authTimeoutMs
    registry.add(this)
    ctx.metrics.increment('tacit_ws_connections_total', 'WebSocket connections opened')
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary))
    ws.on('close', () => this.onClose())
    ws.on('error', () => {
      // A socket error is followed by 'close'; nothing from it is logged (it may name the peer).
    })
    this.resetIdleTimer()
    this.sendFrame({
      type: 'challenge',
      id: 0,
      challenge: this.challenge,
      expiresAt: this.challengeExpiresAt,
    })
  }

  close(code: number, reason: string): void {
    if (this.closed) return
    // Frames of this turn (an error answer before an auth failure closes) go before the close frame.
    this.flushOutbox()
    this.ws.close(code, reason)
    this.onClose()
  }

  settled(): Promise<void> {
    if (this.pending === 0) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  private onClose(): void {
    if (this.closed) return
    this.closed = true
    this.unsubscribe?.()
    this.unsubscribe = null
    if (this.resyncTimer) clearTimeout(this.resyncTimer)
    if (this.idleTimer) clearTimeout(this.idleTimer)
    this.registry.intake.forget(this)
    this.registry.deferredFlush.remove(this)
    this.registry.remove(this)
  }

  /** Anonymous connections live only while they are used; device connections stay. */
  private resetIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer)
    this.idleTimer = null
    if (this.deviceId !== null || this.closed) return
    this.idleTimer = setTimeout(
      () => this.close(CloseCode.authTimeout, 'not authenticated'),
      this.ctx.policy.authTimeoutMs,
    )
    this.idleTimer.unref?.()
  }

  private sendFrame(frame: ServerFrame): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return
    if (this.socket() === null) {
      this.ws.send(encodeFrame(frame), BINARY)
      return
    }
    // Checked (and sized) now, encoded at flush: a frame that does not encode throws here, as before.
    let entry: DeliveryFrame | Uint8Array
    let length: number
    if (frame.type === 'deliver' || frame.type === 'send-ok' || frame.type === 'ack-ok') {
      entry = frame
      length = deliveryFrameLength(frame)
    } else {
      entry = encodeFrame(frame)
      length = entry.length
    }
    if (frame.type === 'ack-ok' && this.registry.deferredFlush.delayMs > 0) {
      // An ack's answer may wait for the next frame that may not (decision 0021).
      if (this.outbox.length === 0) {
        this.outboxWaits = true
        this.registry.deferredFlush.add(this)
      }
    } else if (this.outbox.length === 0 || this.outboxWaits) {
      this.outboxWaits = false
      flushAfterThisTurn(this)
    }
    this.outbox.push(entry)
    this.outboxLengths.push(length)
    this.outboxBytes += frameHeaderSize(length) + length
    if (this.outboxBytes >= MAX_OUTBOX_BYTES) this.flushOutbox()
  }

  flushOutbox(): void {
    if (this.outboxWaits) {
      this.outboxWaits = false
      this.registry.deferredFlush.remove(this)
    }
    if (this.outbox.length === 0) return
    const frames = this.outbox
    const lengths = this.outboxLengths
    const total = this.outboxBytes
    this.outbox = []
    this.outboxLengths = []
    this.outboxBytes = 0
    const socket = this.socket()
    if (this.ws.readyState !== this.ws.OPEN || socket === null) return
    // Every frame straight into one write buffer: no buffer per frame, one copy of each payload.
    const out = takeWriteBuffer(total)
    let at = 0
    for (let i = 0; i < frames.length; i++) {
      const frame = frames[i]!
      at = writeFrameHeader(out, at, lengths[i]!)
      if (frame instanceof Uint8Array) {
        out.set(frame, at)
        at += frame.length
      } else at = encodeDeliveryFrameInto(frame, out, at)
    }
    socket.write(out)
  }

  /**
   * The TCP socket under `ws` (its `_socket` field: `ws` has no public way to write several
   * messages at once). Writing frames to it directly is safe here because no extension is
   * negotiated and every message is one whole frame; `ws` itself writes only control frames.
   */
  private socket(): Socket | null {
    const socket = (this.ws as unknown as { _socket?: Socket })._socket
    return socket === undefined || socket.destroyed ? null : socket
  }

  private sendError(id: number, error: unknown): void {
    const wire = toWireError(error)
    if (wire.code === 'internal') {
      this.ctx.log.log('error', 'ws.internal', { error: error instanceof Error ? error.name : 'unknown' })
    }
    this.ctx.metrics.increment('tacit_ws_errors_total', 'WebSocket error frames by code', { code: wire.code })
    this.sendFrame({ type: 'error', id, code: wire.code, message: wire.message, details: wire.details })
  }

  private onMessage(data: unknown, isBinary: boolean): void {
    if (this.closed) return
    if (!isBinary) {
      this.sendError(0, new WireError('malformed', 'frames must be binary'))
      this.close(CloseCode.unsupportedData, 'binary frames only')
      return
    }
    const bytes = toBytes(data)
    // The id sits at bytes 1..4 of every frame; echo it even when the rest does not decode.
    const id =
      bytes.length >= 5 ? ((bytes[1]! << 24) | (bytes[2]! << 16) | (bytes[3]! << 8) | bytes[4]!) >>> 0 : 0
    const now = this.ctx.now()
    const wait =
      this.deviceId !== null
        ? this.ctx.deviceLimiter.take(this.deviceId, now)
        : this.ctx.addressLimiter.take(this.options.remoteAddress ?? 'unknown', now)
    if (wait > 0) {
      this.ctx.metrics.increment('tacit_rate_limited_total', 'Requests refused by a rate limit', {
        scope: this.deviceId !== null ? 'device' : 'address',
      })
      this.sendError(id, new WireError('rate-limited', 'too many frames', { retryAfterSeconds: wait }))
      return
    }
    let frame: ClientFrame
    try {
      frame = decodeClientFrame(bytes)
    } catch (error) {
      this.sendError(id, error)
      return
    }
    if (this.ctx.shuttingDown()) {
      this.sendError(frame.id, new WireError('unavailable', 'the server is shutting down; retry later'))
      return
    }
    this.resetIdleTimer()
    this.track(this.handle(frame), (error) => this.sendError(frame.id, error))
  }

  /**
   * Counts a request until it is answered, here and in the process's intake gate, and bounds the
   * requests in flight — this connection's, and all connections' together (intake.ts) — by no
   * longer reading from the socket. A counter and one `then`, not a set of promises: this runs
   * for every frame.
   */
  private track(task: Promise<void>, onError: (error: unknown) => void): void {
    this.pending++
    if (this.registry.intake.begin() && !this.heldByGate && !this.closed) {
      this.heldByGate = true
      this.registry.intake.hold(this)
    }
    if (!this.pendingFull && this.pending >= this.ctx.policy.maxPendingPerConnection) this.pendingFull = true
    this.applyPause()
    task.then(this.finishTask, (error: unknown) => {
      onError(error)
      this.finish()
    })
  }

  private finish(): void {
    this.pending--
    if (this.pendingFull && this.pending <= this.ctx.policy.maxPendingPerConnection / 2) {
      this.pendingFull = false
      this.applyPause()
    }
    this.registry.intake.end()
    if (this.pending === 0 && this.idleWaiters.length > 0) {
      for (const resolve of this.idleWaiters.splice(0)) resolve()
    }
  }

  /** The intake gate has room again (intake.ts). */
  release(): void {
    this.heldByGate = false
    this.applyPause()
  }

  private applyPause(): void {
    const pause = this.pendingFull || this.heldByGate
    if (pause === this.paused || this.closed) return
    this.paused = pause
    if (pause) this.ws.pause()
    else this.ws.resume()
  }

  /** Never throws: a synchronous failure becomes the rejected promise (answered as an error frame). */
  private handle(frame: ClientFrame): Promise<void> {
    try {
      switch (frame.type) {
        case 'auth':
          return this.onAuth(frame)
        case 'send-sealed':
          return this.onSendSealed(frame)
        default:
          break
      }
      const deviceId = this.deviceId
      if (deviceId === null) throw new WireError('unauthenticated', 'authenticate first (auth frame)')
      switch (frame.type) {
        case 'send':
          return this.onSend(frame)
        case 'ack':
          return this.onAck(deviceId, frame)
        case 'commit':
          return this.onCommit(frame)
      }
    } catch (error) {
      return Promise.reject(error)
    }
  }

  private async onAuth(frame: Extract<ClientFrame, { type: 'auth' }>): Promise<void> {
    if (this.deviceId !== null) throw new WireError('auth-failed', 'this connection is already authenticated')
    let device: Awaited<ReturnType<typeof verifyDeviceAuth>>
    try {
      device = await verifyDeviceAuth(
        this.ctx,
        frame.deviceId,
        this.challenge,
        frame.signature,
        (challenge) => {
          // RFC 6455 gives no replay protection of its own: the challenge is this connection's
          // alone, good for one attempt, and only until it expires.
          const ok =
            !this.challengeUsed &&
            equalSecrets(challenge, this.challenge) &&
            this.ctx.now() < this.challengeExpiresAt
          this.challengeUsed = true
          return ok
        },
      )
    } catch (error) {
      this.ctx.metrics.increment('tacit_ws_auth_total', 'WebSocket authentications by outcome', {
        outcome: 'refused',
      })
      this.sendError(frame.id, error)
      this.close(
        WireError.is(error, 'device-revoked') ? CloseCode.revoked : CloseCode.authFailed,
        'authentication failed',
      )
      return
    }
    if (this.closed) return
    const session = await openSession(this.ctx, device.deviceId)
    if (this.closed) return
    this.deviceId = device.deviceId
    this.resetIdleTimer()
    this.registry.bind(device.deviceId, this)
    // Subscribe before the first fetch: an envelope stored in between still wakes us.
    this.unsubscribe = this.ctx.notifier.subscribe(device.deviceId, () => this.pump(false))
    this.scheduleResync()
    this.ctx.metrics.increment('tacit_ws_auth_total', 'WebSocket authentications by outcome', {
      outcome: 'ok',
    })
    this.sendFrame({ type: 'auth-ok', id: frame.id, deviceId: device.deviceId, ...session })
    this.pump(false)
  }

  /** Arms the next re-scan, at a fresh random point of its interval (`resyncDelayMs`). */
  private scheduleResync(): void {
    this.resyncTimer = setTimeout(() => {
      this.resync()
      if (!this.closed) this.scheduleResync()
    }, resyncDelayMs(this.ctx.policy.mailboxResyncMs))
    this.resyncTimer.unref?.()
  }

  /**
   * The timer's work: re-check the device (a revocation made through another process closes this
   * connection within one interval) and re-scan the mailbox from the start.
   */
  private resync(): void {
    const deviceId = this.deviceId
    if (deviceId === null || this.closed) return
    const task = this.ctx.storage.getDevice(deviceId).then(
      (device) => {
        if (device === null || device.revokedAt !== null) this.close(CloseCode.revoked, 'device revoked')
        else this.pump(true)
      },
      () => this.pump(true),
    )
    this.track(task, () => {})
  }

  private expiresAt(ttlSeconds: number, now: number): number {
    return now + (ttlSeconds === 0 ? this.ctx.policy.envelopeTtlMs : ttlSeconds * 1000)
  }

  /**
   * After the envelope is durable (its `enqueue` resolved with `seqs`): hands it to local
   * connections of its recipients and hints the rest.
   */
  private handOver(request: EnqueueRequest, seqs: readonly bigint[] | undefined, now: number): void {
    this.ctx.metrics.increment(
      'tacit_envelopes_stored_total',
      'Envelopes stored (per mailbox)',
      undefined,
      request.mailboxes.length,
    )
    for (let i = 0; i < request.mailboxes.length; i++) {
      const mailbox = request.mailboxes[i]!
      const seq = seqs?.[i]
      // Committed: a connection of the recipient here can take it from memory (storage.ts:
      // the entry's receivedAt is the `now` of its enqueue call).
      const handedLocally =
        seq !== undefined && this.registry.offer(mailbox, { seq, payload: request.payload, receivedAt: now })
      this.publish(mailbox, handedLocally)
    }
  }

  private publish(deviceId: string, handedLocally = false): void {
    try {
      const done = this.ctx.notifier.publish(deviceId, { handedLocally })
      if (done !== undefined) done.catch(() => {})
    } catch {
      // A lost hint costs latency only (notify/notifier.ts): the resync timer finds the envelope.
    }
  }

  offer(entry: MailboxEntry): boolean {
    // In order only: everything up to cursor was pushed, and this is the very next entry. While a
    // pump runs its fetch may return this entry too; let the pump have it.
    if (this.closed || this.pumping || this.rescan || this.backlog) return false
    if (entry.seq !== this.cursor + 1n || !this.windowOpen()) {
      this.backlog = true
      return false
    }
    this.push(entry)
    return true
  }

  private push(entry: MailboxEntry): void {
    this.inFlight.set(entry.seq, entry.payload.length)
    this.inFlightBytes += entry.payload.length
    if (entry.seq > this.cursor) this.cursor = entry.seq
    this.sendFrame({
      type: 'deliver',
      id: 0,
      seq: entry.seq,
      receivedAt: entry.receivedAt,
      payload: entry.payload,
    })
    this.ctx.metrics.increment('tacit_envelopes_delivered_total', 'Envelopes pushed to devices')
  }

  private onSend(frame: Extract<ClientFrame, { type: 'send' }>): Promise<void> {
    const now = this.ctx.now()
    const request = {
      mailboxes: frame.recipients,
      payload: frame.payload,
      expiresAt: this.expiresAt(frame.ttlSeconds, now),
    }
    // One continuation per send: hand over, then answer (send-ok means durable).
    return this.ctx.storage.enqueue([request], now).then((seqs) => {
      this.handOver(request, seqs[0], now)
      this.sendFrame({ type: 'send-ok', id: frame.id })
    })
  }

  private async onSendSealed(frame: Extract<ClientFrame, { type: 'send-sealed' }>): Promise<void> {
    const mailboxes = new Set<string>()
    for (const token of frame.tokens) {
      const deviceId = await this.ctx.storage.resolveDeliveryToken(hashSecret(token))
      if (deviceId === null) throw new WireError('not-found', 'a delivery token is unknown')
      mailboxes.add(deviceId)
    }
    const now = this.ctx.now()
    const request = {
      mailboxes: [...mailboxes],
      payload: frame.payload,
      expiresAt: this.expiresAt(frame.ttlSeconds, now),
    }
    const [seqs] = await this.ctx.storage.enqueue([request], now)
    this.handOver(request, seqs, now)
    this.ctx.metrics.increment('tacit_sealed_sends_total', 'Sealed sends accepted')
    this.sendFrame({ type: 'send-ok', id: frame.id })
  }

  private onAck(deviceId: string, frame: Extract<ClientFrame, { type: 'ack' }>): Promise<void> {
    return this.ctx.storage.ack(deviceId, frame.seqs).then((removed) => {
      for (const seq of frame.seqs) {
        const size = this.inFlight.get(seq)
        if (size !== undefined) {
          this.inFlight.delete(seq)
          this.inFlightBytes -= size
        }
        if (this.pumping) this.ackedDuringPump.add(seq)
      }
      this.ctx.metrics.increment('tacit_envelopes_acked_total', 'Envelopes acknowledged', undefined, removed)
      this.sendFrame({ type: 'ack-ok', id: frame.id, removed })
      // Only a window that closed on a backlog has anything to fetch; new mail comes by offer or hint.
      if (this.backlog) this.pump(false)
    })
  }

  private async onCommit(frame: Extract<ClientFrame, { type: 'commit' }>): Promise<void> {
    const now = this.ctx.now()
    const expiresAt = this.expiresAt(frame.ttlSeconds, now)
    const outcome = await this.ctx.storage.submitCommit(
      {
        groupId: frame.groupId,
        epoch: frame.epoch,
        commit: { mailboxes: frame.commit.recipients, payload: frame.commit.payload, expiresAt },
        welcome: frame.welcome
          ? { mailboxes: frame.welcome.recipients, payload: frame.welcome.payload, expiresAt }
          : null,
      },
      now,
    )
    if (outcome.kind === 'conflict') {
      this.ctx.metrics.increment('tacit_commits_total', 'Commits by outcome', { outcome: 'conflict' })
      throw new WireError('epoch-conflict', 'another commit already took this epoch', {
        currentEpoch: outcome.currentEpoch,
      })
    }
    this.ctx.metrics.increment('tacit_commits_total', 'Commits by outcome', { outcome: 'accepted' })
    this.sendFrame({ type: 'commit-ok', id: frame.id, epoch: outcome.epoch })
    for (const m of frame.commit.recipients) void this.publish(m)
    for (const m of frame.welcome?.recipients ?? []) void this.publish(m)
  }

  /** Pushes stored envelopes within the window; `fromStart` re-scans the mailbox from seq 0. */
  private pump(fromStart: boolean): void {
    if (fromStart) this.rescan = true
    if (this.pumping) {
      this.pumpAgain = true
      return
    }
    this.pumping = true
    const task = this.runPump().finally(() => {
      this.pumping = false
      this.ackedDuringPump.clear()
    })
    // A failed fetch (database briefly away) is retried by the next hint, ack or resync.
    this.track(task, (error) =>
      this.ctx.log.log('warn', 'ws.fetch-failed', { error: toWireError(error).code }),
    )
  }

  private windowOpen(): boolean {
    return (
      this.inFlight.size < this.ctx.policy.deliveryWindow &&
      this.inFlightBytes < this.ctx.policy.deliveryWindowBytes
    )
  }

  private async runPump(): Promise<void> {
    const deviceId = this.deviceId
    if (deviceId === null) return
    do {
      this.pumpAgain = false
      let after = this.cursor
      if (this.rescan) {
        this.rescan = false
        after = 0n
      }
      let more = true
      while (!this.closed && this.windowOpen()) {
        const page = await this.ctx.storage.fetchMailbox(deviceId, after, FETCH_PAGE, this.ctx.now())
        let skipped = false
        for (const entry of page) {
          after = entry.seq
          if (this.inFlight.has(entry.seq) || this.ackedDuringPump.has(entry.seq)) continue
          if (!this.windowOpen()) {
            skipped = true
            continue
          }
          this.push(entry)
        }
        if (page.length < FETCH_PAGE && !skipped) {
          more = false
          break
        }
      }
      // A full window that skipped entries: the next ack pumps again.
      this.backlog = more
    } while (this.pumpAgain && !this.closed)
  }
}

function toBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data
  if (Array.isArray(data)) return Buffer.concat(data as Buffer[])
  if (data instanceof ArrayBuffer) return new Uint8Array(data)
  return new Uint8Array(0)
}
