/**
 * Token buckets keyed by device id or address, in bounded memory. A bucket that has refilled
 * completely is equivalent to no bucket, so when the table is full the least recently used
 * entries go first (a Map keeps insertion order; touching an entry re-inserts it). Evicting a
 * partly drained bucket can only make the limiter more lenient for that key, never refuse more.
 */

export interface RateLimit {
  /** Tokens added per second. */
  readonly ratePerSecond: number
  /** Bucket size: the largest burst. */
  readonly burst: number
}

interface Bucket {
  tokens: number
  updatedAt: number
}

export const MAX_RATE_LIMIT_KEYS = 100_000

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>()

  constructor(
    private readonly limit: RateLimit | null,
    private readonly maxKeys: number = MAX_RATE_LIMIT_KEYS,
  ) {}

  /**
   * Takes `cost` tokens for `key` at time `now` (ms). Returns 0 when allowed, otherwise the
   * number of whole seconds after which the same request would be allowed.
   */
  take(key: string, now: number, cost = 1): number {
    const limit = this.limit
    if (limit === null) return 0
    let bucket = this.buckets.get(key)
    if (bucket === undefined) {
      bucket = { tokens: limit.burst, updatedAt: now }
    } else {
      this.buckets.delete(key)
      const elapsed = Math.max(0, now - bucket.updatedAt) / 1000
      bucket.tokens = Math.min(limit.burst, bucket.tokens + elapsed * limit.ratePerSecond)
      bucket.updatedAt = now
    }
    this.buckets.set(key, bucket)
    if (this.buckets.size > this.maxKeys) {
      const oldest = this.buckets.keys().next().value
      if (oldest !== undefined) this.buckets.delete(oldest)
    }
    if (bucket.tokens >= cost) {
      bucket.tokens -= cost
      return 0
    }
    if (cost > limit.burst || limit.ratePerSecond <= 0) return Number.MAX_SAFE_INTEGER
    return Math.max(1, Math.ceil((cost - bucket.tokens) / limit.ratePerSecond))
  }

  get size(): number {
    return this.buckets.size
  }
}
