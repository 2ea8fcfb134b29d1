/**
 * The one file that knows the SDK (`@tacit/client`): it opens the profile's encrypted store (one
 * SQLite file, `STORE_FILE`, in the profile folder), runs a `TacitClient` on it, and presents it
 * as the CLI's `CliClient` (client-api.ts). A change of the SDK's API touches this file only.
 *
 * What the SDK does not provide yet fails with a `not-available` CliError (exit code 6) naming
 * the operation: file transfer, and identity keys for verification.
 */
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import {
  type ClientEvents,
  type ConversationSummary as SdkConversation,
  type StoredMessage,
  TacitClient,
} from '@tacit/client/client'
import { nodeTransport } from '@tacit/client/node/ws-transport'
import { createSqliteStore, openSqliteStore } from '@tacit/client/store/sqlite-store'
import { nodeBackend } from '@tacit/crypto/node/backend'
import { decodeFileDescriptor } from '@tacit/protocol/files/descriptor'
import type {
  CliClient,
  ClientEvent,
  ClientFactory,
  ConversationSummary,
  FileSummary,
  MessageRecord,
} from './client-api.ts'
import { CliError, notAvailable } from './errors.ts'

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

function kdfParams(): { kdfParams?: typeof INSECURE_KDF } {
  if (process.env[INSECURE_FAST_KDF_ENV] !== '1') return {}
  process.stderr.write(
    `tacit: warning: ${INSECURE_FAST_KDF_ENV}=1: this store's passphrase is cheap to guess\n`,
  )
  return { kdfParams: INSECURE_KDF }
}

async function createStore(profileDir: string, passphrase: string) {
  // Only the owner may list or read the profile: the store is sealed, but its size is not.
  mkdirSync(profileDir, { recursive: true, mode: 0o700 })
  return createSqliteStore(storePath(profileDir), passphrase, { crypto: nodeBackend, ...kdfParams() })
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
    }).catch(async (error: unknown) => {
      await store.lock()
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
    }).catch(async (error: unknown) => {
      await store.lock()
      throw error
    })
    return bindClient(client, undefined, () => store.lock())
  },
}

function summaryOf(c: SdkConversation): ConversationSummary {
  return { id: c.id, name: c.name === '' ? undefined : c.name, members: c.members }
}

function fileOf(m: StoredMessage): FileSummary | undefined {
  if (m.kind !== 'file' || m.file === undefined) return undefined
  try {
    const d = decodeFileDescriptor(Buffer.from(m.file, 'base64url'))
    return { name: d.name, size: Number(d.size), mediaType: d.mediaType }
  } catch {
    return { name: '(unreadable file description)', size: 0, mediaType: 'application/octet-stream' }
  }
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
  let connected: Promise<void> | undefined
  const connect = () => {
    connected ??= client.connect()
    return connected
  }
  const history = async (id: string, limit: number) => (await client.history(id, { limit })).map(recordOf)
  return {
    account: { handle: client.handle, deviceId: client.deviceId, server, identityKey: undefined },
    async sync() {
      await connect()
      await client.sync()
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
      on('alert', (a) => {
        switch (a.kind) {
          case 'identity-changed':
            return {
              type: 'alert',
              handle: a.handle,
              kind: a.kind,
              detail: 'their identity key changed: verify again',
            }
          case 'device-revoked':
            return { type: 'alert', handle: client.handle, kind: a.kind, detail: 'this device was revoked' }
          case 'undecryptable':
            return {
              type: 'alert',
              handle: '',
              kind: a.kind,
              detail: `a message could not be decrypted (${a.reason})`,
            }
          case 'commit-dropped':
            return { type: 'alert', handle: '', kind: a.kind, detail: 'a group change was refused' }
        }
        return undefined
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
    async sendFile() {
      throw notAvailable('file transfer (the SDK has no streaming upload yet)')
    },
    async getFile() {
      throw notAvailable('file transfer (the SDK has no streaming download yet)')
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
    async contactIdentity() {
      throw notAvailable('verification (the SDK does not expose identity keys yet)')
    },
    async markVerified() {
      throw notAvailable('marking a contact verified')
    },
    async approveLink(code) {
      await connect()
      return { answer: await client.approveDeviceLink(code) }
    },
  }
}
