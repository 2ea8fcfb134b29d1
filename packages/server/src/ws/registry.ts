/**
 * The WebSocket connections of this process: all of them (for shutdown) and, once
 * authenticated, by device (to close a revoked device's connections at once).
 */

export interface LiveConnection {
  readonly deviceId: string | null
  /** Closes with a WebSocket close code and a short reason (no ids, no secrets). */
  close(code: number, reason: string): void
  /** Resolves once every request this connection has started is answered. */
  settled(): Promise<void>
}

export class ConnectionRegistry {
  readonly all = new Set<LiveConnection>()
  private readonly byDevice = new Map<string, Set<LiveConnection>>()

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
