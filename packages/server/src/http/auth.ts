/**
 * Bearer sessions on HTTP. A session token is 32 random bytes handed out after the device
 * proved its key (WebSocket `auth-ok`, `POST /v1/sessions`, registration); the server keeps
 * only its SHA-256 hash, and a revoked device's sessions are deleted with it.
 */
import { base64urlLength, base64urlToBytes, bytesToBase64url } from '@tacit/protocol/wire/encoding'
import { WireError } from '@tacit/protocol/wire/errors'
import { SESSION_TOKEN_BYTES } from '@tacit/protocol/wire/limits'
import type { ServerContext } from '../context.ts'
import { hashSecret, randomSecret } from '../secrets.ts'
import type { Device } from '../storage/storage.ts'

const TOKEN_CHARS = base64urlLength(SESSION_TOKEN_BYTES)

export async function authenticateRequest(ctx: ServerContext, request: Request): Promise<Device> {
  const header = request.headers.get('authorization')
  if (header === null)
    throw new WireError('unauthenticated', 'an Authorization: Bearer session token is required')
  const match = /^Bearer ([A-Za-z0-9_-]+)$/.exec(header)
  if (match === null || match[1]!.length !== TOKEN_CHARS) {
    throw new WireError('unauthenticated', 'the session token is malformed')
  }
  let token: Uint8Array
  try {
    token = base64urlToBytes(match[1]!, 'session token')
  } catch {
    throw new WireError('unauthenticated', 'the session token is malformed')
  }
  const deviceId = await ctx.storage.getSessionDevice(hashSecret(token), ctx.now())
  if (deviceId === null) throw new WireError('unauthenticated', 'the session is unknown or expired')
  const device = await ctx.storage.getDevice(deviceId)
  if (device === null) throw new WireError('unauthenticated', 'the session is unknown or expired')
  if (device.revokedAt !== null) throw new WireError('device-revoked', 'this device is revoked')
  return device
}

/** Creates a session for a device that just proved its key; returns the token (only place it exists). */
export async function openSession(
  ctx: ServerContext,
  deviceId: string,
): Promise<{ sessionToken: Uint8Array; sessionExpiresAt: number }> {
  const sessionToken = randomSecret(SESSION_TOKEN_BYTES)
  const sessionExpiresAt = ctx.now() + ctx.policy.sessionTtlMs
  await ctx.storage.createSession(hashSecret(sessionToken), deviceId, sessionExpiresAt)
  return { sessionToken, sessionExpiresAt }
}

export function sessionJson(session: { sessionToken: Uint8Array; sessionExpiresAt: number }): {
  sessionToken: string
  sessionExpiresAt: number
} {
  return { sessionToken: bytesToBase64url(session.sessionToken), sessionExpiresAt: session.sessionExpiresAt }
}
