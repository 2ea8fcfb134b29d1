/**
 * The delivery service's HTTP API (docs/protocol/server.md §3), as the SDK uses it. Every call
 * is bounded by REQUEST_TIMEOUT_MS; server errors become `ClientError('server')` carrying the
 * server's stable code. Bearer sessions are opened on demand by signing a fresh challenge with
 * the device's Ed25519 auth key, and re-opened once when the server says the session expired.
 */
import {
  buildAddDeviceMessage,
  buildDeviceAuthMessage,
  buildRegisterMessage,
} from '@tacit/protocol/wire/auth-messages'
import { base64urlToBytes, bytesToBase64url } from '@tacit/protocol/wire/encoding'
import { ClientError } from '../errors.ts'
import { REQUEST_TIMEOUT_MS } from '../limits.ts'
import type { Transport } from './transport.ts'

export type Signer = (message: Uint8Array) => Promise<Uint8Array>

type Json = Record<string, unknown>

export interface DirectoryDevice {
  /** The server's id for the device (its mailbox). */
  readonly deviceId: string
  readonly signatureKey: Uint8Array
  /** The Tacit credential the device registered with (opaque to the server). */
  readonly credential: Uint8Array
  readonly createdAt: number
}

export interface DirectoryAccount {
  readonly handle: string
  readonly identityKey: Uint8Array
  readonly devices: readonly DirectoryDevice[]
}

export interface ClaimedKeyPackage {
  readonly deviceId: string
  readonly keyPackage: Uint8Array
  readonly lastResort: boolean
}

export interface SignedBinding {
  readonly handle: string
  readonly identityKey: Uint8Array
  readonly signatureKey: Uint8Array
  readonly credential: Uint8Array
}

const b64 = bytesToBase64url
const unb64 = (value: unknown, field: string) => {
  if (typeof value !== 'string') throw new ClientError('malformed', `server answer lacks ${field}`)
  return base64urlToBytes(value, field)
}

export class HttpApi {
  private sessionToken: string | null = null
  private sessionExpiresAt = 0
  private deviceId: string | null = null
  private signer: Signer | null = null

  constructor(
    readonly serverUrl: string,
    private readonly transport: Transport,
    private readonly now: () => number,
  ) {}

  /** After registration or open: who we are, and how to sign a session challenge. */
  setDevice(deviceId: string, signer: Signer, session?: { token: string; expiresAt: number }): void {
    this.deviceId = deviceId
    this.signer = signer
    if (session) {
      this.sessionToken = session.token
      this.sessionExpiresAt = session.expiresAt
    }
  }

