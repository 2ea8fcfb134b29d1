/**
 * A minimal Tacit device for cross-process tests and the relay benchmark: registers over HTTP,
 * authenticates its WebSocket with a signed challenge, sends envelopes, receives and acknowledges
 * them. It speaks only the wire format (`@tacit/protocol/wire/*`), never the server's internals.
 */
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto'
import {
  buildAddDeviceMessage,
  buildDeviceAuthMessage,
  buildRegisterMessage,
} from '@tacit/protocol/wire/auth-messages'
import { base64urlToBytes, bytesToBase64url } from '@tacit/protocol/wire/encoding'
import { decodeServerFrame, encodeFrame, type ServerFrame } from '@tacit/protocol/wire/frames'
import WebSocket from 'ws'

/** Where the server takes WebSocket connections (docs/protocol/server.md §WebSocket). */
export const WS_PATH = '/v1/ws'
/** Seqs acknowledged in one ack frame (≤ MAX_ACK_SEQS). */
export const ACK_BATCH = 256

export interface DeviceIdentity {
  readonly handle: string
  readonly deviceId: string
  readonly deviceKey: KeyObject
}

function rawPublicKey(key: KeyObject): Uint8Array {
  const jwk = key.export({ format: 'jwk' }) as { x: string }
  return base64urlToBytes(jwk.x, 'public key')
}

async function postJson(baseUrl: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? '' : JSON.stringify(body),
  })
  const json = (await response.json()) as Record<string, unknown>
  if (!response.ok) throw new Error(`${path}: ${response.status} ${String(json.code ?? '')}`)
  return json
}

/**
 * Registers an account under `invite` with `devices` devices (the first by registration, the
 * others added with the identity key's signature). Keys never leave this process.
 */
export async function registerAccountDevices(
  baseUrl: string,
  invite: string,
  handle: string,
  devices: number,
): Promise<DeviceIdentity[]> {
  const identity = generateKeyPairSync('ed25519')
  const identityKey = rawPublicKey(identity.publicKey)
  const out: DeviceIdentity[] = []
  for (let i = 0; i < devices; i++) {
    const device = generateKeyPairSync('ed25519')
    const { challenge } = (await postJson(baseUrl, '/v1/challenges', undefined)) as { challenge: string }
    const credential = new TextEncoder().encode(`test-credential:${handle}:${i}`)
    const binding = {
      challenge: base64urlToBytes(challenge, 'challenge'),
      handle,
      identityKey,
      signatureKey: rawPublicKey(device.publicKey),
      credential,
    }
    const message = i === 0 ? buildRegisterMessage(binding) : buildAddDeviceMessage(binding)
    const body = {
      handle,
      identityKey: bytesToBase64url(identityKey),
      challenge,
      device: {
        signatureKey: bytesToBase64url(binding.signatureKey),
        credential: bytesToBase64url(credential),
      },
      identitySignature: bytesToBase64url(sign(null, message, identity.privateKey)),
      deviceSignature: bytesToBase64url(sign(null, message, device.privateKey)),
    }
    const registered = (
      i === 0
        ? await postJson(baseUrl, '/v1/accounts', { ...body, invite })
        : await postJson(baseUrl, `/v1/accounts/${handle}/devices`, body)
    ) as { deviceId: string }
    out.push({ handle, deviceId: registered.deviceId, deviceKey: device.privateKey })
  }
  return out
}

export interface ConnectionHandlers {
  /** An envelope arrived; the connection acknowledges it (batched) after this returns. */
  onDeliver(seq: bigint, payload: Uint8Array): void
  onClose?(): void
}

/** One authenticated WebSocket of one device. */
export class TacitConnection {
  #nextId = 1
  readonly #waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>()
  #acks: bigint[] = []
  #ackScheduled = false
  #closed = false

  private constructor(
    readonly socket: WebSocket,
    readonly deviceId: string,
    private readonly handlers: ConnectionHandlers,
  ) {}

  static open(wsUrl: string, device: DeviceIdentity, handlers: ConnectionHandlers): Promise<TacitConnection> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(`${wsUrl}${WS_PATH}`, { perMessageDeflate: false })
      socket.binaryType = 'nodebuffer'
      const connection = new TacitConnection(socket, device.deviceId, handlers)
      let authenticated = false
      socket.once('error', (error) => reject(error))
      socket.on('close', () => {
        connection.#closed = true
        for (const w of connection.#waiting.values()) w.reject(new Error('connection closed'))
        connection.#waiting.clear()
        if (!authenticated) reject(new Error('closed before auth-ok'))
        handlers.onClose?.()
      })
      socket.on('message', (data: Buffer) => {
        let frame: ServerFrame
        try {
          frame = decodeServerFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
        } catch (error) {
          socket.terminate()
          reject(error)
          return
        }
        if (frame.type === 'challenge') {
          const message = buildDeviceAuthMessage(frame.challenge, device.deviceId)
          const signature = new Uint8Array(sign(null, message, device.deviceKey))
          socket.send(encodeFrame({ type: 'auth', id: 0, deviceId: device.deviceId, signature }))
        } else if (frame.type === 'auth-ok') {
          authenticated = true
          socket.on('error', () => {})
          resolve(connection)
        } else connection.#onFrame(frame, reject)
      })
    })
  }

  get closed(): boolean {
    return this.#closed
  }

  #onFrame(frame: ServerFrame, rejectOpen: (e: Error) => void): void {
    switch (frame.type) {
      case 'deliver':
        this.handlers.onDeliver(frame.seq, frame.payload)
        this.#acks.push(frame.seq)
        if (this.#acks.length >= ACK_BATCH) this.#flushAcks()
        else if (!this.#ackScheduled) {
          this.#ackScheduled = true
          setImmediate(() => this.#flushAcks())
        }
        return
      case 'send-ok':
      case 'commit-ok':
      case 'ack-ok': {
        const w = this.#waiting.get(frame.id)
        this.#waiting.delete(frame.id)
        w?.resolve()
        return
      }
      case 'error': {
        const error = new Error(`server error ${frame.code}: ${frame.message}`)
        if (frame.id === 0) rejectOpen(error)
        const w = this.#waiting.get(frame.id)
        this.#waiting.delete(frame.id)
        w?.reject(error)
        return
      }
      default:
        return
    }
  }

  #flushAcks(): void {
    this.#ackScheduled = false
    if (this.#acks.length === 0 || this.#closed) return
    const seqs = this.#acks
    this.#acks = []
    const id = this.#take()
    this.#waiting.set(id, { resolve: () => {}, reject: () => {} })
    this.socket.send(encodeFrame({ type: 'ack', id, seqs }))
  }

  #take(): number {
    const id = this.#nextId
    this.#nextId = this.#nextId >= 0xffffffff ? 1 : this.#nextId + 1
    return id
  }

  /** Resolves on `send-ok`: the server says the envelope is durable. */
  send(recipients: readonly string[], payload: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('connection closed'))
    const id = this.#take()
    const done = new Promise<void>((resolve, reject) => this.#waiting.set(id, { resolve, reject }))
    this.socket.send(encodeFrame({ type: 'send', id, ttlSeconds: 0, recipients, payload }))
    return done
  }

  close(): void {
    this.socket.terminate()
  }
}
