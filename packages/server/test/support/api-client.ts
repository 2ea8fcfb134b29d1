/**
 * A tiny client of the HTTP API for tests: it speaks to anything with a `fetch(Request)` —
 * the in-process app or a real server over the network.
 */
import {
  buildAddDeviceMessage,
  buildDeviceAuthMessage,
  buildRegisterMessage,
} from '@tacit/protocol/wire/auth-messages'
import { base64urlToBytes, bytesToBase64url } from '@tacit/protocol/wire/encoding'
import { generateTestKey, type TestKey } from './keys.ts'

export type Fetch = (request: Request) => Promise<Response>

export interface TestDevice {
  readonly handle: string
  readonly deviceId: string
  readonly key: TestKey
  readonly identity: TestKey
  readonly token: string
}

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly doFetch: Fetch,
  ) {}

  async request(
    method: string,
    path: string,
    options: { json?: unknown; token?: string; body?: Uint8Array; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; body: Record<string, unknown> | null; headers: Headers; bytes: Uint8Array }> {
    const headers: Record<string, string> = { ...options.headers }
    let body: BodyInit | undefined
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json'
      body = JSON.stringify(options.json)
    } else if (options.body !== undefined) {
      headers['content-type'] ??= 'application/octet-stream'
      body = options.body as Uint8Array<ArrayBuffer>
    }
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
    const response = await this.doFetch(
      new Request(this.baseUrl + path, { method, headers, ...(body ? { body } : {}) }),
    )
    const bytes = new Uint8Array(await response.arrayBuffer())
    let parsed: Record<string, unknown> | null = null
    if ((response.headers.get('content-type') ?? '').startsWith('application/json')) {
      parsed = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>
    }
    return { status: response.status, body: parsed, headers: response.headers, bytes }
  }

  async challenge(): Promise<Uint8Array> {
    const r = await this.request('POST', '/v1/challenges')
    return base64urlToBytes(String(r.body?.challenge), 'challenge')
  }

  /** The registration body, signed; `mutate` lets a test break it. */
  async registrationBody(
    invite: string,
    handle: string,
    identity: TestKey,
    key: TestKey,
    credential = Uint8Array.of(1, 2, 3),
  ) {
    const challenge = await this.challenge()
    const message = buildRegisterMessage({
      challenge,
      handle,
      identityKey: identity.publicKey,
      signatureKey: key.publicKey,
      credential,
    })
    return {
      invite,
      handle,
      identityKey: bytesToBase64url(identity.publicKey),
      challenge: bytesToBase64url(challenge),
      device: { signatureKey: bytesToBase64url(key.publicKey), credential: bytesToBase64url(credential) },
      identitySignature: bytesToBase64url(identity.sign(message)),
      deviceSignature: bytesToBase64url(key.sign(message)),
    }
  }

  async register(invite: string, handle: string): Promise<TestDevice> {
    const identity = generateTestKey()
    const key = generateTestKey()
    const r = await this.request('POST', '/v1/accounts', {
      json: await this.registrationBody(invite, handle, identity, key),
    })
    if (r.status !== 201) throw new Error(`register failed: ${r.status} ${JSON.stringify(r.body)}`)
    return { handle, deviceId: String(r.body!.deviceId), key, identity, token: String(r.body!.sessionToken) }
  }

  async addDevice(owner: TestDevice): Promise<TestDevice> {
    const key = generateTestKey()
    const credential = Uint8Array.of(9)
    const challenge = await this.challenge()
    const message = buildAddDeviceMessage({
      challenge,
      handle: owner.handle,
      identityKey: owner.identity.publicKey,
      signatureKey: key.publicKey,
      credential,
    })
    const r = await this.request('POST', `/v1/accounts/${owner.handle}/devices`, {
      json: {
        challenge: bytesToBase64url(challenge),
        device: { signatureKey: bytesToBase64url(key.publicKey), credential: bytesToBase64url(credential) },
        identitySignature: bytesToBase64url(owner.identity.sign(message)),
        deviceSignature: bytesToBase64url(key.sign(message)),
      },
    })
    if (r.status !== 201) throw new Error(`add device failed: ${r.status} ${JSON.stringify(r.body)}`)
    return {
      handle: owner.handle,
      deviceId: String(r.body!.deviceId),
      key,
      identity: owner.identity,
      token: String(r.body!.sessionToken),
    }
  }

  async session(device: TestDevice): Promise<{ status: number; body: Record<string, unknown> | null }> {
    const challenge = await this.challenge()
    return this.request('POST', '/v1/sessions', {
      json: {
        deviceId: device.deviceId,
        challenge: bytesToBase64url(challenge),
        signature: bytesToBase64url(device.key.sign(buildDeviceAuthMessage(challenge, device.deviceId))),
      },
    })
  }
}
