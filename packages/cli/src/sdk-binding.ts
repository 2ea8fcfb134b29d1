/**
 * The one file that knows the SDK (`@tacit/client`): it opens the profile's encrypted store (one
 * SQLite file, `STORE_FILE`, in the profile folder), runs a `TacitClient` on it, and presents it
 * as the CLI's `CliClient` (client-api.ts). A change of the SDK's API touches this file only.
 *
 * An operation the SDK does not provide fails with a `not-available` CliError (exit code 6)
 * naming it (`notAvailable`); at present every CliClient operation is bound.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import {
  type ClientEvents,
  type ConversationSummary as SdkConversation,
  type StoredMessage,
  TacitClient,
} from '@tacit/client/client'
import { nodeFiles } from '@tacit/client/node/node-files'
import { nodeTransport } from '@tacit/client/node/ws-transport'
import { createSqliteStore, openSqliteStore } from '@tacit/client/store/sqlite-store'
import { nodeBackend } from '@tacit/crypto/node/backend'
import type {
  CliClient,
  ClientEvent,
  ClientFactory,
  ConversationSummary,
  FileSummary,
  MessageRecord,
} from './client-api.ts'
import { CliError } from './errors.ts'

/** The encrypted store inside the profile folder. */
export const STORE_FILE = 'tacit.db'
/**
 * Tests only: small Argon2id parameters for stores this run creates, so a test can run the
 * binary dozens of times. Named so that nobody sets it by accident; a warning says it is on.
 */
export const INSECURE_FAST_KDF_ENV = 'TACIT_INSECURE_FAST_KDF'
const INSECURE_KDF = { memoryKiB: 64, iterations: 1, parallelism: 1 }

function storePath(profileDir: string): string {
  return join(profileDir, STORE_FILE)
}

async function createStore(profileDir: string, passphrase: string) {
  // Only the owner may list or read the profile: the store is sealed, but its size is not.
  mkdirSync(profileDir, { recursive: true, mode: 0o700 })
  const insecure = process.env[INSECURE_FAST_KDF_ENV] === '1'
  const store = await createSqliteStore(storePath(profileDir), passphrase, {
    crypto: nodeBackend,
    ...(insecure ? { kdfParams: INSECURE_KDF } : {}),
  })
  if (insecure) {
    process.stderr.write(
      `tacit: warning: ${INSECURE_FAST_KDF_ENV}=1: this store's passphrase is cheap to guess\n`,
    )
  }
  return store
}

/** The store file and SQLite's write-ahead log and shared-memory files beside it. */
function removeStoreFiles(profileDir: string): void {
  for (const suffix of ['', '-wal', '-shm', '-journal'])
    rmSync(`${storePath(profileDir)}${suffix}`, { force: true })
}

async function openStore(profileDir: string, passphrase: string) {
  try {
    return await openSqliteStore(storePath(profileDir), passphrase, { crypto: nodeBackend })
  } catch (error) {
    // better-sqlite3 cannot open a file that is not there: no account in this profile.
    if ((error as { code?: unknown }).code === 'not-initialized' || !existsSync(storePath(profileDir))) {
      throw new CliError('auth', `no account in ${profileDir} (tacit account create, or --profile)`, {
        cause: error,
      })
    }
    throw error
  }
}

export const sdkClientFactory: ClientFactory = {
  async createAccount(p) {
    const store = await createStore(p.profileDir, p.passphrase)
    const client = await TacitClient.createAccount({
      serverUrl: p.server,
      invite: p.invite,
      handle: p.handle,
      store,
      backend: nodeBackend,
      transport: nodeTransport(),
      files: nodeFiles(),
    }).catch(async (error: unknown) => {
      // The server refused (used invite, taken handle): leave no half-made profile behind, so
      // the same command with a good invite works.
      await store.lock()
      removeStoreFiles(p.profileDir)
      throw error
    })
    return bindClient(client, p.server, () => store.lock())
  },

  async openAccount(p) {
    const store = await openStore(p.profileDir, p.passphrase)
    const client = await TacitClient.open({
      ...(p.server !== undefined ? { serverUrl: p.server } : {}),
      store,
      backend: nodeBackend,
      transport: nodeTransport(),
      files: nodeFiles(),
    }).catch(async (error: unknown) => {
      await store.lock()
      throw error
    })
    return bindClient(client, p.server, () => store.lock())
  },

  async beginLink(p) {
    const store = await createStore(p.profileDir, p.passphrase)
    try {
      return await TacitClient.beginDeviceLink({ serverUrl: p.server, store, backend: nodeBackend })
    } finally {
      await store.lock()
    }
  },

  async completeLink(p) {
    const store = await openStore(p.profileDir, p.passphrase)
    const client = await TacitClient.completeDeviceLink({
      answer: p.answer,
      store,
      backend: nodeBackend,
      transport: nodeTransport(),
      files: nodeFiles(),
    }).catch(async (error: unknown) => {
      await store.lock()
      throw error
    })
    return bindClient(client, undefined, () => store.lock())
  },
}

