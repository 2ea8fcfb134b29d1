/**
 * The SDK's network edge, behind two small interfaces so the same code runs on Node and in
 * browsers: HTTP through a `fetch` function, and the server's binary WebSocket through a
 * `SocketLike`. Browsers use the platform's own (`browserTransport`); Node uses
 * `src/node/ws-transport.ts` (the `ws` package, with permessage-deflate off: ciphertext does
 * not compress).
 */
import { ClientError } from '../errors.ts'

export interface SocketLike {
  send(data: Uint8Array): void
  close(code?: number, reason?: string): void
  onOpen(fn: () => void): void
  onMessage(fn: (data: Uint8Array) => void): void
  /** Called once, whatever ended the connection (close frame, error, network). */
  onClose(fn: (code: number) => void): void
}

export interface Transport {
  fetch(request: Request): Promise<Response>
  openSocket(url: string): SocketLike
}

/** The browser's fetch and WebSocket (also Node ≥ 22, whose global WebSocket is standard). */
export function browserTransport(): Transport {
  const WS = (globalThis as { WebSocket?: typeof WebSocket }).WebSocket
  if (typeof WS !== 'function') {
    throw new ClientError('usage', 'no global WebSocket here: pass a transport (on Node: nodeTransport())')
  }
  return {
    fetch: (request) => globalThis.fetch(request),
    openSocket(url) {
      const ws = new WS(url)
      ws.binaryType = 'arraybuffer'
      let closed = false
      const closeFns: ((code: number) => void)[] = []
      const fireClose = (code: number) => {
        if (closed) return
        closed = true
        for (const fn of closeFns) fn(code)
      }
      ws.addEventListener('close', (e) => fireClose(e.code))
      ws.addEventListener('error', () => fireClose(1006))
      return {
        send: (data) => ws.send(data),
        close: (code, reason) => ws.close(code, reason),
        onOpen: (fn) => ws.addEventListener('open', () => fn()),
        onMessage: (fn) =>
          ws.addEventListener('message', (e) => {
            if (e.data instanceof ArrayBuffer) fn(new Uint8Array(e.data))
          }),
        onClose: (fn) => {
          closeFns.push(fn)
        },
      }
    },
  }
}

/** `http://host:port` → `ws://host:port/v1/ws` (and https → wss). */
export function webSocketUrlOf(serverUrl: string): string {
  const u = new URL('/v1/ws', serverUrl)
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:'
  return u.toString()
}