  private async raw(method: string, path: string, json?: unknown, token?: string): Promise<Json> {
    const headers: Record<string, string> = {}
    if (json !== undefined) headers['content-type'] = 'application/json'
    if (token !== undefined) headers.authorization = `Bearer ${token}`
    const controller = new AbortController()
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS)
    let response: Response
    let text: string
    try {
      response = await this.transport.fetch(
        new Request(new URL(path, this.serverUrl), {
          method,
          headers,
          signal: controller.signal,
          ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
        }),
      )
      text = await response.text()
    } catch (cause) {
      throw new ClientError(controller.signal.aborted ? 'timeout' : 'network', `${method} ${path} failed`, {
        cause,
      })
    } finally {
      clearTimeout(timer)
    }
    let body: Json = {}
    if (text.length > 0) {
      try {
        body = JSON.parse(text) as Json
      } catch (cause) {
        throw new ClientError('malformed', `${method} ${path}: the answer is not JSON`, { cause })
      }
    }
    if (!response.ok) {
      const error = (body.error ?? {}) as { code?: string; message?: string; currentEpoch?: string }
      throw new ClientError('server', `${method} ${path}: ${error.code ?? response.status}`, {
        serverCode: error.code ?? `http-${response.status}`,
        ...(error.currentEpoch !== undefined ? { currentEpoch: BigInt(error.currentEpoch) } : {}),
      })
    }
    return body
  }

  async challenge(): Promise<Uint8Array> {
    return unb64((await this.raw('POST', '/v1/challenges')).challenge, 'challenge')
  }

  private async openSession(): Promise<string> {
    if (this.deviceId === null || this.signer === null) {
      throw new ClientError('not-registered', 'no device to open a session for')
    }
    const challenge = await this.challenge()
    const signature = await this.signer(buildDeviceAuthMessage(challenge, this.deviceId))
    const r = await this.raw('POST', '/v1/sessions', {
      deviceId: this.deviceId,
      challenge: b64(challenge),
      signature: b64(signature),
    })
    this.sessionToken = String(r.sessionToken)
    this.sessionExpiresAt = Number(r.sessionExpiresAt)
    return this.sessionToken
  }

  /** A bearer request; opens (or re-opens once) the session as needed. */
  private async authed(method: string, path: string, json?: unknown): Promise<Json> {
    // A minute of slack so a session does not expire between our check and the server's.
    let token =
      this.sessionToken !== null && this.sessionExpiresAt > this.now() + 60_000
        ? this.sessionToken
        : await this.openSession()
    try {
      return await this.raw(method, path, json, token)
    } catch (error) {
      if (!ClientError.isServer(error, 'unauthenticated')) throw error
      token = await this.openSession()
      return this.raw(method, path, json, token)
    }
  }

  async registerAccount(params: {
    invite: string
    binding: Omit<SignedBinding, never>
    signIdentity: Signer
    signDevice: Signer
  }): Promise<{ deviceId: string; sessionToken: string; sessionExpiresAt: number }> {
    const challenge = await this.challenge()
    const message = buildRegisterMessage({ challenge, ...params.binding })
    const r = await this.raw('POST', '/v1/accounts', {
      invite: params.invite,
      handle: params.binding.handle,
      identityKey: b64(params.binding.identityKey),
      challenge: b64(challenge),
      device: { signatureKey: b64(params.binding.signatureKey), credential: b64(params.binding.credential) },
      identitySignature: b64(await params.signIdentity(message)),
      deviceSignature: b64(await params.signDevice(message)),
    })
    return {
      deviceId: String(r.deviceId),
      sessionToken: String(r.sessionToken),
      sessionExpiresAt: Number(r.sessionExpiresAt),
    }
  }

  async addDevice(params: {
    binding: SignedBinding
    signIdentity: Signer
    signDevice: Signer
  }): Promise<{ deviceId: string; sessionToken: string; sessionExpiresAt: number }> {
    const challenge = await this.challenge()
    const message = buildAddDeviceMessage({ challenge, ...params.binding })
    const r = await this.raw('POST', `/v1/accounts/${encodeURIComponent(params.binding.handle)}/devices`, {
      challenge: b64(challenge),
      device: { signatureKey: b64(params.binding.signatureKey), credential: b64(params.binding.credential) },
      identitySignature: b64(await params.signIdentity(message)),
      deviceSignature: b64(await params.signDevice(message)),
    })
    return {
      deviceId: String(r.deviceId),
      sessionToken: String(r.sessionToken),
      sessionExpiresAt: Number(r.sessionExpiresAt),
    }
  }

  /** The key directory's entry for a handle, or null when there is no such account. */
  async getAccount(handle: string): Promise<DirectoryAccount | null> {
    let r: Json
    try {
      r = await this.authed('GET', `/v1/accounts/${encodeURIComponent(handle)}`)
    } catch (error) {
      if (ClientError.isServer(error, 'not-found')) return null
      throw error
    }
    const devices = Array.isArray(r.devices) ? (r.devices as Json[]) : []
    return {
      handle: String(r.handle),
      identityKey: unb64(r.identityKey, 'identityKey'),
      devices: devices.map((d) => ({
        deviceId: String(d.deviceId),
        signatureKey: unb64(d.signatureKey, 'signatureKey'),
        credential: unb64(d.credential, 'credential'),
        createdAt: Number(d.createdAt),
      })),
    }
  }

  async revokeDevice(deviceId: string): Promise<void> {
    await this.authed('DELETE', `/v1/devices/${encodeURIComponent(deviceId)}`)
  }

  async uploadKeyPackages(oneTime: readonly Uint8Array[], lastResort: Uint8Array | null): Promise<number> {
    const r = await this.authed('POST', '/v1/key-packages', {
      oneTime: oneTime.map(b64),
      lastResort: lastResort === null ? null : b64(lastResort),
    })
    return Number(r.oneTimeCount)
  }

  async countKeyPackages(): Promise<number> {
    return Number((await this.authed('GET', '/v1/key-packages/count')).oneTimeCount)
  }

  async claimKeyPackages(handle: string): Promise<ClaimedKeyPackage[]> {
    const r = await this.authed('POST', '/v1/key-packages/claim', { handle })
    const list = Array.isArray(r.keyPackages) ? (r.keyPackages as Json[]) : []
    return list.map((k) => ({
      deviceId: String(k.deviceId),
      keyPackage: unb64(k.keyPackage, 'keyPackage'),
      lastResort: k.lastResort === true,
    }))
  }
}
