/**
 * Assembles the server: storage, notifier, the HTTP app and the WebSocket endpoint on one
 * node:http server, the sweeper, and graceful shutdown (stop accepting, answer what is in
 * flight, flush storage's pending batches, close). `main.ts` is the command line around it.
 */
import { mkdirSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { bytesToBase64url } from '@tacit/protocol/wire/encoding'
import { MAX_FRAME_BYTES } from '@tacit/protocol/wire/limits'
import { SFU_PATH, SfuEndpoint } from '@tacit/sfu/endpoint'
import { MAX_MESSAGE_BYTES as MAX_SFU_MESSAGE_BYTES } from '@tacit/sfu/limits'
import { WebSocketServer } from 'ws'
import { ChallengeStore } from './challenges.ts'
import type { ServerConfig } from './config.ts'
import type { ServerContext } from './context.ts'
import { createHttpApp, type HttpApp } from './http/app.ts'
import { authenticateRequest } from './http/auth.ts'
import { createNodeHandler } from './http/node-adapter.ts'
import { withWebApp } from './http/web-app.ts'
import { createLogger, type Logger } from './logger.ts'
import { Metrics } from './metrics.ts'
import type { NatsNotifierStats } from './notify/nats-notifier.ts'
import { createLocalNotifier, type Notifier } from './notify/notifier.ts'
import { RateLimiter } from './rate-limiter.ts'
import { hashSecret, randomSecret } from './secrets.ts'
import { MAX_SWEEP_ROWS } from './storage/limits.ts'
import { openStorage } from './storage/open-storage.ts'
import type { Storage } from './storage/storage.ts'
import { CloseCode, MailboxConnection } from './ws/connection.ts'
import { ConnectionRegistry } from './ws/registry.ts'

export const WS_PATH = '/v1/ws'
/** How long shutdown waits for in-flight requests before closing connections anyway. */
export const SHUTDOWN_GRACE_MS = 5_000
/** WebSocket ping interval; a connection that missed one pong is terminated. */
export const HEARTBEAT_INTERVAL_MS = 30_000
export const INVITE_CODE_BYTES = 16
export const DEFAULT_INVITE_TTL_MS = 7 * 24 * 3600_000
export const SQLITE_FILE = 'tacit.sqlite'

export interface RunningServer {
  readonly port: number
  readonly url: string
  readonly ctx: ServerContext
  readonly app: HttpApp
  close(): Promise<void>
}

export interface ServerDeps {
  readonly storage?: Storage
  readonly notifier?: Notifier
  readonly log?: Logger
  readonly now?: () => number
  /** Where the first-start invite is printed (default: stderr). */
  readonly printInvite?: (text: string) => void
}

/**
 * Opens the configured database: PostgreSQL when a URL is given, else SQLite in the data folder.
 * `log` receives the storage's background failures; `backgroundWork: false` (the admin CLI) leaves
 * the storage's periodic work to the servers.
 */
export async function openConfiguredStorage(
  config: ServerConfig,
  options: { readonly log?: Logger; readonly backgroundWork?: boolean } = {},
): Promise<Storage> {
  const { log, backgroundWork } = options
  if (config.postgresUrl !== null) {
    return openStorage(
      {
        kind: 'postgres',
        url: config.postgresUrl,
        ...(config.postgresSchema !== null ? { schema: config.postgresSchema } : {}),
      },
      // Work the storage does on its own (payload rotation) has no request to fail: it is logged.
      {
        onBackgroundError: (event) => log?.log('warn', event, {}),
        ...(backgroundWork !== undefined ? { backgroundWork } : {}),
      },
    )
  }
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 })
  return openStorage({ kind: 'sqlite', path: `${config.dataDir}/${SQLITE_FILE}` })
}

/** Creates an invite and returns its code: the only place the code exists (storage keeps its hash). */
export async function createInviteCode(
  storage: Storage,
  now: number,
  ttlMs = DEFAULT_INVITE_TTL_MS,
): Promise<string> {
  const code = bytesToBase64url(randomSecret(INVITE_CODE_BYTES))
  await storage.createInvite(hashSecret(new TextEncoder().encode(code)), now, now + ttlMs)
  return code
}

