/**
 * A man in the middle inside the client's transport: every HTTP request goes through `intercept`,
 * which may look at it, forward it, change or cut the answer, or fail. WebSockets pass through.
 * Used to interrupt transfers and to play a server that substitutes keys.
 */
import type { Transport } from '../../src/net/transport.ts'
import { nodeTransport } from '../../src/node/ws-transport.ts'

export type Forward = (request: Request) => Promise<Response>
export type Intercept = (request: Request, forward: Forward) => Promise<Response>

export interface MitmTransport extends Transport {
  /** Replaces the interceptor (null: pass everything through). */
  set(intercept: Intercept | null): void
  /** Every request seen: method, path and Range header. */
  readonly log: { method: string; path: string; range: string | null; bytes: number }[]
}

export function mitmTransport(): MitmTransport {
  const inner = nodeTransport()
  let current: Intercept | null = null
  const log: MitmTransport['log'] = []
  return {
    log,
    set(intercept) {
      current = intercept
    },
    async fetch(request) {
      const url = new URL(request.url)
      const body = request.method === 'PATCH' ? new Uint8Array(await request.clone().arrayBuffer()) : null
      log.push({
        method: request.method,
        path: url.pathname,
        range: request.headers.get('range'),
        bytes: body?.length ?? 0,
      })
      const forward: Forward = (r) => inner.fetch(r)
      return current ? current(request, forward) : forward(request)
    },
    openSocket: (url) => inner.openSocket(url),
  }
}

/** The answer's body, cut after `limit` bytes: with an error (a dropped connection) or a clean end. */
export function cutBody(
  response: Response,
  limit: number,
  how: 'error' | 'end',
  onCut: () => void = () => {},
): Response {
  const reader = response.body!.getReader()
  let passed = 0
  let cut = false
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (cut) {
        // The bytes before the cut were read; now the connection "drops" (or ends cleanly).
        onCut()
        if (how === 'error') controller.error(new TypeError('terminated'))
        else controller.close()
        return
      }
      const { done, value } = await reader.read()
      if (done) return controller.close()
      if (passed + value.length < limit) {
        passed += value.length
        return controller.enqueue(value)
      }
      controller.enqueue(value.subarray(0, limit - passed))
      passed = limit
      cut = true
      await reader.cancel()
    },
    cancel: () => reader.cancel(),
  })
  const headers = new Headers(response.headers)
  headers.delete('content-length')
  return new Response(body, { status: response.status, headers })
}

export const isBlobDownload = (r: Request) =>
  r.method === 'GET' && /^\/v1\/blobs\/[^/]+$/.test(new URL(r.url).pathname)
export const isBlobAppend = (r: Request) =>
  r.method === 'PATCH' && /^\/v1\/blobs\/[^/]+$/.test(new URL(r.url).pathname)

/** The handles a directory request looks up: one (`GET /v1/accounts/h`) or a batch (`POST …/lookup`). */
export async function lookedUpHandles(request: Request): Promise<string[]> {
  const path = new URL(request.url).pathname
  if (request.method === 'POST' && path === '/v1/accounts/lookup') {
    return ((await request.clone().json()) as { handles: string[] }).handles
  }
  const single = /^\/v1\/accounts\/([^/]+)$/.exec(path)
  return request.method === 'GET' && single ? [decodeURIComponent(single[1]!)] : []
}

/**
 * An interceptor playing a directory that answers `identityKey` for `handle`, whether the client
 * looks it up alone or in a batch; every other request and entry passes unchanged.
 */
export function substituteIdentityKey(handle: string, identityKey: string): Intercept {
  const forge = (entry: Record<string, unknown> | null) =>
    entry?.handle === handle ? { ...entry, identityKey } : entry
  return async (request, forward) => {
    const looked = await lookedUpHandles(request)
    const answer = await forward(request)
    if (!looked.includes(handle) || !answer.ok) return answer
    const body = (await answer.json()) as Record<string, unknown>
    const accounts = body.accounts as (Record<string, unknown> | null)[] | undefined
    return Response.json(accounts === undefined ? forge(body) : { accounts: accounts.map(forge) }, {
      status: answer.status,
    })
  }
}
