/**
 * One client device as its own process: the real SDK (`TacitClient`) over Node's transport and an
 * encrypted SQLite store file, driven by one JSON command per line on stdin and answering one
 * JSON line per command on stdout (`{"id", "ok": true, "result"}` or `{"id", "ok": false,
 * "error": {"code", "message"}}`). Started by `agent-process.ts`.
 *
 * Besides the SDK's API it has a wire tap on its own WebSocket (it sees exactly what this device
 * sends and receives, as a network observer on loopback would) and two test-only tools:
 * - a commit gate: holds this device's next `commit` frame until released, so that two
 *   processes can submit commits for the same epoch at the same moment;
 * - `tryDecrypt`: opens an MLS message with a group state copied earlier from this device's
 *   store (`saveGroupState`), i.e. with exactly what the device knew at that point.
 */
import { createInterface } from 'node:readline'
import { TacitClient } from '@tacit/client/client'
import { decodeEnvelope } from '@tacit/client/envelope'
import type { Transport } from '@tacit/client/net/transport'
import { nodeFiles } from '@tacit/client/node/node-files'
import { nodeTransport } from '@tacit/client/node/ws-transport'
import { decodeJson, key, NS } from '@tacit/client/state/store-port'
import type { EncryptedStore } from '@tacit/client/store/sealed-store'
import { createSqliteStore, openSqliteStore } from '@tacit/client/store/sqlite-store'
import { nodeBackend } from '@tacit/crypto/node/backend'
import { createAuthenticationService } from '@tacit/protocol/authentication'
import { DEFAULT_SUITE, getCipherSuite } from '@tacit/protocol/cipher-suite'
import { decodeContent } from '@tacit/protocol/content'
import { epochOf, processMessage } from '@tacit/protocol/group'
import { standardPolicy } from '@tacit/protocol/policy'
import { restoreGroup } from '@tacit/protocol/snapshot'
import { base64urlToBytes, bytesToBase64url } from '@tacit/protocol/wire/encoding'
import { decodeClientFrame, decodeServerFrame } from '@tacit/protocol/wire/frames'

/** Small Argon2id parameters: these processes are about messaging, not passphrase hardening. */
export const AGENT_KDF = { memoryKiB: 64, iterations: 1, parallelism: 1 }
const PASSPHRASE = 'e2e agent passphrase'
/** Wire-tap records kept (oldest dropped first). */
const MAX_TAPPED = 10_000

interface Tapped {
  readonly direction: 'out' | 'in'
  readonly kind: string
  readonly groupId: string | null
  readonly epoch: string | null
  readonly mls: string | null
}

const tapped: Tapped[] = []
const epochConflicts = { count: 0 }
const gate = { armed: false, held: [] as (() => void)[] }

function tap(direction: 'out' | 'in', payload: Uint8Array): void {
  try {
    const e = decodeEnvelope(payload)
    const groupId = e.kind === 'application' || e.kind === 'commit' ? bytesToBase64url(e.groupId) : null
    const mls = e.kind === 'application' || e.kind === 'commit' ? bytesToBase64url(e.mls) : null
    tapped.push({
      direction,
      kind: e.kind,
      groupId,
      epoch: e.kind === 'commit' ? String(e.epoch) : null,
      mls,
    })
    if (tapped.length > MAX_TAPPED) tapped.shift()
  } catch {
    // Not an envelope of ours: nothing to record.
  }
}

/** nodeTransport with the tap and the commit gate on the WebSocket. */
function tappedTransport(): Transport {
  const inner = nodeTransport()
  return {
    fetch: inner.fetch,
    openSocket(url) {
      const socket = inner.openSocket(url)
      return {
        ...socket,
        send(data) {
          const frame = decodeClientFrame(data)
          if (frame.type === 'send') tap('out', frame.payload)
          if (frame.type === 'commit') tap('out', frame.commit.payload)
          if (frame.type === 'commit' && gate.armed) {
            gate.armed = false
            gate.held.push(() => socket.send(data))
            return
          }
          socket.send(data)
        },
        close: (code, reason) => socket.close(code, reason),
        onOpen: (fn) => socket.onOpen(fn),
        onClose: (fn) => socket.onClose(fn),
        onMessage(fn) {
          socket.onMessage((data) => {
            const frame = decodeServerFrame(data)
            if (frame.type === 'deliver') tap('in', frame.payload)
            if (frame.type === 'error' && frame.code === 'epoch-conflict') epochConflicts.count++
            fn(data)
          })
        },
      }
    },
  }
}

