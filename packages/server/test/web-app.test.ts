import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { gunzipSync } from 'node:zlib'
import { parseConfig } from '../src/config.ts'
import type { HttpApp } from '../src/http/app.ts'
import { CONTENT_SECURITY_POLICY, safeSegments, withWebApp } from '../src/http/web-app.ts'
import { createMemoryLogger } from '../src/logger.ts'
import { type RunningServer, startServer } from '../src/server.ts'

/**
 * The web client's static files (src/http/web-app.ts) over a fixture folder shaped like Vite's
 * output: the fetch core directly, then the real server on a socket for what only a raw request
 * line can send (unnormalised `..`).
 */

const INDEX =
  '<!doctype html><title>Tacit</title><script type="module" src="/assets/index-AbC123xy.js"></script>'
const SCRIPT = `console.log(${JSON.stringify('x'.repeat(4000))})`
const SECRET = 'outside the web folder'

let dir: string
let webRoot: string
const api: HttpApp = {
  fetch: async () =>
    new Response('{"api":true}', { status: 418, headers: { 'content-type': 'application/json' } }),
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tacit-web-app-'))
  webRoot = join(dir, 'dist')
  mkdirSync(join(webRoot, 'assets'), { recursive: true })
  writeFileSync(join(webRoot, 'index.html'), INDEX)
  writeFileSync(join(webRoot, 'assets', 'index-AbC123xy.js'), SCRIPT)
  writeFileSync(join(webRoot, 'assets', 'style-Zz9_8Yy7.css'), 'body{color:red}')
  writeFileSync(join(webRoot, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>')
  writeFileSync(join(webRoot, '.env'), SECRET)
  writeFileSync(join(dir, 'secret.txt'), SECRET)
  symlinkSync(join(dir, 'secret.txt'), join(webRoot, 'link.txt'))
  symlinkSync(dir, join(webRoot, 'up'))
})
after(() => rmSync(dir, { recursive: true, force: true }))

const get = (app: HttpApp, path: string, headers: Record<string, string> = {}) =>
  app.fetch(new Request(`http://127.0.0.1${path}`, { headers }))

describe('web app', () => {
  it('serves index.html at / with a strict CSP and no caching without revalidation', async () => {
    const app = withWebApp(api, { root: webRoot })
    const res = await get(app, '/')
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8')
    assert.equal(res.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY)
    assert.match(CONTENT_SECURITY_POLICY, /script-src 'self'(;|$)/)
    assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe-inline|unsafe-eval/)
    assert.equal(res.headers.get('cache-control'), 'no-cache')
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff')
    assert.equal(await res.text(), INDEX)
    // Revalidation: the same version answers 304.
    const etag = res.headers.get('etag')
    assert.ok(etag)
    const again = await get(app, '/', { 'if-none-match': etag })
    assert.equal(again.status, 304)
  })

  it('serves hashed assets with their type, immutable caching and gzip when accepted', async () => {
    const app = withWebApp(api, { root: webRoot })
    const js = await get(app, '/assets/index-AbC123xy.js', { 'accept-encoding': 'gzip, br' })
    assert.equal(js.status, 200)
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8')
    assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable')
    assert.equal(js.headers.get('content-encoding'), 'gzip')
    const body = new Uint8Array(await js.arrayBuffer())
    assert.ok(body.length < SCRIPT.length / 4, 'compressed')
    assert.equal(gunzipSync(body).toString(), SCRIPT)
    const plain = await get(app, '/assets/index-AbC123xy.js', { 'accept-encoding': 'identity' })
    assert.equal(plain.headers.get('content-encoding'), null)
    assert.equal(await plain.text(), SCRIPT)
    const css = await get(app, '/assets/style-Zz9_8Yy7.css')
    assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8')
    const svg = await get(app, '/favicon.svg')
    assert.equal(svg.headers.get('content-type'), 'image/svg+xml')
    assert.equal(svg.headers.get('cache-control'), 'no-cache', 'unhashed files are revalidated')
  })

  it('answers client-side routes with index.html and missing files with 404', async () => {
    const app = withWebApp(api, { root: webRoot })
    const route = await get(app, '/conversations/abc')
    assert.equal(route.status, 200)
    assert.equal(await route.text(), INDEX)
    assert.equal((await get(app, '/assets/missing-AbC123xy.js')).status, 404)
    assert.equal((await get(app, '/nope.png')).status, 404)
  })

  it('refuses traversal, hidden files, encoded separators and symbolic links out of the folder', async () => {
    const app = withWebApp(api, { root: webRoot })
    for (const path of [
      '/%2e%2e/secret.txt',
      '/assets/%2e%2e/%2e%2e/secret.txt',
      '/..%2fsecret.txt',
      '/assets/..%5c..%5csecret.txt',
      '/.env',
      '/%2eenv',
      '/link.txt',
      '/up/secret.txt',
      '/index.html%00.js',
      '//etc/passwd',
    ]) {
      const res = await get(app, path)
      const text = await res.text()
      assert.ok(!text.includes(SECRET), `${path} leaked the secret`)
      assert.ok(res.status === 404 || text === INDEX, `${path}: ${res.status}`)
    }
    assert.equal(safeSegments('/a/../b'), null)
    assert.equal(safeSegments('/a/%2E%2E/b'), null)
    assert.equal(safeSegments('/a%2fb'), null)
    assert.deepEqual(safeSegments('/assets/x-1.js'), ['assets', 'x-1.js'])
    assert.deepEqual(safeSegments('/'), [])
  })

  it('leaves the API paths and other methods to the API', async () => {
    const app = withWebApp(api, { root: webRoot })
    for (const path of ['/v1/accounts/x', '/healthz', '/metrics', '/v1']) {
      assert.equal((await get(app, path)).status, 418, path)
    }
    const post = await app.fetch(new Request('http://127.0.0.1/', { method: 'POST', body: 'x' }))
    assert.equal(post.status, 418)
  })

  it('says how to build the client when the folder is missing, and serves it once built', async () => {
    const later = join(dir, 'later')
    const app = withWebApp(api, { root: later })
    const res = await get(app, '/')
    assert.equal(res.status, 503)
    assert.match(await res.text(), /npm run build:web/)
    assert.equal((await get(app, '/assets/x-AbC123xy.js')).status, 404)
    mkdirSync(later)
    writeFileSync(join(later, 'index.html'), INDEX)
    assert.equal(await (await get(app, '/')).text(), INDEX)
  })
})

