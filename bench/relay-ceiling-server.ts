/**
 * The ceiling for `bench:relay`: a plain `ws` relay with no storage, no authentication and no
 * mailbox — forward, acknowledge, forget. Whatever the real server does on top of this costs
 * something; the benchmark reports how much as a ratio to this relay measured in the same run.
 *
 * Frames (binary; integers big-endian):
 *   client -> relay  SEND          [1][token u32][recipient u32][payload]
 *   relay -> sender  SENT          [3][token u32]            (after forwarding)
 *   relay -> client  DELIVER       [2][seq u32][payload]
 *   client -> relay  DELIVERED     [4][seq u32]              (read and dropped: no mailbox)
 * A client says who it is in the URL: ws://host:port/?id=<n>.
 *
 * Started by relay.bench.ts as its own process; prints one JSON line {"listening":port,"pid":n}.
 */
import { type WebSocket, WebSocketServer } from 'ws'

export const FRAME_SEND = 1
export const FRAME_DELIVER = 2
export const FRAME_SENT = 3
export const FRAME_DELIVERED = 4
/** Frames larger than this are refused by ws itself: envelopes here are at most 4 KiB + header. */
export const MAX_CEILING_FRAME_BYTES = 64 * 1024
export const MAX_CEILING_CLIENTS = 100_000

function main(): void {
  const portArg = process.argv.indexOf('--port')
  const port = portArg >= 0 ? Number(process.argv[portArg + 1]) : 0
  const clients = new Map<number, WebSocket>()
  let seq = 0
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port,
    perMessageDeflate: false,
    maxPayload: MAX_CEILING_FRAME_BYTES,
    clientTracking: false,
  })
  wss.on('connection', (socket, request) => {
    const id = Number(new URL(request.url ?? '/', 'http://x').searchParams.get('id'))
    if (!Number.isSafeInteger(id) || id < 0 || id >= MAX_CEILING_CLIENTS) {
      socket.close(1008, 'bad id')
      return
    }
    clients.set(id, socket)
    socket.on('close', () => {
      if (clients.get(id) === socket) clients.delete(id)
    })
    socket.on('message', (data, isBinary) => {
      if (!isBinary || !Buffer.isBuffer(data) || data.length < 1) return
      const type = data[0]
      if (type === FRAME_SEND && data.length >= 9) {
        const token = data.readUInt32BE(1)
        const recipient = clients.get(data.readUInt32BE(5))
        if (recipient !== undefined) {
          const out = Buffer.allocUnsafe(data.length - 4)
          out[0] = FRAME_DELIVER
          seq = (seq + 1) >>> 0
          out.writeUInt32BE(seq, 1)
          data.copy(out, 5, 9)
          recipient.send(out, { binary: true })
        }
        const ack = Buffer.allocUnsafe(5)
        ack[0] = FRAME_SENT
        ack.writeUInt32BE(token, 1)
        socket.send(ack, { binary: true })
      }
      // FRAME_DELIVERED: nothing to delete.
    })
  })
  wss.on('listening', () => {
    const address = wss.address()
    const listening = typeof address === 'object' && address !== null ? address.port : 0
    process.stdout.write(`${JSON.stringify({ listening, pid: process.pid })}\n`)
  })
  const stop = () => wss.close(() => process.exit(0))
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

if (import.meta.url === `file://${process.argv[1]}`) main()
