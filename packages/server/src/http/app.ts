/**
 * The HTTP side of the server as one function, `fetch(Request) -> Response` (hono-style): tests
 * call it directly, `node-adapter.ts` puts it on a socket. Every failure becomes one JSON error
 * from the table in `@tacit/protocol/wire/errors`; nothing a handler throws reaches the client
 * as text, and logs get the error code, never the message of an unknown exception.
 */
import { WireError } from '@tacit/protocol/wire/errors'
import type { ServerContext } from '../context.ts'
import { toWireError } from '../errors.ts'
import {
  addDevice,
  createSession,
  getAccount,
  issueChallenge,
  lookupAccounts,
  registerAccount,
  revokeDevice,
} from './account-routes.ts'
import { appendBlobChunk, createBlob, deleteBlob, downloadBlob, getUploadStatus } from './blob-routes.ts'
import { errorResponse, jsonResponse } from './json.ts'
import {
  claimKeyPackages,
  countKeyPackages,
  registerDeliveryTokens,
  uploadKeyPackages,
} from './key-routes.ts'
import { chargeAddress } from './request-cost.ts'
import { issueTurnCredentials } from './turn-routes.ts'

export interface RequestInfo {
  /** The peer's address: used for rate limits, logged only with `--log-ip`. */
  readonly remoteAddress?: string
}

export interface HttpApp {
  fetch(request: Request, info?: RequestInfo): Promise<Response>
}

type Handler = (ctx: ServerContext, request: Request, ...params: string[]) => Promise<Response> | Response

interface Route {
  readonly method: string
  /** Segments; `:x` captures one segment. */
  readonly pattern: readonly string[]
  /** Fixed label for logs and metrics (never the raw path, which may hold ids). */
  readonly name: string
  readonly handler: Handler
}

function route(method: string, path: string, handler: Handler): Route {
  return { method, pattern: path.split('/').filter(Boolean), name: `${method} ${path}`, handler }
}

const ROUTES: readonly Route[] = [
  route('GET', '/healthz', () => jsonResponse(200, { status: 'ok' })),
  route('GET', '/metrics', (ctx) => metricsResponse(ctx)),
  route('POST', '/v1/challenges', (ctx) => issueChallenge(ctx)),
  route('POST', '/v1/accounts', registerAccount),
  route('POST', '/v1/accounts/lookup', lookupAccounts),
  route('GET', '/v1/accounts/:handle', getAccount),
  route('POST', '/v1/accounts/:handle/devices', addDevice),
  route('DELETE', '/v1/devices/:deviceId', revokeDevice),
  route('POST', '/v1/sessions', createSession),
  route('POST', '/v1/key-packages', uploadKeyPackages),
  route('GET', '/v1/key-packages/count', countKeyPackages),
  route('POST', '/v1/key-packages/claim', claimKeyPackages),
  route('POST', '/v1/delivery-tokens', registerDeliveryTokens),
  route('POST', '/v1/blobs', createBlob),
  route('GET', '/v1/blobs/:blobId/upload', getUploadStatus),
  route('PATCH', '/v1/blobs/:blobId', appendBlobChunk),
  route('GET', '/v1/blobs/:blobId', downloadBlob),
  route('HEAD', '/v1/blobs/:blobId', downloadBlob),
  route('DELETE', '/v1/blobs/:blobId', deleteBlob),
  route('GET', '/v1/turn-credentials', issueTurnCredentials),
]

/** Longest path the router looks at; anything longer is not one of ours. */
export const MAX_PATH_LENGTH = 256

function metricsResponse(ctx: ServerContext): Response {
  return new Response(ctx.metrics.render(), {
    status: 200,
    headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' },
  })
}

function match(
  method: string,
  path: string,
): { route: Route; params: string[] } | { allowed: string[] } | null {
  if (path.length > MAX_PATH_LENGTH) return null
  const segments = path.split('/').filter(Boolean)
  const allowed: string[] = []
  for (const r of ROUTES) {
    if (r.pattern.length !== segments.length) continue
    const params: string[] = []
    let ok = true
    for (let i = 0; i < segments.length; i++) {
      const p = r.pattern[i]!
      const s = segments[i]!
      if (p.startsWith(':')) {
        let decoded: string
        try {
          decoded = decodeURIComponent(s)
        } catch {
          ok = false
          break
        }
        params.push(decoded)
      } else if (p !== s) {
        ok = false
        break
      }
    }
    if (!ok) continue
    if (r.method === method) return { route: r, params }
    allowed.push(r.method)
  }
  return allowed.length > 0 ? { allowed } : null
}

export function createHttpApp(ctx: ServerContext): HttpApp {
  return {
    async fetch(request, info = {}) {
      const started = ctx.now()
      let url: URL
      try {
        url = new URL(request.url)
      } catch {
        return errorResponse(new WireError('malformed', 'bad request URL'))
      }
      const found = match(request.method, url.pathname)
      const name = found !== null && 'route' in found ? found.route.name : 'unmatched'
      let response: Response
      try {
        if (ctx.shuttingDown()) throw new WireError('unavailable', 'the server is shutting down; retry later')
        chargeAddress(ctx, request, info.remoteAddress ?? 'unknown', 1)
        if (found === null) throw new WireError('not-found', 'no such endpoint')
        if (!('route' in found)) {
          const e = new WireError('method-not-allowed', `allowed: ${found.allowed.join(', ')}`)
          response = errorResponse(e)
          response.headers.set('allow', found.allowed.join(', '))
        } else {
          response = await found.route.handler(ctx, request, ...found.params)
        }
      } catch (error) {
        const wire = toWireError(error)
        if (wire.code === 'internal') {
          ctx.log.log('error', 'http.internal', {
            route: name,
            error: error instanceof Error ? error.name : 'unknown',
          })
        }
        response = errorResponse(wire)
        // Drain nothing further from a body we refused: the adapter closes the connection.
      }
      ctx.metrics.increment('tacit_http_requests_total', 'HTTP requests by status', {
        status: String(response.status),
      })
      ctx.log.log('debug', 'http.request', {
        route: name,
        status: response.status,
        ms: ctx.now() - started,
        ip: ctx.log.address(info.remoteAddress),
      })
      return response
    },
  }
}
