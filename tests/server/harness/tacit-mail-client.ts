/** Plugs the Tacit wire client into MailLoad: client number i is device i of a provisioned list. */
import type { ConnectFn } from './mail-load.ts'
import { type DeviceIdentity, TacitConnection } from './tacit-client.ts'

/** `wsUrlOf(i)` says which server process client i talks to (scale-out tests split them). */
export function tacitConnectFn(
  devices: readonly DeviceIdentity[],
  wsUrlOf: (index: number) => string,
): ConnectFn {
  return async (index, handlers) => {
    const device = devices[index]
    if (device === undefined) throw new Error(`no device ${index}`)
    const connection = await TacitConnection.open(wsUrlOf(index), device, {
      onDeliver: (_seq, payload) => handlers.onDeliver(payload),
      onClose: () => handlers.onClose(),
    })
    return {
      send: (to, payload) => {
        const recipient = devices[to]
        if (recipient === undefined) return Promise.reject(new Error(`no device ${to}`))
        return connection.send([recipient.deviceId], payload)
      },
      close: () => connection.close(),
    }
  }
}
