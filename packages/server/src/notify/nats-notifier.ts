/**
 * Mailbox hints between server processes over NATS core (no JetStream: a hint is not worth
 * persisting — the mailbox in the database is the truth; see `notifier.ts`).
 *
 * - One subject per mailbox, `<prefix>.<first 128 bits of SHA-256("tacit/notify/v1\0" ‖ device id)>`
 *   in hex, so neither handles nor device ids appear on the bus or in its monitoring endpoints.
 * - Each process subscribes the subjects of the devices connected to it (one NATS subscription per
 *   device, shared by its listeners) and unsubscribes when the last one leaves.
 * - Coalescing on both sides: publishes of one event-loop turn go out once per mailbox, and
 *   hints arriving in one turn wake each listener once.
 * - `noEcho`: a publish for a device connected to this same process is delivered locally at once
 *   instead of round-tripping through NATS (and is not delivered a second time by the echo).
 * - Lost hints (a NATS outage, a process that died between its commit and its publish) cost
 *   latency only: on every reconnect all local listeners are woken, and every `resyncIntervalMs`
 *   too, so each connection re-fetches its mailbox from the database.
 */
import { createHash } from 'node:crypto'
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node'
import {
  checkDeviceId,
  ListenerTable,
  type Notifier,
  type NotifierOptions,
  NotifyError,
  RESYNC_INTERVAL_MS,
} from './notifier.ts'

export const DEFAULT_SUBJECT_PREFIX = 'tacit.mail'
/** Publishes coalesced in one turn before they are sent without waiting for the turn to end. */
export const MAX_PENDING_PUBLISHES = 10_000
/** How long close() waits for buffered hints to reach NATS before it closes anyway. */
export const DRAIN_TIMEOUT_MS = 2_000
/** NATS subject tokens: keep the prefix plain so every subject stays a literal (no wildcards). */
const SUBJECT_PREFIX_PATTERN = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/
export const MAX_SUBJECT_PREFIX_LENGTH = 64
const SUBJECT_HASH_DOMAIN = 'tacit/notify/v1\0'

export interface NatsNotifierOptions extends NotifierOptions {
  /** NATS server URL(s), e.g. `nats://127.0.0.1:4222` (TACIT_NATS_URL). */
  servers: string | string[]
  /** Keeps deployments that share one NATS apart. */
  subjectPrefix?: string
  /** Wake every listener this often so a lost hint costs at most this long; 0 turns it off. */
  resyncIntervalMs?: number
  /** Delay between reconnect attempts (NATS reconnects forever). */
  reconnectTimeWaitMs?: number
  /** Shown in NATS monitoring; no ids. */
  name?: string
}

export interface NatsNotifierStats {
  readonly subscribedDevices: number
  /** Hints sent to NATS (after coalescing). */
  readonly published: number
  /** Hints received from NATS. */
  readonly received: number
  /** Publishes NATS refused (connection closed): harmless, see the module comment. */
  readonly dropped: number
  readonly reconnects: number
  readonly closed: boolean
}

export interface NatsNotifier extends Notifier {
  /** Sends pending publishes and waits for the NATS server to have processed them. */
  flush(): Promise<void>
  stats(): NatsNotifierStats
}

export function mailboxSubject(deviceId: string, prefix: string = DEFAULT_SUBJECT_PREFIX): string {
  checkDeviceId(deviceId)
  const digest = createHash('sha256').update(SUBJECT_HASH_DOMAIN).update(deviceId, 'utf8').digest()
  return `${prefix}.${digest.subarray(0, 16).toString('hex')}`
}