describe('web app in the server', () => {
  let server: RunningServer
  let data: string

  before(async () => {
    data = mkdtempSync(join(tmpdir(), 'tacit-web-app-data-'))
    const config = parseConfig(['--port', '0', '--data-dir', data, '--web-dir', webRoot], {})
    server = await startServer(config, { log: createMemoryLogger(), printInvite: () => {} })
  })
  after(async () => {
    await server.close()
    rmSync(data, { recursive: true, force: true })
  })

  /** A raw request line, so `..` reaches the server as sent (fetch would normalise it away). */
  function rawGet(path: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: server.port, path, method: 'GET' }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString(),
            headers: res.headers,
          }),
        )
      })
      req.on('error', reject)
      req.setTimeout(10_000, () => req.destroy(new Error('timed out')))
      req.end()
    })
  }

  it('serves / over HTTP with the CSP and keeps the API working', async () => {
    const index = await rawGet('/')
    assert.equal(index.status, 200)
    assert.equal(index.body, INDEX)
    assert.equal(index.headers['content-security-policy'], CONTENT_SECURITY_POLICY)
    const health = await rawGet('/healthz')
    assert.equal(health.status, 200)
    assert.match(health.body, /"ok"/)
  })

  it('refuses raw .. segments', async () => {
    for (const path of ['/../secret.txt', '/assets/../../secret.txt', '/assets/..%2f..%2fsecret.txt']) {
      const res = await rawGet(path)
      assert.ok(!res.body.includes(SECRET), `${path} leaked the secret`)
      assert.ok(res.status === 404 || res.body === INDEX, `${path}: ${res.status}`)
    }
  })
})
