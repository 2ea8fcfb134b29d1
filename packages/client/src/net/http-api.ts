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
import { MAX_LOOKUP_HANDLES } from '@tacit/protocol/wire/limits'
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

/** A directory entry as `GET /v1/accounts/{handle}` and the batch lookup answer it. */
function directoryAccountOf(r: Json): DirectoryAccount {
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

function claimedOf(value: unknown): ClaimedKeyPackage[] {
  const list = Array.isArray(value) ? (value as Json[]) : []
  return list.map((k) => ({
    deviceId: String(k.deviceId),
    keyPackage: unb64(k.keyPackage, 'keyPackage'),
    lastResort: k.lastResort === true,
  }))
}

export class HttpApi {
  private sessionToken: string | null = null
  private sessionExpiresAt = 0
  private deviceId: string | null = null
  private signer: Signer | null = null
  private opening: Promise<string> | null = null

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
    const response = await this.exchange(method, path, {
      headers,
      ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
      ...(token !== undefined ? { token } : {}),
    })
    return response.json
  }

  /**
   * One bounded request: the whole answer is read before the timeout ends. Error answers become
   * `ClientError('server')` with the server's code; a success answer is parsed as JSON if any.
   */
  private async exchange(
    method: string,
    path: string,
    init: { headers?: Record<string, string>; body?: string | Uint8Array; token?: string },
  ): Promise<{ json: Json; headers: Headers }> {
    const headers: Record<string, string> = { ...(init.headers ?? {}) }
    if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`
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
          // A Uint8Array is a valid body; the DOM typings want an ArrayBuffer-backed one.
          ...(init.body !== undefined ? { body: init.body as BodyInit } : {}),
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
    if (!response.ok) throw serverErrorOf(method, path, response.status, body)
    return { json: body, headers: response.headers }
  }

  async challenge(): Promise<Uint8Array> {
    return unb64((await this.raw('POST', '/v1/challenges')).challenge, 'challenge')
  }

  /**
   * Concurrent requests (directory lookups run in parallel) share one session: the first opens
   * it, the others wait for that instead of each signing a challenge of its own.
   */
  private openSession(): Promise<string> {
    if (!this.opening) {
      this.opening = this.openSessionOnce().finally(() => {
        this.opening = null
      })
    }
    return this.opening
  }

  private async openSessionOnce(): Promise<string> {
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
    return this.withSession((token) => this.raw(method, path, json, token))
  }

  /** Runs `call` with a live session token; once more with a fresh one if the server says expired. */
  private async withSession<T>(call: (token: string) => Promise<T>): Promise<T> {
    // A minute of slack so a session does not expire between our check and the server's.
    let token =
      this.sessionToken !== null && this.sessionExpiresAt > this.now() + 60_000
        ? this.sessionToken
        : await this.openSession()
    try {
      return await call(token)
    } catch (error) {
      if (!ClientError.isServer(error, 'unauthenticated')) throw error
      token = await this.openSession()
      return call(token)
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
    return directoryAccountOf(r)
  }

  /**
   * The key directory's entries for distinct `handles`, in their order (null: no such account),
   * MAX_LOOKUP_HANDLES per request (`POST /v1/accounts/lookup`). An answer that does not match
   * the request entry by entry is `malformed`.
   */
  async getAccounts(handles: readonly string[]): Promise<(DirectoryAccount | null)[]> {
    const out: (DirectoryAccount | null)[] = []
    for (let i = 0; i < handles.length; i += MAX_LOOKUP_HANDLES) {
      const chunk = handles.slice(i, i + MAX_LOOKUP_HANDLES)
      const r = await this.authed('POST', '/v1/accounts/lookup', { handles: chunk })
      const accounts = Array.isArray(r.accounts) ? (r.accounts as (Json | null)[]) : []
      if (accounts.length !== chunk.length) {
        throw new ClientError('malformed', 'the lookup answer does not have one entry per handle')
      }
      for (const [k, entry] of accounts.entries()) {
        if (entry === null) {
          out.push(null)
          continue
        }
        const account = directoryAccountOf(entry)
        if (account.handle !== chunk[k])
          throw new ClientError('malformed', 'the lookup answer is out of order')
        out.push(account)
      }
    }
    return out
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

  /**
   * One KeyPackage per live device of each handle, in one request (the server claims them all
   * or, for an unknown handle, none). At most MAX_CLAIM_HANDLES distinct handles.
   */
  async claimKeyPackagesBatch(handles: readonly string[]): Promise<Map<string, ClaimedKeyPackage[]>> {
    const r = await this.authed('POST', '/v1/key-packages/claim', { handles })
    const accounts = Array.isArray(r.accounts) ? (r.accounts as Json[]) : []
    const out = new Map<string, ClaimedKeyPackage[]>()
    for (const a of accounts) {
      const handle = String(a.handle)
      if (handles.includes(handle)) out.set(handle, claimedOf(a.keyPackages))
    }
    for (const h of handles) {
      if (!out.has(h)) throw new ClientError('malformed', `the claim answer lacks ${h}`)
    }
    return out
  }

  // -----------------------------------------------------------------------------------------
  // Blobs (docs/protocol/server.md §3.5): the ciphertext of files, uploaded at explicit offsets.

  /** Starts an upload of `size` blob bytes (counted against the account's quota at once). */
  async createBlob(size: number): Promise<BlobStatus> {
    return blobStatusOf(await this.authed('POST', '/v1/blobs', { size }))
  }

  /** Where an upload stands (uploader only); null when the server has no such blob (expired). */
  async blobStatus(blobId: string): Promise<BlobStatus | null> {
    try {
      return blobStatusOf(await this.authed('GET', `/v1/blobs/${encodeURIComponent(blobId)}/upload`))
    } catch (error) {
      if (ClientError.isServer(error, 'not-found')) return null
      throw error
    }
  }

  /** Appends `bytes` at `offset`; the server stores the request whole or not at all. */
  async appendBlob(blobId: string, offset: number, bytes: Uint8Array): Promise<BlobStatus> {
    return this.withSession(async (token) => {
      const r = await this.exchange('PATCH', `/v1/blobs/${encodeURIComponent(blobId)}`, {
        headers: { 'content-type': 'application/offset+octet-stream', 'upload-offset': String(offset) },
        body: bytes,
        token,
      })
      return blobStatusOf(r.json)
    })
  }

  /** Deletes an upload of ours (frees the quota). */
  async deleteBlob(blobId: string): Promise<void> {
    await this.authed('DELETE', `/v1/blobs/${encodeURIComponent(blobId)}`)
  }

  /**
   * Opens the blob from byte `offset` (an RFC 9110 §14.1.2 range when offset > 0) and returns
   * the body as it arrives. Waiting for the answer's headers is bounded by REQUEST_TIMEOUT_MS;
   * the caller bounds the gaps between body pieces and aborts `signal` to stop.
   */
  async openBlob(
    blobId: string,
    offset: number,
    signal: AbortSignal,
  ): Promise<{ body: ReadableStream<Uint8Array>; total: number }> {
    return this.withSession(async (token) => {
      const headers: Record<string, string> = { authorization: `Bearer ${token}` }
      if (offset > 0) headers.range = `bytes=${offset}-`
      const controller = new AbortController()
      const onAbort = () => controller.abort()
      signal.addEventListener('abort', onAbort, { once: true })
      const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS)
      const path = `/v1/blobs/${encodeURIComponent(blobId)}`
      let response: Response
      try {
        response = await this.transport.fetch(
          new Request(new URL(path, this.serverUrl), { method: 'GET', headers, signal: controller.signal }),
        )
      } catch (cause) {
        signal.removeEventListener('abort', onAbort)
        throw new ClientError(controller.signal.aborted ? 'timeout' : 'network', `GET ${path} failed`, {
          cause,
        })
      } finally {
        clearTimeout(timer)
      }
      if (!response.ok || response.body === null) {
        signal.removeEventListener('abort', onAbort)
        let body: Json = {}
        try {
          body = JSON.parse(await response.text()) as Json
        } catch {
          body = {}
        }
        throw serverErrorOf('GET', path, response.status, body)
      }
      const expected = offset > 0 ? 206 : 200
      if (response.status !== expected) {
        controller.abort()
        throw new ClientError('malformed', `GET ${path}: status ${response.status}, expected ${expected}`)
      }
      const range = response.headers.get('content-range')
      const total =
        offset > 0
          ? Number(/\/(\d+)$/.exec(range ?? '')?.[1] ?? Number.NaN)
          : Number(response.headers.get('content-length'))
      if (offset > 0 && !(range ?? '').startsWith(`bytes ${offset}-`)) {
        controller.abort()
        throw new ClientError('malformed', `GET ${path}: the range answered is not the one asked`)
      }
      return { body: response.body, total }
    })
  }
}

export interface BlobStatus {
  readonly blobId: string
  /** The declared blob size. */
  readonly size: number
  /** Bytes the server holds; the next upload request starts here. */
  readonly offset: number
  readonly complete: boolean
  readonly expiresAt: number
}

function blobStatusOf(r: Json): BlobStatus {
  const blobId = r.blobId
  const size = r.size
  const offset = r.offset
  if (
    typeof blobId !== 'string' ||
    !Number.isSafeInteger(size) ||
    !Number.isSafeInteger(offset) ||
    (offset as number) < 0 ||
    (offset as number) > (size as number)
  ) {
    throw new ClientError('malformed', 'the server answered a blob status that does not decode')
  }
  return {
    blobId,
    size: size as number,
    offset: offset as number,
    complete: r.complete === true,
    expiresAt: Number(r.expiresAt),
  }
}

function serverErrorOf(method: string, path: string, status: number, body: Json): ClientError {
  const error = (body.error ?? {}) as { code?: string; message?: string; currentEpoch?: string }
  return new ClientError('server', `${method} ${path}: ${error.code ?? status}`, {
    serverCode: error.code ?? `http-${status}`,
    ...(error.currentEpoch !== undefined ? { currentEpoch: BigInt(error.currentEpoch) } : {}),
  })
}