export async function createNatsNotifier(options: NatsNotifierOptions): Promise<NatsNotifier> {
  const prefix = options.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX
  if (prefix.length > MAX_SUBJECT_PREFIX_LENGTH || !SUBJECT_PREFIX_PATTERN.test(prefix)) {
    throw new NotifyError('invalid-argument', 'subject prefix must be dot-separated [A-Za-z0-9_-] tokens')
  }
  const resyncIntervalMs = options.resyncIntervalMs ?? RESYNC_INTERVAL_MS
  if (!Number.isSafeInteger(resyncIntervalMs) || resyncIntervalMs < 0) {
    throw new NotifyError('invalid-argument', 'resyncIntervalMs must be a non-negative integer')
  }

  let nc: NatsConnection
  try {
    nc = await connect({
      servers: options.servers,
      name: options.name ?? 'tacit-server',
      noEcho: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: options.reconnectTimeWaitMs ?? 500,
    })
  } catch (cause) {
    throw new NotifyError('unavailable', 'cannot connect to NATS', { cause })
  }

  const subscriptions = new Map<string, Subscription>()
  let published = 0
  let received = 0
  let dropped = 0
  let reconnects = 0
  let closed = false

  const table = new ListenerTable({
    ...(options.onListenerError ? { onListenerError: options.onListenerError } : {}),
    onFirst(deviceId) {
      const sub = nc.subscribe(mailboxSubject(deviceId, prefix), {
        callback: (error) => {
          // An error here is a permissions or slow-consumer notice from NATS: the hint may be
          // gone, so wake the listener anyway; a spurious wake costs one empty fetch.
          if (error === null) received += 1
          table.mark(deviceId)
        },
      })
      subscriptions.set(deviceId, sub)
    },
    onLast(deviceId) {
      subscriptions.get(deviceId)?.unsubscribe()
      subscriptions.delete(deviceId)
    },
  })

  const pending = new Set<string>()
  let scheduled: ReturnType<typeof setImmediate> | null = null
  const sendPending = () => {
    if (scheduled !== null) clearImmediate(scheduled)
    scheduled = null
    for (const deviceId of pending) {
      try {
        nc.publish(mailboxSubject(deviceId, prefix))
        published += 1
      } catch {
        dropped += 1
      }
    }
    pending.clear()
  }

  const statusLoop = (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'reconnect') {
        reconnects += 1
        // Hints published while we were away are gone; the mailboxes are not.
        table.markAll()
      }
    }
  })().catch(() => {})

  const timer = resyncIntervalMs > 0 ? setInterval(() => table.markAll(), resyncIntervalMs) : null
  timer?.unref()

  return {
    publish(deviceId, publishOptions) {
      checkDeviceId(deviceId)
      if (closed) return
      if (publishOptions?.handedLocally !== true) table.mark(deviceId)
      pending.add(deviceId)
      if (pending.size >= MAX_PENDING_PUBLISHES) sendPending()
      else if (scheduled === null) scheduled = setImmediate(sendPending)
    },
    subscribe(deviceId, onMail) {
      if (closed) throw new NotifyError('closed', 'notifier is closed')
      return table.add(deviceId, onMail)
    },
    async flush() {
      sendPending()
      if (!closed) await nc.flush()
    },
    stats() {
      return {
        subscribedDevices: subscriptions.size,
        published,
        received,
        dropped,
        reconnects,
        closed,
      }
    },
    async close() {
      if (closed) return
      sendPending()
      closed = true
      if (timer !== null) clearInterval(timer)
      table.clear()
      subscriptions.clear()
      // drain() sends what is buffered, then closes; a NATS that is down cannot be drained, so
      // the wait is bounded and the connection is closed outright after it.
      let drainTimer: ReturnType<typeof setTimeout> | undefined
      const drained = await Promise.race([
        nc.drain().then(
          () => true,
          () => false,
        ),
        new Promise<false>((resolve) => {
          drainTimer = setTimeout(() => resolve(false), DRAIN_TIMEOUT_MS)
        }),
      ])
      clearTimeout(drainTimer)
      if (!drained) await nc.close().catch(() => {})
      await nc.closed()
      await statusLoop
    },
  }
}