function summaryOf(c: SdkConversation): ConversationSummary {
  return { id: c.id, name: c.name === '' ? undefined : c.name, members: c.members, active: c.active }
}

function fileOf(m: StoredMessage): FileSummary | undefined {
  if (m.kind !== 'file') return undefined
  const info = m.fileInfo
  if (!info) return { name: '(unreadable file description)', size: 0, mediaType: 'application/octet-stream' }
  return { name: info.name, size: info.size, mediaType: info.mediaType }
}

function recordOf(m: StoredMessage): MessageRecord {
  const status = m.outgoing
    ? m.receipts.read.length > 0
      ? 'read'
      : m.receipts.delivered.length > 0
        ? 'delivered'
        : 'sent'
    : undefined
  return {
    id: m.id,
    conversationId: m.conversationId,
    sender: m.sender.handle,
    sentAt: m.sentAt,
    text: m.kind === 'text' ? m.text : undefined,
    file: fileOf(m),
    edited: m.edited,
    deleted: m.deleted,
    reactions: m.reactions,
    own: m.outgoing,
    status,
  }
}

const uniqueHandles = (people: readonly { handle: string }[]) => [...new Set(people.map((p) => p.handle))]

function bindClient(
  client: TacitClient,
  server: string | undefined,
  closeStore: () => Promise<void>,
): CliClient {
  // Sends and commits need only the connection: the SDK applies what waits in the mailbox (a
  // commit made while this device was away) before its first send on each connection. Reading
  // commands (`read`, `group list`, `file get`, `chat`) sync, once per run.
  const connect = () => client.connect()
  let synced: Promise<void> | undefined
  const history = async (id: string, limit: number) => (await client.history(id, { limit })).map(recordOf)
  return {
    account: { handle: client.handle, deviceId: client.deviceId, server, identityKey: client.identityKey },
    async sync() {
      synced ??= client.connect().then(() => client.sync())
      await synced
    },
    async close() {
      try {
        await client.close()
      } finally {
        await closeStore()
      }
    },
    subscribe(listener) {
      const offs: (() => void)[] = []
      const on = <E extends keyof ClientEvents>(
        name: E,
        map: (v: ClientEvents[E]) => ClientEvent | undefined,
      ) =>
        offs.push(
          client.on(name, (v) => {
            const e = map(v)
            if (e) listener(e)
          }),
        )
      on('message', (m) => ({ type: 'message', message: recordOf(m) }))
      on('edit', (e) => ({
        type: 'edit',
        conversationId: e.conversationId,
        messageId: e.messageId,
        sender: e.by,
        text: e.text,
      }))
      on('delete', (e) => ({
        type: 'delete',
        conversationId: e.conversationId,
        messageId: e.messageId,
        sender: e.by,
      }))
      on('reaction', (e) => ({
        type: 'reaction',
        conversationId: e.conversationId,
        messageId: e.messageId,
        sender: e.by,
        reaction: e.reaction,
        remove: e.remove,
      }))
      on('receipt', (e) => ({
        type: 'receipt',
        conversationId: e.conversationId,
        messageIds: e.messageIds,
        sender: e.by,
        kind: e.kind,
      }))
      on('typing', (e) => ({
        type: 'typing',
        conversationId: e.conversationId,
        sender: e.handle,
        typing: e.typing,
      }))
      on('conversation', (c) => ({ type: 'conversation', conversation: summaryOf(c) }))
      on('membership', (m) => ({
        type: 'membership',
        conversationId: m.conversationId,
        added: uniqueHandles(m.added),
        removed: uniqueHandles(m.removed),
      }))
      on('alert', (a): ClientEvent => {
        const alert = (handle: string, detail: string): ClientEvent => ({
          type: 'alert',
          handle,
          kind: a.kind,
          detail,
        })
        switch (a.kind) {
          case 'identity-changed':
            return alert(
              a.handle,
              a.wasVerified
                ? 'their identity key CHANGED and your verification no longer holds: verify again in person'
                : 'their identity key changed: verify them before trusting it',
            )
          case 'device-added':
            return alert(
              a.handle,
              `a device was added (${a.memberId}); if they did not add it, do not trust it`,
            )
          case 'device-removed':
            return alert(a.handle, `a device was removed (${a.memberId})`)
          case 'device-key-changed':
            return alert(a.handle, `the key of device ${a.memberId} changed`)
          case 'device-revoked':
            return alert(client.handle, 'this device was revoked')
          case 'undecryptable':
            return alert(
              '',
              `a message in ${a.conversationId.slice(0, 12)} could not be decrypted (${a.reason})`,
            )
          case 'commit-dropped':
            return alert('', `a group change in ${a.conversationId.slice(0, 12)} was refused`)
        }
      })
      return () => {
        for (const off of offs) off()
      }
    },
    async listConversations() {
      return (await client.listConversations()).map(summaryOf)
    },
    async createConversation(members, name) {
      await connect()
      const id = await client.createConversation({ members, ...(name !== undefined ? { name } : {}) })
      return summaryOf(await client.conversation(id))
    },
    async addMembers(id, handles) {
      await connect()
      await client.addMembers(id, handles)
    },
    async removeMembers(id, handles) {
      await connect()
      await client.removeMembers(id, handles)
    },
    async sendText(id, text) {
      await connect()
      const messageId = await client.sendText(id, text)
      const sent = (await history(id, 20)).find((m) => m.id === messageId)
      return { id: messageId, sentAt: sent?.sentAt ?? Date.now() }
    },
    async editMessage(id, messageId, text) {
      await connect()
      await client.editMessage(id, messageId, text)
    },
    async deleteMessage(id, messageId) {
      await connect()
      await client.deleteMessage(id, messageId)
    },
    async react(id, messageId, reaction) {
      await connect()
      await client.react(id, messageId, reaction)
    },
    async markRead(id, messageIds) {
      await connect()
      await client.markRead(id, messageIds.at(-1))
    },
    async setTyping(id, typing) {
      await connect()
      await client.setTyping(id, typing)
    },
    history,
    async sendFile(id, path, o) {
      await connect()
      const sent = await client.sendFile(id, path, {
        ...(o.name !== undefined ? { name: o.name } : {}),
        onProgress: o.onProgress,
        signal: o.signal,
      })
      return { id: sent.id, size: sent.size, resumedFrom: sent.resumedFrom }
    },
    async getFile(id, messageId, destination, o) {
      await connect()
      const got = await client.downloadFile(id, messageId, destination, {
        onProgress: o.onProgress,
        signal: o.signal,
      })
      return { path: got.path, size: got.size, name: got.name }
    },
    async devices() {
      return (await client.devices()).map((d) => ({
        deviceId: d.deviceId,
        current: d.current,
        createdAt: d.createdAt,
        revoked: false,
      }))
    },
    async revokeDevice(deviceId) {
      await connect()
      await client.revokeDevice(deviceId)
    },
    async safetyNumber(handle) {
      const n = await client.safetyNumber(handle)
      return { digits: n.digits, groups: n.groups, qrPayload: n.qrPayload, qrText: n.qrText }
    },
    async isVerified(handle) {
      return (await client.contact(handle)).verified
    },
    async verifyContact(handle, scanned) {
      await client.verifyContact(handle, scanned)
    },
    async markVerified(handle) {
      await client.markVerified(handle)
    },
    async approveLink(code) {
      await connect()
      return { answer: await client.approveDeviceLink(code) }
    },
  }
}
