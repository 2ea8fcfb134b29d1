/**
 * The WebSocket connections of this process: all of them (for shutdown) and, once
 * authenticated, by device (to close a revoked device's connections at once).
 */

import type { MailboxEntry } from '../storage/storage.ts'
import { IntakeGate } from './intake.ts'
import { DeferredFlush } from './outbox.ts'

export interface LiveConnection {
  readonly deviceId: string | null
  /**
   * Takes a just-committed entry of its device's mailbox and pushes it without reading storage,
   * if it can do so in order (the entry is the next seq after everything it pushed, and the
   * window is open). Returns false otherwise: the caller then wakes it to fetch.
   */
  offer(entry: MailboxEntry): boolean
  /** Closes with a WebSocket close code and a short reason (no ids, no secrets). */
  close(code: number, reason: string): void
  /** Resolves once every request this connection has started is answered. */
  settled(): Promise<void>
}

export class ConnectionRegistry {
  readonly all = new Set<LiveConnection>()
  private readonly byDevice = new Map<string, Set<LiveConnection>>()
  /** Requests in flight across every connection here (intake.ts). */
  readonly intake: IntakeGate
  /** Connections holding only `ack-ok`s, each written by its deadline (outbox.ts). */
  readonly deferredFlush: DeferredFlush

  constructor(maxRequestsInFlight: number, ackReplyDelayMs: number) {
    this.intake = new IntakeGate(maxRequestsInFlight)
    this.deferredFlush = new DeferredFlush(ackReplyDelayMs)
  }

  add(connection: LiveConnection): void {
    this.all.add(connection)
  }

  bind(deviceId: string, connection: LiveConnection): void {
    let set = this.byDevice.get(deviceId)
    if (!set) {
      set = new Set()
      this.byDevice.set(deviceId, set)
    }
    set.add(connection)
  }

  remove(connection: LiveConnection): void {
    this.all.delete(connection)
    if (connection.deviceId === null) return
    const set = this.byDevice.get(connection.deviceId)
    if (!set) return
    set.delete(connection)
    if (set.size === 0) this.byDevice.delete(connection.deviceId)
  }

  /**
   * Hands a committed entry to every connection of `deviceId` here; true only if there is at
   * least one and every one took it (then no local wake-up is needed).
   */
  offer(deviceId: string, entry: MailboxEntry): boolean {
    const set = this.byDevice.get(deviceId)
    if (set === undefined) return false
    let all = true
    for (const c of set) if (!c.offer(entry)) all = false
    return all
  }

  closeDevice(deviceId: string, code: number, reason: string): void {
    for (const c of [...(this.byDevice.get(deviceId) ?? [])]) c.close(code, reason)
  }

  get size(): number {
    return this.all.size
  }

  get devices(): number {
    return this.byDevice.size
  }
}
