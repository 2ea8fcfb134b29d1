/**
 * The Tacit server behind bench:relay's load generator (bench/relay-adapters.ts): loaded by the
 * generator process by path, with provisioned devices passed in as plain data.
 */
import { createPrivateKey } from 'node:crypto'
import type { RelayAdapter } from '../../../bench/relay-adapters.ts'
import { type DeviceIdentity, TacitConnection } from './tacit-client.ts'

export interface SerializedDevice {
  readonly handle: string
  readonly deviceId: string
  /** PKCS#8 DER, base64: a throwaway load-test key crossing to the generator process. */
  readonly key: string
}

export interface TacitAdapterOptions {
  readonly wsUrl: string
  readonly devices: readonly SerializedDevice[]
}

export function serializeDevices(devices: readonly DeviceIdentity[]): SerializedDevice[] {
  return devices.map((d) => ({
    handle: d.handle,
    deviceId: d.deviceId,
    key: (d.deviceKey.export({ format: 'der', type: 'pkcs8' }) as Buffer).toString('base64'),
  }))
}

export async function createAdapter(options: TacitAdapterOptions): Promise<RelayAdapter> {
  const devices: DeviceIdentity[] = options.devices.map((d) => ({
    handle: d.handle,
    deviceId: d.deviceId,
    deviceKey: createPrivateKey({ key: Buffer.from(d.key, 'base64'), format: 'der', type: 'pkcs8' }),
  }))
  return {
    name: 'tacit',
    async connect(index, handlers) {
      const device = devices[index]
      if (device === undefined) throw new Error(`no device ${index}`)
      const connection = await TacitConnection.open(options.wsUrl, device, {
        onDeliver: (_seq, payload) => handlers.onDeliver(payload),
        onClose: () => handlers.onClose(),
      })
      return {
        send(to, payload, token) {
          const recipient = devices[to]
          if (recipient === undefined) throw new Error(`no device ${to}`)
          connection.send([recipient.deviceId], payload).then(
            () => handlers.onAck(token),
            () => {},
          )
        },
        close: () => connection.close(),
      }
    },
  }
}
