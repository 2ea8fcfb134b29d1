/**
 * Serves the built web client (`packages/web/dist`, DESIGN.md §7) at `/`, in front of the API.
 * Everything under `/v1`, `/healthz` and `/metrics` goes to the API app untouched; other GET and
 * HEAD requests are answered from the folder:
 * - a file under it, with its MIME type; Vite's content-hashed files under `/assets/` are cached
 *   for a year as immutable, everything else is revalidated (`no-cache` with an ETag), so a new
 *   build is picked up on the next load;
 * - a path with no file extension that names no file gets `index.html` (client-side routes);
 * - text types are gzip-compressed when the browser accepts it (compressed once per file version,
 *   in a bounded cache);
 * - every answer carries a strict Content-Security-Policy: scripts, styles and connections from
 *   this origin only, no inline script or style, no framing, no plugins.
 * The path is decoded once and refused (404) if any segment is `..`, `.`, empty, hidden
 * (starts with `.`), or holds a backslash or NUL; the resolved real path must still be inside the
 * folder (no escape through a symbolic link). Only regular files are served.
 */
import { realpathSync } from 'node:fs'
import { readFile, realpath, stat } from 'node:fs/promises'
import { extname, join, sep } from 'node:path'
import { gzipSync } from 'node:zlib'
import type { HttpApp } from './app.ts'

/** Paths the API owns; everything else is the web client's. */
const API_PREFIXES = ['/v1/', '/healthz', '/metrics'] as const

/** Files above this are not served from the web folder (the built app's largest chunk is far below). */
export const MAX_WEB_FILE_BYTES = 16 * 1024 * 1024
/** Compressed copies kept in memory: one per file version, this many files at most. */
export const MAX_COMPRESSED_CACHE_ENTRIES = 256
/** Longest request path looked up in the folder. */
export const MAX_WEB_PATH_LENGTH = 1024
/** Smaller files are sent as they are: gzip's header would eat the gain. */
const MIN_COMPRESS_BYTES = 1024

/**
 * `connect-src 'self'` covers the API and, in CSP Level 3, the same origin's ws:/wss: (the
 * mailbox socket). `img-src data: blob:` for QR codes and decrypted images; `media-src blob:` for
 * decrypted audio and video; `worker-src 'self' blob:` for crypto and media workers.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ')

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(self), microphone=(self), geolocation=(), payment=(), usb=()',
}

const MIME_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
}
const COMPRESSIBLE = new Set([
  '.html',
  '.js',
  '.mjs',
  '.css',
  '.json',
  '.webmanifest',
  '.map',
  '.svg',
  '.txt',
])

/** Vite names built files `name-<hash>.ext` under `assets/`; their content never changes. */
const HASHED_ASSET = /^\/assets\/[^/]+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/

export interface WebAppOptions {
  /** The built web client (`packages/web/dist`); null serves nothing but the API. */
  readonly root: string | null
}

function isApiPath(path: string): boolean {
  return API_PREFIXES.some((p) => path === p || path === p.replace(/\/$/, '') || path.startsWith(p))
}

function headersFor(extra: Record<string, string>): Headers {
  return new Headers({ ...SECURITY_HEADERS, ...extra })
}

function notFound(): Response {
  return new Response('Not found\n', {
    status: 404,
    headers: headersFor({ 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }),
  })
}

function notBuilt(): Response {
  const html =
    '<!doctype html><meta charset="utf-8"><title>Tacit</title>' +
    '<h1>The web client is not built</h1>' +
    '<p>Build it with <code>npm run build:web</code> (or start the server with <code>npm start</code>, ' +
    'which builds it first), then reload this page. The API is running.</p>\n'
  return new Response(html, {
    status: 503,
    headers: headersFor({ 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }),
  })
}

/**
 * Turns a URL path into folder-relative segments, or null when it must not be looked up.
 * Percent-decoding happens once, here; a decoded `/` inside a segment is refused too.
 */
export function safeSegments(pathname: string): string[] | null {
  if (pathname.length > MAX_WEB_PATH_LENGTH || !pathname.startsWith('/')) return null
  const raw = pathname.slice(1).split('/')
  if (raw.length === 1 && raw[0] === '') return []
  const segments: string[] = []
  for (let i = 0; i < raw.length; i++) {
    const part = raw[i]!
    // A trailing slash (`/docs/`) is allowed; an empty segment elsewhere (`//`) is not.
    if (part === '' && i === raw.length - 1) break
    let decoded: string
    try {
      decoded = decodeURIComponent(part)
    } catch {
      return null
    }
    if (
      decoded === '' ||
      decoded.startsWith('.') ||
      decoded.includes('/') ||
      decoded.includes('\\') ||
      decoded.includes('\0')
    ) {
      return null
    }
    segments.push(decoded)
  }
  return segments
}

