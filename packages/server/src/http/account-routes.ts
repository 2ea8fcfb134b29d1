/**
 * Challenges, accounts, devices and sessions over HTTP (docs/protocol/server.md §Accounts).
 *
 * Registration and adding a device present a `DeviceBinding` (handle, identity key, device
 * key, credential, server challenge) signed twice: by the identity key, which authorises the
 * device, and by the device key, which proves the device holds it. The challenge is consumed
 * before the signatures are checked, so each one is good for exactly one attempt.
 */
import {
  buildAddDeviceMessage,
  buildDeviceAuthMessage,
  buildRegisterMessage,
  type DeviceBinding,
} from '@tacit/protocol/wire/auth-messages'
import { bytesToBase64url, isId22 } from '@tacit/protocol/wire/encoding'
import { WireError } from '@tacit/protocol/wire/errors'
import {
  CHALLENGE_BYTES,
  DEVICE_ID_LENGTH,
  ED25519_PUBLIC_KEY_BYTES,
  ED25519_SIGNATURE_BYTES,
  HANDLE_PATTERN,
  MAX_CREDENTIAL_BYTES,
  MAX_DEVICES_PER_ACCOUNT,
  MAX_HANDLE_LENGTH,
  MAX_INVITE_CODE_LENGTH,
  MAX_LOOKUP_HANDLES,
} from '@tacit/protocol/wire/limits'
import type { ServerContext } from '../context.ts'
import { hashSecret, randomId, verifyEd25519 } from '../secrets.ts'
import type { Device } from '../storage/storage.ts'
import { authenticateRequest, openSession, sessionJson } from './auth.ts'
import { getArray, getBytes, getObject, getString, type Json, jsonResponse, readJson } from './json.ts'
import { chargeExtra } from './request-cost.ts'

export function checkHandle(handle: string): string {
  if (handle.length > MAX_HANDLE_LENGTH) {
    throw new WireError('too-large', `handle is above MAX_HANDLE_LENGTH (${MAX_HANDLE_LENGTH})`)
  }
  if (!HANDLE_PATTERN.test(handle)) {
    throw new WireError(
      'invalid-field',
      'handle must be 2-32 of a-z 0-9 . _ - and start with a letter or digit',
    )
  }
  return handle
}

/** `body.handles`: 1..`max` distinct valid handles (a batch claim or lookup). */
export function readHandleList(body: Json, max: number, maxName: string): string[] {
  const handles = getArray(body, 'handles', max, maxName, 1).map((v, i) => {
    if (typeof v !== 'string') throw new WireError('invalid-field', `handles[${i}] must be a string`)
    return checkHandle(v)
  })
  if (new Set(handles).size !== handles.length)
    throw new WireError('invalid-field', 'handles must not repeat a handle')
  return handles
}

export function issueChallenge(ctx: ServerContext): Response {
  const { challenge, expiresAt } = ctx.challenges.issue(ctx.now())
  return jsonResponse(200, { challenge: bytesToBase64url(challenge), expiresAt })
}

interface SignedBinding {
  readonly binding: DeviceBinding
  readonly identitySignature: Uint8Array
  readonly deviceSignature: Uint8Array
}

function readSignedBinding(body: Json, handle: string, identityKey: Uint8Array): SignedBinding {
  const device = getObject(body, 'device')
  return {
    binding: {
      challenge: getBytes(body, 'challenge', { length: CHALLENGE_BYTES }),
      handle,
      identityKey,
      signatureKey: getBytes(device, 'signatureKey', { length: ED25519_PUBLIC_KEY_BYTES }),
      credential: getBytes(device, 'credential', {
        max: MAX_CREDENTIAL_BYTES,
        maxName: 'MAX_CREDENTIAL_BYTES',
      }),
    },
    identitySignature: getBytes(body, 'identitySignature', { length: ED25519_SIGNATURE_BYTES }),
    deviceSignature: getBytes(body, 'deviceSignature', { length: ED25519_SIGNATURE_BYTES }),
  }
}

