/**
 * The device's WebSocket to the delivery service (docs/protocol/server.md §4): authenticates
 * with a signed single-use challenge, matches answers to requests by id, hands `deliver` frames
 * to the client in arrival order, and reconnects with bounded back-off when the connection drops
 * (the server then re-pushes whatever was not acknowledged). Every request is bounded by
 * REQUEST_TIMEOUT_MS and fails with `network` if the connection drops first: the caller decides
 * whether to retry (sends and commits are idempotent for receivers, see docs/protocol/client.md).
 */
import { buildDeviceAuthMessage } from '@tacit/protocol/wire/auth-messages'
import {
  type ClientFrame,
  decodeServerFrame,
  encodeFrame,
  type ServerFrame,
} from '@tacit/protocol/wire/frames'
import { ClientError } from '../errors.ts'
import { CONNECT_TIMEOUT_MS, RECONNECT_MAX_MS, RECONNECT_MIN_MS, REQUEST_TIMEOUT_MS } from '../limits.ts'
import type { Signer } from './http-api.ts'
import type { SocketLike, Transport } from './transport.ts'

export type Deliver = Extract<ServerFrame, { type: 'deliver' }>
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never
export type Request = DistributiveOmit<ClientFrame, 'id'>

interface Waiter {
  resolve(frame: ServerFrame): void
  reject(error: unknown): void
  timer: ReturnType<typeof setTimeout>
}

/** Server close codes after which reconnecting is pointless. */
const FATAL_CLOSE_CODES = new Set([4401, 4403])
const MAX_REQUEST_ID = 0xffffffff

export class Connection {
  private socket: SocketLike | null = null
  private nextId = 1
  private readonly waiters = new Map<number, Waiter>()
  private closedByUs = false
  private backoff = RECONNECT_MIN_MS
  private readyPromise: Promise<void> | null = null
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null
  private readonly readyListeners = new Set<() => void>()
  /** Set when the server refused us for good (revoked device). */
  fatal: ClientError | null = null

  constructor(
    private readonly url: string,
    private readonly transport: Transport,
    private readonly deviceId: string,
    private readonly sign: Signer,
    private readonly onDeliver: (frame: Deliver) => void,
  ) {}

  /** Runs after every successful (re)authentication: resend what is owed. */
  onReady(fn: () => void): () => void {
    this.readyListeners.add(fn)
    return () => this.readyListeners.delete(fn)
  }

  get connected(): boolean {
    return this.socket !== null && this.readyPromise === null
  }

  /** Opens and authenticates; resolves once `auth-ok` arrived. */
  open(): Promise<void> {
    this.closedByUs = false
    if (this.connected) return Promise.resolve()
    if (this.readyPromise) return this.readyPromise
    const attempt = this.attempt()
    this.readyPromise = attempt
    attempt.then(
      () => {
        this.readyPromise = null
        this.backoff = RECONNECT_MIN_MS
        for (const fn of this.readyListeners) fn()
      },
      () => {
        this.readyPromise = null
      },
    )
    return attempt
  }

  private attempt(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const socket = this.transport.openSocket(this.url)
      let settled = false
      const timer = setTimeout(() => {
        fail(new ClientError('timeout', 'the server did not authenticate us in time'))
        socket.close(1000)
      }, CONNECT_TIMEOUT_MS)
      const fail = (error: ClientError) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        reject(error)
      }
      socket.onMessage((data) => {
        let frame: ServerFrame
        try {
          frame = decodeServerFrame(data)
        } catch {
          return // A frame we cannot read is dropped; the request it answers times out.
        }
        if (frame.type === 'challenge' && !settled) {
          void this.sign(buildDeviceAuthMessage(frame.challenge, this.deviceId)).then((signature) =>
            socket.send(encodeFrame({ type: 'auth', id: 0, deviceId: this.deviceId, signature })),
          )
          return
        }
        if (!settled) {
          if (frame.type === 'auth-ok') {
            settled = true
            clearTimeout(timer)
            this.socket = socket
            resolve()
          } else if (frame.type === 'error') {
            if (frame.code === 'device-revoked') {
              this.fatal = new ClientError('server', 'this device is revoked', {
                serverCode: 'device-revoked',
              })
            }
            fail(
              new ClientError('server', `authentication failed: ${frame.code}`, { serverCode: frame.code }),
            )
          }
          return
        }
        this.dispatch(frame)
      })
      socket.onClose((code) => {
        fail(new ClientError('network', `the connection closed (${code}) before authentication`))
        if (this.socket === socket) this.socket = null
        if (code === 4403) {
          this.fatal = new ClientError('server', 'this device is revoked', { serverCode: 'device-revoked' })
        }
        for (const [id, w] of this.waiters) {
          clearTimeout(w.timer)
          w.reject(new ClientError('network', `the connection closed (${code})`))
          this.waiters.delete(id)
        }
        if (settled && !this.closedByUs && !FATAL_CLOSE_CODES.has(code)) this.scheduleReconnect()
      })
    })
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer !== null || this.closedByUs) return
    const delay = this.backoff
    this.backoff = Math.min(this.backoff * 2, RECONNECT_MAX_MS)
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null
      if (this.closedByUs) return
      this.open().catch(() => {
        if (this.fatal === null) this.scheduleReconnect()
      })
    }, delay)
  }

  private dispatch(frame: ServerFrame): void {
    if (frame.type === 'deliver') {
      this.onDeliver(frame)
      return
    }
    const w = this.waiters.get(frame.id)
    if (!w) return
    this.waiters.delete(frame.id)
    clearTimeout(w.timer)
    w.resolve(frame)
  }

  /** Sends one request and waits for its answer; server `error` frames reject with `server`. */
  async request(body: Request): Promise<ServerFrame> {
    if (this.fatal) throw this.fatal
    if (!this.connected) await this.open()
    const socket = this.socket
    if (!socket) throw new ClientError('network', 'not connected')
    const id = this.nextId
    this.nextId = this.nextId >= MAX_REQUEST_ID ? 1 : this.nextId + 1
    const frame = encodeFrame({ ...body, id } as ClientFrame)
    const answer = await new Promise<ServerFrame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(id)
        reject(new ClientError('timeout', `no answer to ${body.type} in time`))
      }, REQUEST_TIMEOUT_MS)
      this.waiters.set(id, { resolve, reject, timer })
      socket.send(frame)
    })
    if (answer.type === 'error') {
      throw new ClientError('server', `${body.type}: ${answer.code}`, {
        serverCode: answer.code,
        ...(answer.details.currentEpoch !== undefined ? { currentEpoch: answer.details.currentEpoch } : {}),
      })
    }
    return answer
  }

  close(): void {
    this.closedByUs = true
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer)
    this.reconnectTimer = null
    this.socket?.close(1000)
    this.socket = null
  }
}
