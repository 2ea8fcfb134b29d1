/**
 * The baselines of `bench:e2e`, measured against the same server process in the same run:
 * - raw envelopes: devices that speak only the wire format (`tests/server/harness/tacit-client.ts`),
 *   relaying opaque payloads of the SDK's envelope size — no MLS, no client store;
 * - the blob ceiling: a file copied through the blob API as it is, no encryption: uploaded in
 *   MAX_BLOB_CHUNK_BYTES pieces, then downloaded to a file.
 */
import { sign } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { open } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { buildDeviceAuthMessage } from '@tacit/protocol/wire/auth-messages'
import { base64urlToBytes, bytesToBase64url } from '@tacit/protocol/wire/encoding'
import { MAX_BLOB_CHUNK_BYTES } from '@tacit/protocol/wire/limits'
import { createInvites } from '../tests/server/harness/provision.ts'
import {
  type DeviceIdentity,
  registerAccountDevices,
  TacitConnection,
} from '../tests/server/harness/tacit-client.ts'
import { createClosedLoop, type LoopOptions, type LoopResult } from './e2e-loop.ts'

/** `pairs * 2` raw devices in pairs (2i ↔ 2i+1), sending tags padded to `size` bytes. */
export async function runRawLoop(o: {
  serverUrl: string
  dataDir: string
  clients: number
  size: number
  loop: LoopOptions
}): Promise<LoopResult> {
  const invites = await createInvites({ dataDir: o.dataDir }, o.clients)
  const devices: DeviceIdentity[] = []
  for (let i = 0; i < o.clients; i++) {
    devices.push(...(await registerAccountDevices(o.serverUrl, invites[i]!, `raw-${o.clients}-${i}`, 1)))
  }
  const wsUrl = o.serverUrl.replace(/^http/, 'ws')
  const decoder = new TextDecoder()
  let received: (tag: string) => void = () => {}
  const connections = await Promise.all(
    devices.map((d) =>
      TacitConnection.open(wsUrl, d, {
        onDeliver: (_seq, payload) => received(decoder.decode(payload.subarray(1, 1 + payload[0]!))),
      }),
    ),
  )
  const payloadOf = (tag: string): Uint8Array => {
    const t = new TextEncoder().encode(tag)
    const p = new Uint8Array(Math.max(o.size, t.length + 1))
    p[0] = t.length
    p.set(t, 1)
    return p
  }
  const loop = createClosedLoop(
    connections.map((c, i) => ({
      send: (tag: string) => c.send([devices[i ^ 1]!.deviceId], payloadOf(tag)),
    })),
    o.loop,
  )
  received = (tag) => loop.received(tag)
  try {
    return await loop.run()
  } finally {
    for (const c of connections) c.socket.close()
  }
}

async function postJson(url: string, body: unknown, token?: string): Promise<Record<string, unknown>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? '' : JSON.stringify(body),
  })
  const json = (await response.json()) as Record<string, unknown>
  if (!response.ok) throw new Error(`${url}: ${response.status} ${JSON.stringify(json.error ?? {})}`)
  return json
}

async function openSession(serverUrl: string, device: DeviceIdentity): Promise<string> {
  const { challenge } = (await postJson(`${serverUrl}/v1/challenges`, undefined)) as { challenge: string }
  const message = buildDeviceAuthMessage(base64urlToBytes(challenge, 'challenge'), device.deviceId)
  const r = await postJson(`${serverUrl}/v1/sessions`, {
    deviceId: device.deviceId,
    challenge,
    signature: bytesToBase64url(new Uint8Array(sign(null, message, device.deviceKey))),
  })
  return String(r.sessionToken)
}

export interface CopyResult {
  readonly bytes: number
  readonly uploadMs: number
  readonly downloadMs: number
}

/** Uploads `path` as one blob without encryption, then downloads it to `downloadPath`. */
export async function copyThroughBlobApi(o: {
  serverUrl: string
  dataDir: string
  path: string
  size: number
  downloadPath: string
}): Promise<CopyResult> {
  const [invite] = await createInvites({ dataDir: o.dataDir }, 1)
  const [device] = await registerAccountDevices(o.serverUrl, invite!, 'blob-ceiling', 1)
  const token = await openSession(o.serverUrl, device!)
  const auth = { authorization: `Bearer ${token}` }
  const t0 = performance.now()
  const { blobId } = (await postJson(`${o.serverUrl}/v1/blobs`, { size: o.size }, token)) as {
    blobId: string
  }
  const file = await open(o.path, 'r')
  try {
    const buffer = new Uint8Array(MAX_BLOB_CHUNK_BYTES)
    for (let offset = 0; offset < o.size; ) {
      const { bytesRead } = await file.read(buffer, 0, Math.min(buffer.length, o.size - offset), offset)
      const response = await fetch(`${o.serverUrl}/v1/blobs/${blobId}`, {
        method: 'PATCH',
        headers: {
          ...auth,
          'content-type': 'application/offset+octet-stream',
          'upload-offset': String(offset),
        },
        body: buffer.subarray(0, bytesRead),
      })
      await response.arrayBuffer()
      if (response.status !== 200 && response.status !== 204)
        throw new Error(`PATCH at ${offset}: ${response.status}`)
      offset += bytesRead
    }
  } finally {
    await file.close()
  }
  const t1 = performance.now()
  const response = await fetch(`${o.serverUrl}/v1/blobs/${blobId}`, { headers: auth })
  if (response.status !== 200 || !response.body) throw new Error(`GET: ${response.status}`)
  await pipeline(
    Readable.fromWeb(response.body as import('node:stream/web').ReadableStream),
    createWriteStream(o.downloadPath),
  )
  const t2 = performance.now()
  return { bytes: o.size, uploadMs: t1 - t0, downloadMs: t2 - t1 }
}
