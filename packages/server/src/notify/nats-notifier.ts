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
 *   latency only: on every reconnect all local listeners are woken (spread out,
 *   `RECOVERY_WAKES_PER_SECOND`), and every `resyncIntervalMs` too, so each connection re-fetches
 *   its mailbox from the database.
 * - Peer liveness: every instance announces itself on `<prefix>.peers` every `peerHeartbeatMs`
 *   with a random instance id (nothing about devices or the host). A process killed after it
 *   acknowledged a send but before its hints left its buffers takes those hints with it; when a
 *   peer falls silent for `peerTimeoutMs`, every local listener is woken, so such a crash costs
 *   seconds, not a whole resync interval. A peer that closes cleanly says goodbye (its pending
 *   hints were drained first) and wakes nobody.
 */
import { createHash, randomBytes } from 'node:crypto'
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node'
import {
  checkDeviceId,
  ListenerTable,
  type Notifier,
  type NotifierOptions,
  NotifyError,
  RESYNC_INTERVAL_MS,
  type RecoveryPacing,
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
/** How often an instance announces that it is alive. */
export const PEER_HEARTBEAT_MS = 2_000
/** Heartbeats a peer may miss before it counts as gone (its unsent hints are then presumed lost). */
export const PEER_MISSED_HEARTBEATS = 3
/** Peers tracked at once; beyond that new ones are ignored (their death then costs one resync interval). */
export const MAX_PEERS = 1_024
const PEER_ALIVE = 'alive '
const PEER_BYE = 'bye '
/** Instance ids are 16 random bytes in hex. */
const INSTANCE_ID_PATTERN = /^[0-9a-f]{32}$/

/** A prefix of whole NATS subject tokens: no wildcards, no empty tokens, at most 64 characters. */
export function isSubjectPrefix(prefix: string): boolean {
  return prefix.length <= MAX_SUBJECT_PREFIX_LENGTH && SUBJECT_PREFIX_PATTERN.test(prefix)
}

export interface NatsNotifierOptions extends NotifierOptions {
  /** NATS server URL(s), e.g. `nats://127.0.0.1:4222` (TACIT_NATS_URL). */
  servers: string | string[]
  /** Keeps deployments that share one NATS apart. */
  subjectPrefix?: string
  /** Wake every listener this often so a lost hint costs at most this long; 0 turns it off. */
  resyncIntervalMs?: number
  /** How often this instance announces itself to its peers; 0 turns peer liveness off. */
  peerHeartbeatMs?: number
  /** Silence after which a peer counts as gone; defaults to PEER_MISSED_HEARTBEATS heartbeats. */
  peerTimeoutMs?: number
  /** Delay between reconnect attempts (NATS reconnects forever). */
  reconnectTimeWaitMs?: number
  /** Shown in NATS monitoring; no ids. */
  name?: string
  /** How the wake-ups after a reconnect or a lost peer are spread (`RECOVERY_WAKES_PER_SECOND`). */
  recovery?: Partial<RecoveryPacing>
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
  /** Peers heard from within their timeout. */
  readonly peers: number
  /** Peers that fell silent without saying goodbye (each one woke every local listener). */
  readonly peersLost: number
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
  if (!isSubjectPrefix(prefix)) {
    throw new NotifyError('invalid-argument', 'subject prefix must be dot-separated [A-Za-z0-9_-] tokens')
  }
  const resyncIntervalMs = options.resyncIntervalMs ?? RESYNC_INTERVAL_MS
  if (!Number.isSafeInteger(resyncIntervalMs) || resyncIntervalMs < 0) {
    throw new NotifyError('invalid-argument', 'resyncIntervalMs must be a non-negative integer')
  }
  const heartbeatMs = options.peerHeartbeatMs ?? PEER_HEARTBEAT_MS
  const peerTimeoutMs = options.peerTimeoutMs ?? heartbeatMs * PEER_MISSED_HEARTBEATS
  if (!Number.isSafeInteger(heartbeatMs) || heartbeatMs < 0) {
    throw new NotifyError('invalid-argument', 'peerHeartbeatMs must be a non-negative integer')
  }
  if (!Number.isSafeInteger(peerTimeoutMs) || peerTimeoutMs <= heartbeatMs) {
    throw new NotifyError('invalid-argument', 'peerTimeoutMs must be an integer above peerHeartbeatMs')
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
    ...(options.recovery ? { recovery: options.recovery } : {}),
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

  // Peer liveness (module comment). The subject is not a mailbox subject: those end in 32 hex digits.
  const instanceId = randomBytes(16).toString('hex')
  const peersSubject = `${prefix}.peers`
  const peerLastSeen = new Map<string, number>()
  let peersLost = 0
  let peerTimer: ReturnType<typeof setInterval> | null = null
  if (heartbeatMs > 0) {
    const decoder = new TextDecoder()
    nc.subscribe(peersSubject, {
      callback: (error, msg) => {
        if (error !== null || msg.data.byteLength > 64) return
        const text = decoder.decode(msg.data)
        const alive = text.startsWith(PEER_ALIVE)
        const id = text.slice(alive ? PEER_ALIVE.length : PEER_BYE.length)
        if (!INSTANCE_ID_PATTERN.test(id) || id === instanceId) return
        if (alive) {
          const known = peerLastSeen.has(id)
          if (known || peerLastSeen.size < MAX_PEERS) {
            peerLastSeen.set(id, Date.now())
            // A newcomer hears from us now, not at our next heartbeat: a peer that dies in its
            // first seconds must already be known to the others for its death to be noticed.
            if (!known) greetSoon()
          }
        } else if (text.startsWith(PEER_BYE)) {
          peerLastSeen.delete(id)
        }
      },
    })
    const announce = (word: string) => {
      try {
        nc.publish(peersSubject, word + instanceId)
      } catch {
        // Closed or reconnecting: peers hear the next one.
      }
    }
    // One greeting per event-loop turn however many newcomers (or, for a newcomer, peers) it
    // answers; an already-known peer is never answered, so greetings do not echo back and forth.
    let greetingPending = false
    const greetSoon = () => {
      if (greetingPending) return
      greetingPending = true
      setImmediate(() => {
        greetingPending = false
        announce(PEER_ALIVE)
      })
    }
    announce(PEER_ALIVE)
    peerTimer = setInterval(() => {
      announce(PEER_ALIVE)
      const now = Date.now()
      let lost = false
      for (const [id, seen] of peerLastSeen) {
        if (now - seen > peerTimeoutMs) {
          peerLastSeen.delete(id)
          peersLost += 1
          lost = true
        }
      }
      // Hints that peer had acknowledged but not yet sent died with it: re-fetch everything.
      if (lost) table.markAll()
    }, heartbeatMs)
    peerTimer.unref()
  }
  const sayGoodbye = () => {
    if (heartbeatMs === 0) return
    try {
      nc.publish(peersSubject, PEER_BYE + instanceId)
    } catch {
      // Peers will time this instance out instead: one spurious wake-up of their listeners.
    }
  }

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
        peers: peerLastSeen.size,
        peersLost,
        closed,
      }
    },
    async close() {
      if (closed) return
      sendPending()
      sayGoodbye()
      closed = true
      if (timer !== null) clearInterval(timer)
      if (peerTimer !== null) clearInterval(peerTimer)
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