export function createContext(
  config: ServerConfig,
  storage: Storage,
  notifier: Notifier,
  log: Logger,
  now: () => number,
  hooks: { shuttingDown: () => boolean; disconnectDevice: (deviceId: string) => void },
): ServerContext {
  return {
    storage,
    notifier,
    now,
    log,
    metrics: new Metrics(),
    challenges: new ChallengeStore(),
    addressLimiter: new RateLimiter(config.addressRateLimit),
    deviceLimiter: new RateLimiter(config.deviceRateLimit),
    policy: config.policy,
    ...hooks,
  }
}

async function sweep(ctx: ServerContext): Promise<void> {
  // MAX_SWEEP_ROWS per kind per call: call again while a count says there may be more.
  for (let round = 0; round < 100; round++) {
    const r = await ctx.storage.sweepExpired(ctx.now())
    ctx.metrics.increment('tacit_swept_total', 'Expired records deleted', { kind: 'envelopes' }, r.envelopes)
    ctx.metrics.increment('tacit_swept_total', 'Expired records deleted', { kind: 'blobs' }, r.blobs)
    ctx.metrics.increment('tacit_swept_total', 'Expired records deleted', { kind: 'sessions' }, r.sessions)
    if (r.envelopes < MAX_SWEEP_ROWS && r.blobs < MAX_SWEEP_ROWS && r.sessions < MAX_SWEEP_ROWS) return
  }
}

