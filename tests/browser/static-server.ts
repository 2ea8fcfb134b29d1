import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { extname, resolve, sep } from 'node:path'
import { VECTORS_URL_PREFIX } from './page-protocol.ts'

/**
 * The page's only origin: a static HTTP server on 127.0.0.1 (a random port). It serves the page,
 * the bundle, and read-only files under the vectors folder. http://127.0.0.1 is a secure context,
 * so crypto.subtle is available to the page.
 */

/** The largest vector file served (the biggest Wycheproof and MLS files are a few MiB). */
export const MAX_VECTOR_FILE_BYTES = 64 * 1024 * 1024

export interface StaticServer {
  readonly origin: string
  close(): Promise<void>
}

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>tacit browser cases</title></head>
<body><script type="module" src="/bundle.js"></script></body></html>
`

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.json': 'application/json; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
}

function send(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' })
  response.end(body)
}

async function serveVector(vectorsDir: string, pathname: string, response: ServerResponse): Promise<void> {
  let relative: string
  try {
    relative = decodeURIComponent(pathname.slice(VECTORS_URL_PREFIX.length))
  } catch {
    send(response, 400, 'text/plain', 'bad path encoding')
    return
  }
  const root = resolve(vectorsDir)
  const file = resolve(root, relative)
  // Only files strictly inside the vectors folder: no `..`, no absolute paths, no listing.
  if (!file.startsWith(root + sep) || relative.includes('\0')) {
    send(response, 403, 'text/plain', 'outside the vectors folder')
    return
  }
  const info = await stat(file).catch(() => undefined)
  if (info === undefined || !info.isFile()) {
    send(response, 404, 'text/plain', 'no such vector file')
    return
  }
  if (info.size > MAX_VECTOR_FILE_BYTES) {
    send(response, 413, 'text/plain', `vector file above ${MAX_VECTOR_FILE_BYTES} bytes`)
    return
  }
  response.writeHead(200, {
    'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
    'content-length': info.size,
    'cache-control': 'no-store',
  })
  createReadStream(file)
    .on('error', () => response.destroy())
    .pipe(response)
}

export async function startStaticServer(bundle: string, vectorsDir: string): Promise<StaticServer> {
  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    const pathname = new URL(request.url ?? '/', 'http://127.0.0.1').pathname
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      send(response, 405, 'text/plain', 'GET only')
    } else if (pathname === '/') {
      send(response, 200, 'text/html; charset=utf-8', PAGE)
    } else if (pathname === '/favicon.ico') {
      response.writeHead(204).end()
    } else if (pathname === '/bundle.js') {
      send(response, 200, 'text/javascript; charset=utf-8', bundle)
    } else if (pathname.startsWith(VECTORS_URL_PREFIX)) {
      serveVector(vectorsDir, pathname, response).catch(() => response.destroy())
    } else {
      send(response, 404, 'text/plain', 'not found')
    }
  }
  const server = createServer(handle)
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolveListen())
  })
  const { port } = server.address() as AddressInfo
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolveClose) => {
        server.closeAllConnections()
        server.close(() => resolveClose())
      }),
  }
}
