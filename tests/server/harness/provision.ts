/**
 * Accounts and devices for load: invites are created the way `tacit-admin invite create` does
 * (through the configured storage, which SQLite's WAL lets a second process write while the
 * server runs), then every account registers over the server's real HTTP API.
 */
import { parseConfig } from '../../../packages/server/src/config.ts'
import { createInviteCode, openConfiguredStorage } from '../../../packages/server/src/server.ts'
import { type DeviceIdentity, registerAccountDevices } from './tacit-client.ts'

/** Devices per account (≤ the wire's MAX_DEVICES_PER_ACCOUNT): fewer invites for many devices. */
export const DEVICES_PER_ACCOUNT = 10
/** Registrations in flight at once. */
const CONCURRENCY = 8

export interface StorageFlags {
  readonly dataDir: string
  readonly postgresUrl?: string
  readonly postgresSchema?: string
}

export async function createInvites(flags: StorageFlags, count: number): Promise<string[]> {
  const argv = ['--data-dir', flags.dataDir]
  if (flags.postgresUrl) argv.push('--postgres-url', flags.postgresUrl)
  if (flags.postgresSchema) argv.push('--postgres-schema', flags.postgresSchema)
  const storage = await openConfiguredStorage(parseConfig(argv, {}))
  try {
    const codes: string[] = []
    for (let i = 0; i < count; i++) codes.push(await createInviteCode(storage, Date.now(), 3600_000))
    return codes
  } finally {
    await storage.close()
  }
}

/** `count` devices, DEVICES_PER_ACCOUNT to an account, in index order. */
export async function provisionDevices(
  httpUrl: string,
  flags: StorageFlags,
  count: number,
): Promise<DeviceIdentity[]> {
  const accounts = Math.ceil(count / DEVICES_PER_ACCOUNT)
  const invites = await createInvites(flags, accounts)
  const devices: DeviceIdentity[][] = new Array(accounts)
  let next = 0
  const worker = async () => {
    while (next < accounts) {
      const a = next++
      const n = Math.min(DEVICES_PER_ACCOUNT, count - a * DEVICES_PER_ACCOUNT)
      devices[a] = await registerAccountDevices(httpUrl, invites[a]!, `load-${a}`, n)
    }
  }
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, accounts) }, worker))
  return devices.flat()
}
