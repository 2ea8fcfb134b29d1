/**
 * Server configuration from flags, then environment, then defaults (docs/operations.md
 * §Configuration). Parsing is pure: `parseConfig(argv, env)` returns a config or throws a
 * `ConfigError` naming the flag, so `main.ts` can print it and exit 2.
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { MAX_BLOB_BYTES, MAX_ENVELOPE_TTL_SECONDS } from '@tacit/protocol/wire/limits'
import { DEFAULT_POLICY, type ServerPolicy } from './context.ts'
import { DEFAULT_TURN_TTL_SECONDS, type TurnConfig } from './http/turn-routes.ts'
import type { LogLevel } from './logger.ts'
import { isSubjectPrefix } from './notify/nats-notifier.ts'
import type { RateLimit } from './rate-limiter.ts'

export interface ServerConfig {
  readonly host: string
  readonly port: number
  readonly dataDir: string
  readonly postgresUrl: string | null
  readonly postgresSchema: string | null
  readonly natsUrl: string | null
  /** Deployments sharing one NATS server keep apart by prefix (null: the notifier's default). */
  readonly natsPrefix: string | null
  readonly logIp: boolean
  readonly logLevel: LogLevel
  readonly policy: ServerPolicy
  readonly addressRateLimit: RateLimit | null
  readonly deviceRateLimit: RateLimit | null
  /** How often expired envelopes, blobs and sessions are swept. */
  readonly sweepIntervalMs: number
  /** The built web client served at `/` (http/web-app.ts); null: the API only. */
  readonly webDir: string | null
  /** The group-call SFU on `/v1/sfu` (docs/operations.md §Group calls (SFU)); null: off. */
  readonly sfu: SfuConfig | null
}

export interface SfuConfig {
  /** UDP ports for media, inclusive; null: any free port. */
  readonly portRange: readonly [number, number] | null
  /** The IPv4 address media binds to and advertises; null: every interface. */
  readonly address: string | null
  /** Advertised instead of `address` (1:1 NAT); needs `address`. */
  readonly announcedAddress: string | null
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}

/**
 * Bounds of `--max-requests-in-flight` (ws/intake.ts). The floor keeps the gate from choking the
 * server to a trickle (at 4,096 PostgreSQL's closed loop already delivered a third less,
 * docs/operations.md); above a million, a flood of 4 KiB envelopes could hold 4 GiB of them.
 */
export const MIN_REQUESTS_IN_FLIGHT = 64
export const MAX_REQUESTS_IN_FLIGHT = 1_048_576

export const DEFAULT_ADDRESS_RATE_LIMIT: RateLimit = { ratePerSecond: 200, burst: 2000 }
export const DEFAULT_DEVICE_RATE_LIMIT: RateLimit = { ratePerSecond: 2000, burst: 4000 }