const transport = tappedTransport()
let store: EncryptedStore | null = null
let client: TacitClient | null = null
const received: { conversationId: string; sender: string; text: string }[] = []
const removedFrom = new Set<string>()
const savedGroups = new Map<string, { bytes: Uint8Array; admins: string[] }>()

function attach(c: TacitClient): TacitClient {
  c.on('message', (m) => {
    if (!m.outgoing)
      received.push({ conversationId: m.conversationId, sender: m.sender.handle, text: m.text })
  })
  c.on('membership', (m) => {
    if (m.removedSelf) removedFrom.add(m.conversationId)
  })
  client = c
  return c
}

function need(): TacitClient {
  if (!client) throw new Error('no client yet: create, open or completeLink first')
  return client
}

type Args = Record<string, unknown>
const str = (a: Args, name: string): string => {
  const v = a[name]
  if (typeof v !== 'string') throw new Error(`${name} must be a string`)
  return v
}
const strs = (a: Args, name: string): string[] => {
  const v = a[name]
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new Error(`${name} must be strings`)
  return v as string[]
}

async function configFor(admins: readonly string[]) {
  const s = store!
  return {
    suite: await getCipherSuite(nodeBackend, DEFAULT_SUITE),
    auth: createAuthenticationService({
      backend: nodeBackend,
      identityOf: async (handle: string) => {
        const r = await s.get(NS.trust, key(handle))
        if (!r) return null
        return base64urlToBytes(decodeJson<{ identityKey: string }>(r, 'trust').identityKey, 'identityKey')
      },
    }),
    policy: standardPolicy({ admins }),
  }
}

