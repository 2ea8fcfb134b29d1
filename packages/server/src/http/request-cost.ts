/**
 * Requests are charged against their peer address's token bucket: one token on arrival (in
 * `app.ts`), and a request that does the work of several — a batch KeyPackage claim for n
 * handles — the rest of its cost once its body says how much, so batching saves round trips,
 * not rate (docs/protocol/server.md §Rate limits).
 */
import { WireError } from '@tacit/protocol/wire/errors'
import type { ServerContext } from '../context.ts'

const addresses = new WeakMap<Request, string>()

/** Takes `cost` tokens for `address`, or throws `rate-limited` with the wait in seconds. */
export function chargeAddress(ctx: ServerContext, request: Request, address: string, cost: number): void {
  addresses.set(request, address)
  const wait = ctx.addressLimiter.take(address, ctx.now(), cost)
  if (wait > 0) {
    ctx.metrics.increment('tacit_rate_limited_total', 'Requests refused by a rate limit', {
      scope: 'address',
    })
    throw new WireError('rate-limited', 'too many requests from this address', { retryAfterSeconds: wait })
  }
}

/** Charges `extra` more tokens to the address this request was charged to on arrival. */
export function chargeExtra(ctx: ServerContext, request: Request, extra: number): void {
  if (extra <= 0) return
  chargeAddress(ctx, request, addresses.get(request) ?? 'unknown', extra)
}