export const USAGE = `Usage: npm start -- [options]

  --host <address>          listen address (TACIT_HOST, default 127.0.0.1)
  --port <n>                listen port, 0 for any free one (TACIT_PORT, default 8080)
  --data-dir <path>         data folder (TACIT_DATA_DIR, default ./data)
  --postgres-url <url>      use PostgreSQL instead of SQLite (TACIT_POSTGRES_URL)
  --postgres-schema <name>  PostgreSQL schema (TACIT_POSTGRES_SCHEMA, default public)
  --nats-url <url>          NATS for mailbox hints between processes (TACIT_NATS_URL)
  --nats-prefix <subject>   subject prefix on NATS, one per deployment (TACIT_NATS_PREFIX, default tacit)
  --log-ip                  include client addresses in logs (TACIT_LOG_IP=1)
  --log-level <level>       debug | info | warn | error (TACIT_LOG_LEVEL, default info)
  --envelope-ttl-days <n>   default envelope time-to-live (default 14)
  --blob-ttl-days <n>       blob time-to-live (default 30)
  --max-blob-mb <n>         largest blob (default 256)
  --blob-quota-mb <n>       blob bytes per account (default 1024)
  --rate-limit-address <r>/<burst>  per-address limit, or "off" (default 200/2000)
  --rate-limit-device <r>/<burst>   per-device frame limit, or "off" (default 2000/4000)
  --sweep-interval-s <n>    how often expired data is deleted (default 60)
  --max-requests-in-flight <n>  requests read from all connections and not yet answered; beyond,
                            the server stops reading until half are (TACIT_MAX_REQUESTS_IN_FLIGHT,
                            default 16384)
  --web-dir <path>|off      built web client served at / (TACIT_WEB_DIR, default packages/web/dist)
  --turn-url <url>[,<url>]  TURN server(s) for calls, turn: or turns: (TACIT_TURN_URLS)
  --turn-secret-file <path> coturn's static-auth-secret, read from a file (TACIT_TURN_SECRET_FILE,
                            or the secret itself in TACIT_TURN_SECRET)
  --turn-ttl-s <n>          lifetime of TURN credentials (TACIT_TURN_TTL_S, default 3600)
  --no-sfu                  no group-call SFU on /v1/sfu (TACIT_SFU=0)
  --sfu-ports <min>-<max>   UDP ports for SFU media (TACIT_SFU_PORTS, default any free port)
  --sfu-address <ipv4>      address SFU media binds to and advertises (TACIT_SFU_ADDRESS,
                            default every interface)
  --sfu-announced-address <ipv4>  advertised instead of --sfu-address, behind 1:1 NAT
                            (TACIT_SFU_ANNOUNCED_ADDRESS)
  --help
`

const FLAGS = new Set([
  'host',
  'port',
  'data-dir',
  'postgres-url',
  'postgres-schema',
  'nats-url',
  'nats-prefix',
  'log-ip',
  'log-level',
  'envelope-ttl-days',
  'blob-ttl-days',
  'max-blob-mb',
  'blob-quota-mb',
  'rate-limit-address',
  'rate-limit-device',
  'sweep-interval-s',
  'max-requests-in-flight',
  'web-dir',
  'turn-url',
  'turn-secret-file',
  'turn-ttl-s',
  'no-sfu',
  'sfu-ports',
  'sfu-address',
  'sfu-announced-address',
  'help',
])
const BOOLEAN_FLAGS = new Set(['log-ip', 'no-sfu', 'help'])

/** `npm run build:web` writes the web client here. */
export const DEFAULT_WEB_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url))