interface FoundFile {
  readonly path: string
  readonly size: number
  readonly mtimeMs: number
}

/** Compressed bodies by path and version; Map order gives least-recently-added eviction. */
class CompressedCache {
  readonly #entries = new Map<string, { version: string; body: Uint8Array }>()

  get(path: string, version: string): Uint8Array | undefined {
    const entry = this.#entries.get(path)
    return entry?.version === version ? entry.body : undefined
  }

  set(path: string, version: string, body: Uint8Array): void {
    this.#entries.delete(path)
    if (this.#entries.size >= MAX_COMPRESSED_CACHE_ENTRIES) {
      const oldest = this.#entries.keys().next()
      if (!oldest.done) this.#entries.delete(oldest.value)
    }
    this.#entries.set(path, { version, body })
  }
}

function acceptsGzip(request: Request): boolean {
  const header = request.headers.get('accept-encoding') ?? ''
  return header
    .split(',')
    .map((p) => p.trim().split(';'))
    .some(([coding, q]) => coding?.trim() === 'gzip' && !/^\s*q=0(\.0*)?\s*$/.test(q ?? ''))
}

/** Wraps the API app so that the web client is served at `/` (see the module comment). */
export function withWebApp(api: HttpApp, options: WebAppOptions): HttpApp {
  if (options.root === null) return api
  let root: string | null
  try {
    root = realpathSync(options.root)
  } catch {
    root = null // not built yet: checked again on each request, so a later build is picked up
  }
  const compressed = new CompressedCache()

  async function resolveRoot(): Promise<string | null> {
    if (root !== null) return root
    try {
      root = await realpath(options.root!)
      return root
    } catch {
      return null
    }
  }

  async function findFile(base: string, segments: readonly string[]): Promise<FoundFile | null> {
    if (segments.length === 0) return null
    let real: string
    try {
      real = await realpath(join(base, ...segments))
    } catch {
      return null
    }
    if (!real.startsWith(base + sep)) return null
    const info = await stat(real).catch(() => null)
    if (info === null || !info.isFile() || info.size > MAX_WEB_FILE_BYTES) return null
    return { path: real, size: info.size, mtimeMs: info.mtimeMs }
  }

  async function serve(request: Request, pathname: string): Promise<Response> {
    const base = await resolveRoot()
    const segments = safeSegments(pathname)
    if (segments === null) return notFound()
    if (base === null) return segments.length === 0 || extname(pathname) === '' ? notBuilt() : notFound()
    let file = await findFile(base, segments)
    let hashed = file !== null && HASHED_ASSET.test(pathname)
    if (file === null) {
      // Client-side routes (no extension) get the app; a missing file with an extension is a 404.
      const last = segments.at(-1) ?? ''
      if (extname(last) !== '') return notFound()
      file = await findFile(base, ['index.html'])
      hashed = false
      if (file === null) return notBuilt()
    }
    const ext = extname(file.path).toLowerCase()
    const type = MIME_TYPES[ext] ?? 'application/octet-stream'
    const version = `${file.size.toString(16)}-${Math.trunc(file.mtimeMs).toString(16)}`
    const etag = `"${version}"`
    const headers = headersFor({
      'content-type': type,
      'cache-control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
      etag,
      vary: 'accept-encoding',
    })
    if (request.headers.get('if-none-match') === etag) return new Response(null, { status: 304, headers })
    let body: Uint8Array = await readFile(file.path)
    if (body.length !== file.size) {
      // Replaced between stat and read (a rebuild): the version no longer names these bytes.
      headers.delete('etag')
    }
    if (COMPRESSIBLE.has(ext) && body.length >= MIN_COMPRESS_BYTES && acceptsGzip(request)) {
      let gz = compressed.get(file.path, version)
      if (gz === undefined) {
        gz = new Uint8Array(gzipSync(body))
        if (headers.has('etag')) compressed.set(file.path, version, gz)
      }
      body = gz
      headers.set('content-encoding', 'gzip')
    }
    headers.set('content-length', String(body.length))
    return new Response(request.method === 'HEAD' ? null : (body as Uint8Array<ArrayBuffer>), {
      status: 200,
      headers,
    })
  }

  return {
    async fetch(request, info) {
      if (request.method !== 'GET' && request.method !== 'HEAD') return api.fetch(request, info)
      let url: URL
      try {
        url = new URL(request.url)
      } catch {
        return api.fetch(request, info)
      }
      if (isApiPath(url.pathname)) return api.fetch(request, info)
      try {
        return await serve(request, url.pathname)
      } catch {
        return new Response('Internal error\n', {
          status: 500,
          headers: headersFor({ 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }),
        })
      }
    },
  }
}
