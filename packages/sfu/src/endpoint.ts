/**
 * The SFU as the Tacit server mounts it on `/v1/sfu` (docs/protocol/sfu.md): the server upgrades
 * the request with its own WebSocket server and hands each socket to `accept`; the endpoint runs a
 * session per socket against one `Sfu`. Kept free of the `ws` package and of the server's storage:
 * the server passes in how a session token becomes a device id.
 */
import { SfuError } from './errors.ts'
import { SfuSession } from './session.ts'
import { Sfu, type SfuOptions, type SfuStats } from './sfu.ts'

export const SFU_PATH = '/v1/sfu'

/** The part of a `ws` WebSocket the endpoint uses. */
export interface EndpointSocket {
  send(data: string): void
  close(code: number, reason: string): void
  on(event: 'message', listener: (data: unknown, isBinary: boolean) => void): unknown
  on(event: 'close', listener: () => void): unknown
  on(event: 'error', listener: (error: Error) => void): unknown
}

export interface EndpointOptions extends SfuOptions {
  /** A device session token → the device id; any error means `unauthenticated`. */
  readonly authenticate: (token: string) => Promise<string>
}

export class SfuEndpoint {
  readonly sfu: Sfu
  private readonly sessionsPerDevice = new Map<string, number>()
  private readonly sessions = new Set<SfuSession>()

  constructor(private readonly options: EndpointOptions) {
    this.sfu = new Sfu(options)
  }

  accept(socket: EndpointSocket): void {
    const session = new SfuSession(this.sfu, socket, {
      authenticate: async (token) => {
        try {
          return await this.options.authenticate(token)
        } catch (error) {
          // The cause (unknown, expired, revoked) is not told apart to the client.
          throw new SfuError('unauthenticated', 'the session token is not valid', { cause: error })
        }
      },
      sessionsPerDevice: this.sessionsPerDevice,
    })
    this.sessions.add(session)
    socket.on('message', (data, isBinary) => {
      if (isBinary) return session.receive(null)
      const text = Buffer.isBuffer(data)
        ? data.toString('utf8')
        : Array.isArray(data)
          ? Buffer.concat(data).toString('utf8')
          : null
      session.receive(text)
    })
    socket.on('close', () => {
      this.sessions.delete(session)
      session.closed()
    })
    socket.on('error', () => {
      // Followed by 'close'; nothing is logged (it may name the peer).
    })
  }

  stats(): SfuStats & { readonly sessions: number } {
    return { ...this.sfu.stats(), sessions: this.sessions.size }
  }

  close(): void {
    this.sfu.close()
    for (const session of this.sessions) session.closed()
    this.sessions.clear()
  }
}