const commands: Record<string, (a: Args) => Promise<unknown>> = {
  async create(a) {
    store = await createSqliteStore(str(a, 'store'), PASSPHRASE, {
      crypto: nodeBackend,
      kdfParams: AGENT_KDF,
    })
    const c = attach(
      await TacitClient.createAccount({
        serverUrl: str(a, 'serverUrl'),
        invite: str(a, 'invite'),
        handle: str(a, 'handle'),
        store,
        backend: nodeBackend,
        transport,
        files: nodeFiles(),
      }),
    )
    await c.connect()
    return { deviceId: c.deviceId }
  },
  async open(a) {
    store = await openSqliteStore(str(a, 'store'), PASSPHRASE, { crypto: nodeBackend })
    const c = attach(await TacitClient.open({ store, backend: nodeBackend, transport, files: nodeFiles() }))
    await c.connect()
    return { deviceId: c.deviceId, handle: c.handle }
  },
  async beginLink(a) {
    store = await createSqliteStore(str(a, 'store'), PASSPHRASE, {
      crypto: nodeBackend,
      kdfParams: AGENT_KDF,
    })
    return TacitClient.beginDeviceLink({ serverUrl: str(a, 'serverUrl'), store, backend: nodeBackend })
  },
  async completeLink(a) {
    const c = attach(
      await TacitClient.completeDeviceLink({
        answer: str(a, 'answer'),
        store: store!,
        backend: nodeBackend,
        transport,
        files: nodeFiles(),
      }),
    )
    await c.connect()
    return { deviceId: c.deviceId, handle: c.handle }
  },
  approveLink: async (a) => ({ answer: await need().approveDeviceLink(str(a, 'code')) }),
  createConversation: async (a) => ({
    id: await need().createConversation({
      members: strs(a, 'members'),
      ...(typeof a.name === 'string' ? { name: a.name } : {}),
    }),
  }),
  addMembers: (a) => need().addMembers(str(a, 'id'), strs(a, 'handles')),
  removeMembers: (a) => need().removeMembers(str(a, 'id'), strs(a, 'handles')),
  sendText: async (a) => ({ messageId: await need().sendText(str(a, 'id'), str(a, 'text')) }),
  /**
   * Sends a text and returns the MLS ciphertext that left this device for it (exactly one new
   * application envelope for the conversation must have gone out: sync first, so that no
   * receipts are pending).
   */
  async sendTextCaptured(a) {
    const id = str(a, 'id')
    const before = tapped.length
    const messageId = await need().sendText(id, str(a, 'text'))
    const sent = tapped
      .slice(before)
      .filter((t) => t.direction === 'out' && t.kind === 'application' && t.groupId === id)
    if (sent.length !== 1) throw new Error(`expected one application envelope, saw ${sent.length}`)
    return { messageId, mls: sent[0]!.mls }
  },
  sync: () => need().sync(),
  conversation: (a) => need().conversation(str(a, 'id')),
  listConversations: () => need().listConversations(),
  devices: () => need().devices(),
  history: async (a) =>
    (await need().history(str(a, 'id'))).map((m) => ({
      id: m.id,
      kind: m.kind,
      sender: m.sender.handle,
      text: m.text,
      outgoing: m.outgoing,
      ...(m.fileInfo ? { file: { name: m.fileInfo.name, size: m.fileInfo.size } } : {}),
    })),
  sendFile: async (a) => {
    const sent = await need().sendFile(str(a, 'id'), str(a, 'path'), { name: str(a, 'name') })
    return { messageId: sent.id, size: sent.size }
  },
  downloadFile: async (a) => {
    const got = await need().downloadFile(str(a, 'id'), str(a, 'messageId'), str(a, 'destination'))
    return { name: got.name, size: got.size }
  },
  received: async (a) => received.filter((m) => a.id === undefined || m.conversationId === a.id),
  removedFrom: async () => [...removedFrom],
  epochConflicts: async () => epochConflicts.count,
  /** Envelopes this device's socket carried (kinds, group ids, epochs; ciphertext as base64url). */
  tapped: async () => tapped,
  armCommitGate: async () => {
    gate.armed = true
  },
  commitHeld: async () => gate.held.length,
  releaseCommits: async () => {
    for (const send of gate.held.splice(0)) send()
  },
  /** Copies this device's current group state for `id` out of its store (a snapshot, as stored). */
  async saveGroupState(a) {
    const id = str(a, 'id')
    const bytes = await store!.get(NS.groups, key(id))
    if (!bytes) throw new Error('no group state stored for this conversation')
    const summary = await need().conversation(id)
    savedGroups.set(id, { bytes: new Uint8Array(bytes), admins: [...summary.admins] })
    const group = restoreGroup(bytes, await configFor(summary.admins))
    return { epoch: String(epochOf(group)) }
  },
  /**
   * Opens `mls` with the saved state (after applying `commitFirst` to it, if given):
   * `{ok: true, text}` or `{ok: false, code}`, plus `removedSelf` when a commit was applied.
   */
  async tryDecrypt(a) {
    const saved = savedGroups.get(str(a, 'id'))
    if (!saved) throw new Error('saveGroupState first')
    const config = await configFor(saved.admins)
    let group = restoreGroup(saved.bytes, config)
    let removedSelf: boolean | undefined
    if (typeof a.commitFirst === 'string') {
      // Applies a commit to the saved state first (as the device itself would have).
      const c = await processMessage(group, config, base64urlToBytes(a.commitFirst, 'commit'))
      if (c.kind !== 'commit') throw new Error('commitFirst is not a commit')
      group = c.group
      removedSelf = c.removedSelf
    }
    const extra = removedSelf === undefined ? {} : { removedSelf }
    try {
      const r = await processMessage(group, config, base64urlToBytes(str(a, 'mls'), 'mls'))
      if (r.kind !== 'application') return { ok: true, kind: r.kind, ...extra }
      const body = decodeContent(r.plaintext).body
      return { ok: true, kind: r.kind, text: body.type === 'text' ? body.text : null, ...extra }
    } catch (error) {
      return { ok: false, code: (error as { code?: string }).code ?? 'unknown', ...extra }
    }
  },
  async close() {
    await client?.close()
    await store?.lock()
    client = null
    store = null
  },
}

function reply(line: unknown): void {
  process.stdout.write(`${JSON.stringify(line)}\n`)
}

const lines = createInterface({ input: process.stdin })
lines.on('line', (text) => {
  let request: { id: number; command: string; args?: Args }
  try {
    request = JSON.parse(text) as typeof request
  } catch {
    reply({ id: -1, ok: false, error: { code: 'usage', message: 'not JSON' } })
    return
  }
  const run = commands[request.command]
  if (!run) {
    reply({
      id: request.id,
      ok: false,
      error: { code: 'usage', message: `unknown command ${request.command}` },
    })
    return
  }
  // Commands run concurrently (two sends may race); the SDK orders its own state changes.
  run(request.args ?? {}).then(
    (result) => reply({ id: request.id, ok: true, result: result ?? null }),
    (error: unknown) =>
      reply({
        id: request.id,
        ok: false,
        error: {
          code: (error as { code?: string }).code ?? 'error',
          message: error instanceof Error ? error.message : String(error),
        },
      }),
  )
})
lines.on('close', () => {
  void commands.close!({}).finally(() => process.exit(0))
})
reply({ id: 0, ok: true, result: 'ready' })