function verifyBinding(ctx: ServerContext, signed: SignedBinding, message: Uint8Array): void {
  if (!ctx.challenges.consume(signed.binding.challenge, ctx.now())) {
    throw new WireError('auth-failed', 'the challenge is unknown, used or expired; ask for a new one')
  }
  const okIdentity = verifyEd25519(signed.binding.identityKey, message, signed.identitySignature)
  const okDevice = verifyEd25519(signed.binding.signatureKey, message, signed.deviceSignature)
  if (!okIdentity || !okDevice) throw new WireError('auth-failed', 'a signature does not verify')
}

export async function registerAccount(ctx: ServerContext, request: Request): Promise<Response> {
  const body = await readJson(request)
  const invite = getString(body, 'invite', { max: MAX_INVITE_CODE_LENGTH, maxName: 'MAX_INVITE_CODE_LENGTH' })
  const handle = checkHandle(
    getString(body, 'handle', { max: MAX_HANDLE_LENGTH, maxName: 'MAX_HANDLE_LENGTH' }),
  )
  const identityKey = getBytes(body, 'identityKey', { length: ED25519_PUBLIC_KEY_BYTES })
  const signed = readSignedBinding(body, handle, identityKey)
  verifyBinding(ctx, signed, buildRegisterMessage(signed.binding))
  const now = ctx.now()
  const deviceId = randomId()
  await ctx.storage.registerAccount({
    codeHash: hashSecret(new TextEncoder().encode(invite)),
    account: { handle, identityKey, createdAt: now },
    device: {
      deviceId,
      handle,
      signatureKey: signed.binding.signatureKey,
      credential: signed.binding.credential,
      createdAt: now,
    },
    now,
  })
  const session = await openSession(ctx, deviceId)
  ctx.log.log('info', 'account.registered', { devices: 1 })
  ctx.metrics.increment('tacit_accounts_registered_total', 'Accounts registered')
  return jsonResponse(201, { handle, deviceId, ...sessionJson(session) })
}

export async function addDevice(
  ctx: ServerContext,
  request: Request,
  handleParam: string,
): Promise<Response> {
  const handle = checkHandle(handleParam)
  const body = await readJson(request)
  const account = await ctx.storage.getAccount(handle)
  // Read the body fully before answering not-found, so a missing account and a bad body cost the same.
  const signed = readSignedBinding(
    body,
    handle,
    account?.identityKey ?? new Uint8Array(ED25519_PUBLIC_KEY_BYTES),
  )
  if (account === null) {
    ctx.challenges.consume(signed.binding.challenge, ctx.now())
    throw new WireError('not-found', 'no such account')
  }
  verifyBinding(ctx, signed, buildAddDeviceMessage(signed.binding))
  const live = (await ctx.storage.listDevices(handle)).filter((d) => d.revokedAt === null)
  if (live.length >= MAX_DEVICES_PER_ACCOUNT) {
    throw new WireError(
      'limit-exceeded',
      `the account has MAX_DEVICES_PER_ACCOUNT (${MAX_DEVICES_PER_ACCOUNT}) devices`,
    )
  }
  const deviceId = randomId()
  await ctx.storage.addDevice({
    deviceId,
    handle,
    signatureKey: signed.binding.signatureKey,
    credential: signed.binding.credential,
    createdAt: ctx.now(),
  })
  const session = await openSession(ctx, deviceId)
  ctx.log.log('info', 'device.added', {})
  return jsonResponse(201, { deviceId, ...sessionJson(session) })
}

function deviceJson(d: Device): Json {
  return {
    deviceId: d.deviceId,
    signatureKey: bytesToBase64url(d.signatureKey),
    credential: bytesToBase64url(d.credential),
    createdAt: d.createdAt,
  }
}

export async function getAccount(
  ctx: ServerContext,
  request: Request,
  handleParam: string,
): Promise<Response> {
  await authenticateRequest(ctx, request)
  const entry = await directoryEntry(ctx, checkHandle(handleParam))
  if (entry === null) throw new WireError('not-found', 'no such account')
  return jsonResponse(200, entry)
}

