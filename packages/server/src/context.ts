/**
 * What the HTTP app and the WebSocket handler share: storage, notifier, clock, limits, logs.
 * Built once by `server.ts` (or by a test) and passed down; nothing here reads globals.
 */
import type { ChallengeStore } from './challenges.ts'
import type { TurnConfig } from './http/turn-routes.ts'
import type { Logger } from './logger.ts'
import type { Metrics } from './metrics.ts'
import { type Notifier, RESYNC_INTERVAL_MS } from './notify/notifier.ts'
import type { RateLimiter } from './rate-limiter.ts'
import type { Storage } from './storage/storage.ts'

export interface ServerPolicy {
  /** Time-to-live of an envelope when the sender asks for none (0). */
  readonly envelopeTtlMs: number
  readonly sessionTtlMs: number
  readonly blobTtlMs: number
  /** Largest blob this server accepts (≤ MAX_BLOB_BYTES). */
  readonly maxBlobBytes: number
  /** Bytes of live blobs (complete or not) per account. */
  readonly blobQuotaBytes: number
  /** Unacknowledged envelopes pushed to one connection before it must acknowledge. */
  readonly deliveryWindow: number
  /** Same, in bytes. */
  readonly deliveryWindowBytes: number
  /**
   * The longest an authenticated connection goes without re-scanning its mailbox from the start
   * (`RESYNC_INTERVAL_MS`): the worst-case delay a lost hint costs. Each wait is drawn from the
   * second half of it (`resyncDelayMs`), so connections that came together do not re-scan together.
   */
  readonly mailboxResyncMs: number
  /** A connection that has not authenticated or sent a sealed envelope by then is closed. */
  readonly authTimeoutMs: number
  /** Requests one connection may have in flight; beyond, the server stops reading from it. */
  readonly maxPendingPerConnection: number
  /**
   * Requests all connections of this process may have in flight; beyond, a connection that takes
   * in one more stops reading until the count is back to half (ws/intake.ts). Two group-commit
   * batches' worth by default: one committing, one filling.
   */
  readonly maxRequestsInFlight: number
  /**
   * Longest time an `ack-ok` waits for another frame to the same connection to leave with, in ms
   * (ws/outbox.ts, decision 0021; at most MAX_ACK_REPLY_DELAY_MS); 0 writes it at once.
   */
  readonly ackReplyDelayMs: number
  /** TURN relay for calls (http/turn-routes.ts); absent or null: no TURN credentials handed out. */
  readonly turn?: TurnConfig | null
}

export interface ServerContext {
  readonly storage: Storage
  readonly notifier: Notifier
  readonly now: () => number
  readonly log: Logger
  readonly metrics: Metrics
  readonly challenges: ChallengeStore
  /** Per address: HTTP requests, WebSocket connects and unauthenticated (sealed) frames. */
  readonly addressLimiter: RateLimiter
  /** Per device: frames on authenticated WebSocket connections. */
  readonly deviceLimiter: RateLimiter
  readonly policy: ServerPolicy
  /** Set by graceful shutdown: new requests get `unavailable`. */
  readonly shuttingDown: () => boolean
  /** Closes live connections of a revoked device in this process. */
  readonly disconnectDevice: (deviceId: string) => void
}

export const DEFAULT_POLICY: ServerPolicy = {
  envelopeTtlMs: 14 * 24 * 3600_000,
  sessionTtlMs: 24 * 3600_000,
  blobTtlMs: 30 * 24 * 3600_000,
  maxBlobBytes: 256 * 1024 * 1024,
  blobQuotaBytes: 1024 * 1024 * 1024,
  deliveryWindow: 256,
  deliveryWindowBytes: 8 * 1024 * 1024,
  mailboxResyncMs: RESYNC_INTERVAL_MS,
  authTimeoutMs: 10_000,
  maxPendingPerConnection: 256,
  maxRequestsInFlight: 16_384,
  ackReplyDelayMs: 100,
}