export async function startServer(config: ServerConfig, deps: ServerDeps = {}): Promise<RunningServer> {
  const now = deps.now ?? Date.now
  const log = deps.log ?? createLogger({ level: config.logLevel, logIp: config.logIp })
  const storage = deps.storage ?? (await openConfiguredStorage(config, { log }))
  // Advice for the operator (docs/operations.md); a database that cannot say does not stop the start.
  const warnings = await storage.configurationWarnings().catch(() => {
    log.log('warn', 'storage.configuration-unknown', {})
    return []
  })
  for (const warning of warnings) {
    log.log('warn', 'storage.configuration', { code: warning.code, message: warning.message })
  }
  let notifier = deps.notifier
  let natsStats: (() => NatsNotifierStats) | null = null
  if (notifier === undefined) {
    if (config.natsUrl !== null) {
      const { createNatsNotifier } = await import('./notify/nats-notifier.ts')
      // No periodic wake-up of every listener from the notifier: each connection already re-scans
      // its own mailbox within every `policy.mailboxResyncMs` (ws/connection.ts), at a random point.
      const nats = await createNatsNotifier({
        servers: config.natsUrl,
        ...(config.natsPrefix !== null ? { subjectPrefix: config.natsPrefix } : {}),
        resyncIntervalMs: 0,
      })
      natsStats = () => nats.stats()
      notifier = nats
    } else {
      notifier = createLocalNotifier()
    }
  }
  const registry = new ConnectionRegistry(config.policy.maxRequestsInFlight, config.policy.ackReplyDelayMs)
  let shuttingDown = false
  const ctx = createContext(config, storage, notifier, log, now, {
    shuttingDown: () => shuttingDown,
    disconnectDevice: (deviceId) => registry.closeDevice(deviceId, CloseCode.revoked, 'device revoked'),
  })
  if (natsStats !== null) {
    const read = natsStats
    ctx.metrics.addCollector((m) => {
      const s = read()
      m.setGauge('tacit_nats_peers', 'Other server processes heard from on NATS', s.peers)
      m.setGauge(
        'tacit_nats_peers_lost',
        'Peers that fell silent without a goodbye (each woke every local connection)',
        s.peersLost,
      )
      m.setGauge('tacit_nats_reconnects', 'Reconnections to NATS', s.reconnects)
    })
  }

  if ((await storage.listInvites()).length === 0) {
    const code = await createInviteCode(storage, now())
    const print = deps.printInvite ?? ((text: string) => process.stderr.write(text))
    print(
      `First start: admin invite code (valid 7 days): ${code}\n` +
        'Create more with: npm run tacit-admin -- invite create --data-dir <data folder>\n',
    )
  }

  const app = withWebApp(createHttpApp(ctx), { root: config.webDir })
  const origin = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`
  const server: Server = createServer(createNodeHandler(app, origin))
  // Longer than common proxy idle timeouts (60 s), so the proxy, not us, closes idle connections.
  server.keepAliveTimeout = 65_000
  server.headersTimeout = 66_000
  server.requestTimeout = 300_000
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_FRAME_BYTES })
  const alive = new WeakSet<object>()
  // Group calls (docs/protocol/sfu.md): signalling on SFU_PATH, authenticated with a device session.
  const sfu =
    config.sfu === null
      ? null
      : new SfuEndpoint({
          ...(config.sfu.portRange !== null ? { portRange: config.sfu.portRange } : {}),
          ...(config.sfu.address !== null ? { address: config.sfu.address } : {}),
          ...(config.sfu.announcedAddress !== null ? { announcedAddress: config.sfu.announcedAddress } : {}),
          now,
          log: (event, fields) => log.log('info', event, fields),
          authenticate: async (token) =>
            (
              await authenticateRequest(
                ctx,
                new Request(origin, { headers: { authorization: `Bearer ${token}` } }),
              )
            ).deviceId,
        })
  const sfuWss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: MAX_SFU_MESSAGE_BYTES,
  })
  if (sfu !== null) {
    ctx.metrics.addCollector((m) => {
      const s = sfu.stats()
      m.setGauge('tacit_sfu_rooms', 'Group calls on this SFU', s.rooms)
      m.setGauge('tacit_sfu_participants', 'Participants in group calls on this SFU', s.participants)
      m.setGauge(
        'tacit_sfu_forwarded_packets',
        'RTP packets the SFU forwarded (since start)',
        s.forwardedPackets,
      )
    })
  }

  const updateGauges = () => {
    ctx.metrics.setGauge('tacit_ws_connections', 'Open WebSocket connections', registry.size)
    ctx.metrics.setGauge(
      'tacit_ws_devices',
      'Devices with an authenticated connection here',
      registry.devices,
    )
  }

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const refuse = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
    }
    const path = (req.url ?? '').split('?')[0]
    if (path !== WS_PATH && !(path === SFU_PATH && sfu !== null)) return refuse(404, 'Not Found')
    if (shuttingDown) return refuse(503, 'Service Unavailable')
    if (ctx.addressLimiter.take(req.socket.remoteAddress ?? 'unknown', now()) > 0) {
      ctx.metrics.increment('tacit_rate_limited_total', 'Requests refused by a rate limit', {
        scope: 'address',
      })
      return refuse(429, 'Too Many Requests')
    }
    if (path === SFU_PATH && sfu !== null) {
      sfuWss.handleUpgrade(req, socket, head, (ws) => {
        alive.add(ws)
        ws.on('pong', () => alive.add(ws))
        sfu.accept(ws)
      })
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      alive.add(ws)
      ws.on('pong', () => alive.add(ws))
      const connection = new MailboxConnection(ctx, ws, registry, {
        ...(req.socket.remoteAddress !== undefined ? { remoteAddress: req.socket.remoteAddress } : {}),
      })
      ws.on('close', updateGauges)
      updateGauges()
      log.log('debug', 'ws.open', { ip: log.address(req.socket.remoteAddress) })
      void connection
    })
  })

  const heartbeat = setInterval(() => {
    for (const ws of [...wss.clients, ...sfuWss.clients]) {
      if (!alive.has(ws)) {
        ws.terminate()
        continue
      }
      alive.delete(ws)
      ws.ping()
    }
  }, HEARTBEAT_INTERVAL_MS)
  heartbeat.unref()

  let sweeping = false
  const sweeper = setInterval(() => {
    if (sweeping) return
    sweeping = true
    sweep(ctx)
      .catch(() => log.log('warn', 'sweep.failed', {}))
      .finally(() => {
        sweeping = false
      })
  }, config.sweepIntervalMs)
  sweeper.unref()

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(config.port, config.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : config.port
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`

  let closing: Promise<void> | null = null
  const close = () => {
    closing ??= (async () => {
      shuttingDown = true
      clearInterval(heartbeat)
      clearInterval(sweeper)
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      // Answer what is in flight (each answer only after storage made it durable), then close.
      const grace = new Promise<void>((resolve) => setTimeout(resolve, SHUTDOWN_GRACE_MS).unref())
      await Promise.race([Promise.allSettled([...registry.all].map((c) => c.settled())), grace])
      for (const c of [...registry.all]) c.close(CloseCode.goingAway, 'server shutting down')
      sfu?.close()
      for (const ws of [...wss.clients, ...sfuWss.clients]) ws.terminate()
      wss.close()
      sfuWss.close()
      await Promise.race([stopped, grace])
      server.closeAllConnections()
      await notifier.close()
      // Flushes storage's pending group-commit batches before the database closes.
      await storage.close()
      log.log('info', 'server.stopped', {})
    })()
    return closing
  }

  return { port, url, ctx, app, close }
}
