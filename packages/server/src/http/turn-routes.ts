/**
 * Short-lived TURN credentials for calls (docs/operations.md §Calls: TURN (coturn)), in coturn's
 * "TURN REST API" scheme (draft-uberti-behave-turn-rest-00 §2.2, coturn's `use-auth-secret`):
 *
 *   username   = "<expiry as Unix seconds>:<opaque id>"
 *   credential = base64(HMAC-SHA1(shared secret, username))
 *
 * coturn recomputes the credential from the username with the same secret and refuses it after
 * the expiry, so nothing is stored here and a leaked credential dies on its own. The opaque id is
 * random per request: the TURN server's logs cannot tie an allocation to an account.
 */
import { createHmac, randomBytes } from 'node:crypto'
import type { ServerContext } from '../context.ts'
import { authenticateRequest } from './auth.ts'
import { jsonResponse } from './json.ts'

export interface TurnConfig {
  /** `turn:` / `turns:` URLs handed to clients as one ICE server. */
  readonly urls: readonly string[]
  /** coturn's `static-auth-secret`. */
  readonly secret: Uint8Array
  readonly ttlSeconds: number
}

export const DEFAULT_TURN_TTL_SECONDS = 3600
/** Random bytes of the opaque part of a username. */
const OPAQUE_ID_BYTES = 12

export function turnCredentialFor(secret: Uint8Array, username: string): string {
  return createHmac('sha1', secret).update(username, 'utf8').digest('base64')
}

/** GET /v1/turn-credentials: one ICE server with fresh credentials, or none if TURN is not set up. */
export async function issueTurnCredentials(ctx: ServerContext, request: Request): Promise<Response> {
  await authenticateRequest(ctx, request)
  const turn = ctx.policy.turn ?? null
  if (turn === null || turn.urls.length === 0) return jsonResponse(200, { iceServers: [], expiresAt: 0 })
  const expiry = Math.floor(ctx.now() / 1000) + turn.ttlSeconds
  const username = `${expiry}:${randomBytes(OPAQUE_ID_BYTES).toString('base64url')}`
  ctx.metrics.increment('tacit_turn_credentials_total', 'TURN credentials handed out')
  return jsonResponse(200, {
    iceServers: [{ urls: turn.urls, username, credential: turnCredentialFor(turn.secret, username) }],
    expiresAt: expiry * 1000,
  })
}