export function parseFlags(argv: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument ${JSON.stringify(arg)}`)
    let name = arg.slice(2)
    let value: string | undefined
    const eq = name.indexOf('=')
    if (eq >= 0) {
      value = name.slice(eq + 1)
      name = name.slice(0, eq)
    }
    if (!FLAGS.has(name)) throw new ConfigError(`unknown flag --${name}`)
    if (BOOLEAN_FLAGS.has(name)) {
      flags.set(name, value ?? 'true')
      continue
    }
    if (value === undefined) {
      value = argv[++i]
      if (value === undefined) throw new ConfigError(`--${name} needs a value`)
    }
    flags.set(name, value)
  }
  return flags
}

function natsPrefix(text: string | undefined): string | null {
  if (text === undefined || text === '') return null
  if (!isSubjectPrefix(text)) {
    throw new ConfigError(
      '--nats-prefix must be dot-separated tokens of A-Z a-z 0-9 _ -, at most 64 characters',
    )
  }
  return text
}

function integer(text: string, name: string, min: number, max: number): number {
  if (!/^\d+$/.test(text)) throw new ConfigError(`--${name} must be a whole number`)
  const n = Number(text)
  if (n < min || n > max) throw new ConfigError(`--${name} must be between ${min} and ${max}`)
  return n
}

function rateLimit(text: string, name: string): RateLimit | null {
  if (text === 'off') return null
  const m = /^(\d+)\/(\d+)$/.exec(text)
  if (!m) throw new ConfigError(`--${name} must be <rate>/<burst> or off`)
  const ratePerSecond = Number(m[1])
  const burst = Number(m[2])
  if (ratePerSecond < 1 || burst < 1) throw new ConfigError(`--${name} needs a rate and burst of at least 1`)
  return { ratePerSecond, burst }
}

/** Most TURN URLs one server hands out, and the shortest secret accepted (coturn takes any). */
const MAX_TURN_URLS = 8
const MIN_TURN_SECRET_BYTES = 16

/**
 * TURN for calls: URLs, and the shared secret from a file (read here, once, at start-up) or the
 * environment. No URLs: no TURN, whatever else is set.
 */
function turnConfig(get: (flag: string, env: string) => string | undefined, cwd: string): TurnConfig | null {
  const urlsText = get('turn-url', 'TACIT_TURN_URLS') ?? ''
  const urls = urlsText
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '')
  if (urls.length === 0) return null
  if (urls.length > MAX_TURN_URLS) throw new ConfigError(`--turn-url takes at most ${MAX_TURN_URLS} URLs`)
  for (const u of urls) {
    if (!/^turns?:[^\s,]{1,250}$/.test(u)) throw new ConfigError('--turn-url must be turn: or turns: URLs')
  }
  const file = get('turn-secret-file', 'TACIT_TURN_SECRET_FILE')
  let secret: string | undefined
  if (file !== undefined && file !== '') {
    try {
      secret = readFileSync(resolve(cwd, file), 'utf8').trim()
    } catch {
      throw new ConfigError('--turn-secret-file cannot be read')
    }
  } else {
    secret = get('turn-secret', 'TACIT_TURN_SECRET')?.trim()
  }
  if (secret === undefined || Buffer.byteLength(secret) < MIN_TURN_SECRET_BYTES) {
    throw new ConfigError(
      `--turn-url needs a TURN secret of at least ${MIN_TURN_SECRET_BYTES} bytes (--turn-secret-file)`,
    )
  }
  const ttlSeconds = integer(
    get('turn-ttl-s', 'TACIT_TURN_TTL_S') ?? String(DEFAULT_TURN_TTL_SECONDS),
    'turn-ttl-s',
    60,
    86400,
  )
  return { urls, secret: new TextEncoder().encode(secret), ttlSeconds }
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/

function sfuConfig(
  get: (flag: string, env: string) => string | undefined,
  noSfuFlag: string | undefined,
  env: NodeJS.ProcessEnv,
): SfuConfig | null {
  if (noSfuFlag !== undefined && noSfuFlag !== 'false') return null
  if (noSfuFlag === undefined && ['0', 'off', 'false'].includes(env.TACIT_SFU ?? '')) return null
  const ports = get('sfu-ports', 'TACIT_SFU_PORTS')
  let portRange: readonly [number, number] | null = null
  if (ports !== undefined) {
    const m = /^(\d+)-(\d+)$/.exec(ports)
    if (!m) throw new ConfigError('--sfu-ports must be <min>-<max>')
    const min = integer(m[1]!, 'sfu-ports', 1024, 65535)
    const max = integer(m[2]!, 'sfu-ports', 1024, 65535)
    // werift needs distinct bounds; a call's participant takes one port.
    if (max - min < 1) throw new ConfigError('--sfu-ports needs at least two ports')
    portRange = [min, max]
  }
  const address = get('sfu-address', 'TACIT_SFU_ADDRESS') ?? null
  if (address !== null && !IPV4.test(address)) throw new ConfigError('--sfu-address must be an IPv4 address')
  const announcedAddress = get('sfu-announced-address', 'TACIT_SFU_ANNOUNCED_ADDRESS') ?? null
  if (announcedAddress !== null) {
    if (!IPV4.test(announcedAddress)) throw new ConfigError('--sfu-announced-address must be an IPv4 address')
    if (address === null) throw new ConfigError('--sfu-announced-address needs --sfu-address')
  }
  return { portRange, address, announcedAddress }
}

export function parseConfig(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  cwd = process.cwd(),
): ServerConfig {
  const flags = parseFlags(argv)
  if (flags.has('help')) throw new ConfigError(USAGE)
  const get = (flag: string, envName: string): string | undefined =>
    flags.get(flag) ?? env[envName] ?? undefined
  const day = 24 * 3600_000
  const mib = 1024 * 1024
  const logLevel = get('log-level', 'TACIT_LOG_LEVEL') ?? 'info'
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel))
    throw new ConfigError('--log-level must be debug, info, warn or error')
  const envelopeTtlDays = integer(
    get('envelope-ttl-days', 'TACIT_ENVELOPE_TTL_DAYS') ?? '14',
    'envelope-ttl-days',
    1,
    MAX_ENVELOPE_TTL_SECONDS / 86400,
  )
  const maxBlobMb = integer(
    get('max-blob-mb', 'TACIT_MAX_BLOB_MB') ?? '256',
    'max-blob-mb',
    1,
    MAX_BLOB_BYTES / mib,
  )
  const logIpText = get('log-ip', 'TACIT_LOG_IP')
  const webDir = get('web-dir', 'TACIT_WEB_DIR') ?? DEFAULT_WEB_DIR
  return {
    host: get('host', 'TACIT_HOST') ?? '127.0.0.1',
    port: integer(get('port', 'TACIT_PORT') ?? '8080', 'port', 0, 65535),
    dataDir: resolve(cwd, get('data-dir', 'TACIT_DATA_DIR') ?? 'data'),
    postgresUrl: get('postgres-url', 'TACIT_POSTGRES_URL') || null,
    postgresSchema: get('postgres-schema', 'TACIT_POSTGRES_SCHEMA') || null,
    natsUrl: get('nats-url', 'TACIT_NATS_URL') || null,
    natsPrefix: natsPrefix(get('nats-prefix', 'TACIT_NATS_PREFIX')),
    logIp: logIpText === 'true' || logIpText === '1',
    logLevel: logLevel as LogLevel,
    policy: {
      ...DEFAULT_POLICY,
      envelopeTtlMs: envelopeTtlDays * day,
      blobTtlMs: integer(get('blob-ttl-days', 'TACIT_BLOB_TTL_DAYS') ?? '30', 'blob-ttl-days', 1, 3650) * day,
      maxBlobBytes: maxBlobMb * mib,
      blobQuotaBytes:
        integer(get('blob-quota-mb', 'TACIT_BLOB_QUOTA_MB') ?? '1024', 'blob-quota-mb', 1, 1024 * 1024) * mib,
      maxRequestsInFlight: integer(
        get('max-requests-in-flight', 'TACIT_MAX_REQUESTS_IN_FLIGHT') ??
          String(DEFAULT_POLICY.maxRequestsInFlight),
        'max-requests-in-flight',
        MIN_REQUESTS_IN_FLIGHT,
        MAX_REQUESTS_IN_FLIGHT,
      ),
      turn: turnConfig(get, cwd),
    },
    addressRateLimit: rateLimit(
      get('rate-limit-address', 'TACIT_RATE_LIMIT_ADDRESS') ?? '200/2000',
      'rate-limit-address',
    ),
    deviceRateLimit: rateLimit(
      get('rate-limit-device', 'TACIT_RATE_LIMIT_DEVICE') ?? '2000/4000',
      'rate-limit-device',
    ),
    sweepIntervalMs:
      integer(get('sweep-interval-s', 'TACIT_SWEEP_INTERVAL_S') ?? '60', 'sweep-interval-s', 1, 86400) * 1000,
    webDir: webDir === 'off' ? null : resolve(cwd, webDir),
    sfu: sfuConfig(get, flags.get('no-sfu'), env),
  }
}
