/**
 * Node adapter for `Transport`: Node's fetch and the `ws` package. permessage-deflate is off
 * (DESIGN.md §9: ciphertext does not compress, and deflate costs 5×). Node-only: browsers use
 * `browserTransport()`.
 */
import WebSocket from 'ws'
import type { Transport } from '../net/transport.ts'

export function nodeTransport(): Transport {
  return {
    fetch: (request) => fetch(request),
    openSocket(url) {
      const ws = new WebSocket(url, { perMessageDeflate: false })
      let closed = false
      const closeFns: ((code: number) => void)[] = []
      const fireClose = (code: number) => {
        if (closed) return
        closed = true
        for (const fn of closeFns) fn(code)
      }
      ws.on('close', (code) => fireClose(code))
      ws.on('error', () => fireClose(1006))
      return {
        send: (data) => ws.send(data),
        close: (code, reason) => ws.close(code, reason),
        onOpen: (fn) => ws.on('open', fn),
        onMessage: (fn) =>
          ws.on('message', (data: Buffer, isBinary: boolean) => {
            if (isBinary) fn(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
          }),
        onClose: (fn) => {
          closeFns.push(fn)
        },
      }
    },
  }
}