/**
 * `{"handles": [...]}`: the directory entries of up to MAX_LOOKUP_HANDLES distinct handles in one
 * round trip (`{"accounts": [entry | null]}`, in request order, null for no such account), as a
 * member who learns of many new people at once (a Welcome, a large add) needs them. Each handle
 * costs what a single lookup would: batching saves round trips, not rate, so the directory is
 * enumerated no faster than one handle at a time.
 */
export async function lookupAccounts(ctx: ServerContext, request: Request): Promise<Response> {
  await authenticateRequest(ctx, request)
  const body = await readJson(request)
  const handles = readHandleList(body, MAX_LOOKUP_HANDLES, 'MAX_LOOKUP_HANDLES')
  chargeExtra(ctx, request, handles.length - 1)
  const accounts: (Json | null)[] = []
  for (const handle of handles) accounts.push(await directoryEntry(ctx, handle))
  return jsonResponse(200, { accounts })
}

/** A handle's directory entry: its identity key and live devices; null when there is no account. */
async function directoryEntry(ctx: ServerContext, handle: string): Promise<Json | null> {
  const account = await ctx.storage.getAccount(handle)
  if (account === null) return null
  const devices = (await ctx.storage.listDevices(handle)).filter((d) => d.revokedAt === null)
  return {
    handle,
    identityKey: bytesToBase64url(account.identityKey),
    createdAt: account.createdAt,
    devices: devices.map(deviceJson),
  }
}

export async function revokeDevice(
  ctx: ServerContext,
  request: Request,
  deviceId: string,
): Promise<Response> {
  const self = await authenticateRequest(ctx, request)
  if (!isId22(deviceId))
    throw new WireError('invalid-field', `deviceId must be ${DEVICE_ID_LENGTH} base64url characters`)
  const target = await ctx.storage.getDevice(deviceId)
  if (target === null) throw new WireError('not-found', 'no such device')
  if (target.handle !== self.handle)
    throw new WireError('forbidden', 'a device can revoke only devices of its own account')
  if (target.revokedAt === null) await ctx.storage.revokeDevice(deviceId, ctx.now())
  ctx.disconnectDevice(deviceId)
  ctx.log.log('info', 'device.revoked', {})
  return jsonResponse(200, { deviceId, revoked: true })
}

export async function createSession(ctx: ServerContext, request: Request): Promise<Response> {
  const body = await readJson(request)
  const deviceId = getString(body, 'deviceId', { max: DEVICE_ID_LENGTH, maxName: 'DEVICE_ID_LENGTH' })
  if (!isId22(deviceId))
    throw new WireError('invalid-field', `deviceId must be ${DEVICE_ID_LENGTH} base64url characters`)
  const challenge = getBytes(body, 'challenge', { length: CHALLENGE_BYTES })
  const signature = getBytes(body, 'signature', { length: ED25519_SIGNATURE_BYTES })
  const device = await verifyDeviceAuth(ctx, deviceId, challenge, signature, (c) =>
    ctx.challenges.consume(c, ctx.now()),
  )
  const session = await openSession(ctx, device.deviceId)
  return jsonResponse(201, { deviceId, ...sessionJson(session) })
}

/**
 * The device-auth check shared by `POST /v1/sessions` and the WebSocket `auth` frame. The
 * challenge is consumed first; unknown device, revoked device and bad signature all end in
 * the same `auth-failed` except revocation, which the device is told about.
 */
export async function verifyDeviceAuth(
  ctx: ServerContext,
  deviceId: string,
  challenge: Uint8Array,
  signature: Uint8Array,
  consume: (challenge: Uint8Array) => boolean,
): Promise<Device> {
  if (!consume(challenge)) throw new WireError('auth-failed', 'the challenge is unknown, used or expired')
  const device = await ctx.storage.getDevice(deviceId)
  if (
    device === null ||
    !verifyEd25519(device.signatureKey, buildDeviceAuthMessage(challenge, deviceId), signature)
  ) {
    throw new WireError('auth-failed', 'unknown device or bad signature')
  }
  if (device.revokedAt !== null) throw new WireError('device-revoked', 'this device is revoked')
  return device
}
