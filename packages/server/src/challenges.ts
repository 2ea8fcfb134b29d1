/**
 * Server challenges for the HTTP flows that need one (registration, adding a device, opening a
 * session): 32 random bytes, single-use, expiring, held in bounded memory. (WebSocket
 * connections get their own challenge in their first frame; see `ws/connection.ts`.)
 *
 * A challenge lives in the process that issued it; behind a load balancer with several
 * processes, the issue and the redemption must reach the same one (docs/operations.md).
 */
import { bytesToBase64url } from '@tacit/protocol/wire/encoding'
import { CHALLENGE_BYTES } from '@tacit/protocol/wire/limits'
import { randomSecret } from './secrets.ts'

export const MAX_PENDING_CHALLENGES = 50_000
export const CHALLENGE_TTL_MS = 60_000

export class ChallengeStore {
  /** base64url(challenge) → expiresAt; insertion order is expiry order (constant TTL). */
  private readonly pending = new Map<string, number>()

  constructor(
    private readonly ttlMs = CHALLENGE_TTL_MS,
    private readonly maxPending = MAX_PENDING_CHALLENGES,
  ) {}

  issue(now: number): { challenge: Uint8Array; expiresAt: number } {
    this.prune(now)
    if (this.pending.size >= this.maxPending) {
      // Full of live challenges: drop the oldest. Its holder gets auth-failed and asks again.
      const oldest = this.pending.keys().next().value
      if (oldest !== undefined) this.pending.delete(oldest)
    }
    const challenge = randomSecret(CHALLENGE_BYTES)
    const expiresAt = now + this.ttlMs
    this.pending.set(bytesToBase64url(challenge), expiresAt)
    return { challenge, expiresAt }
  }

  /** Consumes the challenge: true once for a live challenge, false for unknown, used or expired. */
  consume(challenge: Uint8Array, now: number): boolean {
    if (challenge.length !== CHALLENGE_BYTES) return false
    const key = bytesToBase64url(challenge)
    const expiresAt = this.pending.get(key)
    if (expiresAt === undefined) return false
    this.pending.delete(key)
    return expiresAt > now
  }

  private prune(now: number): void {
    for (const [key, expiresAt] of this.pending) {
      if (expiresAt > now) break
      this.pending.delete(key)
    }
  }

  get size(): number {
    return this.pending.size
  }
}
