/**
 * node:http ⇄ `fetch(Request) -> Response`. Request bodies are passed as streams (the app
 * enforces its own limits while reading); response bodies are streamed back with backpressure.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import type { HttpApp } from './app.ts'

export function toRequest(req: IncomingMessage, origin: string): Request {
  const headers = new Headers()
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2)
    headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!)
  const method = req.method ?? 'GET'
  const hasBody = method !== 'GET' && method !== 'HEAD'
  return new Request(new URL(req.url ?? '/', origin), {
    method,
    headers,
    body: hasBody ? (Readable.toWeb(req) as ReadableStream<Uint8Array>) : null,
    // Node's fetch needs this for streamed request bodies.
    duplex: 'half',
  } as RequestInit)
}

export async function writeResponse(res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string> = {}
  response.headers.forEach((value, key) => {
    headers[key] = value
  })
  res.writeHead(response.status, headers)
  if (response.body === null) {
    res.end()
    return
  }
  const reader = response.body.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      if (!res.write(value))
        await new Promise<void>((resolve) => res.once('drain', resolve).once('close', resolve))
      if (res.destroyed) {
        await reader.cancel()
        return
      }
    }
    res.end()
  } catch {
    // The body failed mid-way (storage error during a download): cut the connection so the
    // client sees a truncated response rather than a short one that looks complete.
    res.destroy()
  }
}

export function createNodeHandler(app: HttpApp, origin: string) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const request = toRequest(req, origin)
    void app
      .fetch(request, { remoteAddress: req.socket.remoteAddress })
      .then(async (response) => {
        // A refused request whose body we did not read: close instead of draining it.
        if (response.status >= 400 && !req.readableEnded) res.setHeader('connection', 'close')
        await writeResponse(res, response)
      })
      .catch(() => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' })
        res.end('{"error":{"code":"internal","message":"internal error"}}')
      })
  }
}
