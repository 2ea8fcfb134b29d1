/**
 * What the load generator needs from a relay, whichever it is: connect client number `index`,
 * send an opaque payload to client number `to`, hear when a send is acknowledged (for a durable
 * server: once the envelope is durable) and when a payload is delivered. The adapter answers the
 * server's delivery acknowledgements itself.
 *
 * `ceiling` speaks relay-ceiling-server.ts's frames; the Tacit server's adapter plugs in here
 * (tests/server/harness/tacit-relay-adapter.ts) so the bench and the crash test drive it alike.
 */
import WebSocket from 'ws'
import { FRAME_DELIVER, FRAME_DELIVERED, FRAME_SEND, FRAME_SENT } from './relay-ceiling-server.ts'

export interface RelayHandlers {
  /** The send with this token was acknowledged by the server. */
  onAck(token: number): void
  /** An envelope for this client arrived (already acknowledged back to the server by the adapter). */
  onDeliver(payload: Uint8Array): void
  /** The connection dropped (the server died or closed it). */
  onClose(): void
}

export interface RelayConnection {
  send(to: number, payload: Uint8Array, token: number): void
  close(): void
}

export interface RelayAdapter {
  readonly name: string
  connect(index: number, handlers: RelayHandlers): Promise<RelayConnection>
}

/** The plain ws relay: no accounts, the client's number is its identity. */
export function createCeilingAdapter(url: string): RelayAdapter {
  return {
    name: 'ceiling',
    connect(index, handlers) {
      return new Promise((resolve, reject) => {
        const socket = new WebSocket(`${url}/?id=${index}`, { perMessageDeflate: false })
        socket.binaryType = 'nodebuffer'
        socket.once('error', reject)
        socket.on('close', () => handlers.onClose())
        socket.on('message', (data: Buffer) => {
          const type = data[0]
          if (type === FRAME_SENT) handlers.onAck(data.readUInt32BE(1))
          else if (type === FRAME_DELIVER) {
            const ack = Buffer.allocUnsafe(5)
            ack[0] = FRAME_DELIVERED
            data.copy(ack, 1, 1, 5)
            socket.send(ack)
            handlers.onDeliver(data.subarray(5))
          }
        })
        socket.once('open', () => {
          socket.off('error', reject)
          socket.on('error', () => {})
          resolve({
            send(to, payload, token) {
              const frame = Buffer.allocUnsafe(9 + payload.length)
              frame[0] = FRAME_SEND
              frame.writeUInt32BE(token, 1)
              frame.writeUInt32BE(to, 5)
              frame.set(payload, 9)
              socket.send(frame)
            },
            close() {
              socket.terminate()
            },
          })
        })
      })
    },
  }
}
