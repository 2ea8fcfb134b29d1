/**
 * A WebSocket client of the mailbox protocol for tests: reads the challenge, authenticates,
 * sends requests and waits for their answer by id, and collects pushed envelopes. Every wait
 * is bounded (a test never hangs on a missing frame; it fails).
 */
import { buildDeviceAuthMessage } from '@tacit/protocol/wire/auth-messages'
import {
  type ClientFrame,
  decodeServerFrame,
  encodeFrame,
  type ServerFrame,
} from '@tacit/protocol/wire/frames'
import WebSocket from 'ws'
import type { TestKey } from './keys.ts'

export const WAIT_MS = 10_000

type Deliver = Extract<ServerFrame, { type: 'deliver' }>
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

export class WsTestClient {
  readonly delivered: Deliver[] = []
  readonly frames: ServerFrame[] = []
  challenge: Uint8Array | null = null
  closeCode: number | null = null
  private nextId = 1
  private readonly waiters = new Set<() => void>()

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const frame = decodeServerFrame(new Uint8Array(data))
      this.frames.push(frame)
      if (frame.type === 'challenge') this.challenge = frame.challenge
      if (frame.type === 'deliver') this.delivered.push(frame)
      this.wake()
    })
    ws.on('close', (code) => {
      this.closeCode = code
      this.wake()
    })
    ws.on('error', () => {})
  }

  static async connect(wsUrl: string): Promise<WsTestClient> {
    const ws = new WebSocket(wsUrl, { perMessageDeflate: false })
    const client = new WsTestClient(ws)
    await client.waitFor(() => client.challenge !== null || client.closeCode !== null, 'challenge')
    if (client.challenge === null) throw new Error('closed before the challenge')
    return client
  }

  private wake(): void {
    for (const w of [...this.waiters]) w()
  }

  /** Resolves when `condition` holds; rejects after WAIT_MS. */
  waitFor(condition: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
    if (condition()) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const check = () => {
        if (condition()) {
          this.waiters.delete(check)
          clearTimeout(timer)
          resolve()
        }
      }
      const timer = setTimeout(() => {
        this.waiters.delete(check)
        reject(new Error(`timed out waiting for ${what}`))
      }, ms)
      this.waiters.add(check)
    })
  }

  sendRaw(bytes: Uint8Array): void {
    this.ws.send(bytes)
  }

  /** Sends a request frame (id assigned here) and resolves with the server's answer to it. */
  async request(frame: DistributiveOmit<ClientFrame, 'id'>): Promise<ServerFrame> {
    const id = this.nextId++
    const start = this.frames.length
    this.ws.send(encodeFrame({ ...frame, id } as ClientFrame))
    let answer: ServerFrame | undefined
    await this.waitFor(() => {
      answer = this.frames
        .slice(start)
        .find((f) => f.id === id && f.type !== 'deliver' && f.type !== 'challenge')
      return answer !== undefined || this.closeCode !== null
    }, `answer to request ${id}`)
    if (answer === undefined) throw new Error(`connection closed (${this.closeCode}) before answering`)
    return answer
  }

  authFrame(deviceId: string, key: TestKey): DistributiveOmit<ClientFrame, 'id'> {
    return { type: 'auth', deviceId, signature: key.sign(buildDeviceAuthMessage(this.challenge!, deviceId)) }
  }

  async auth(deviceId: string, key: TestKey): Promise<ServerFrame> {
    return this.request(this.authFrame(deviceId, key))
  }

  async close(): Promise<void> {
    if (this.closeCode !== null) return
    this.ws.close()
    await this.waitFor(() => this.closeCode !== null, 'close').catch(() => this.ws.terminate())
  }
}
