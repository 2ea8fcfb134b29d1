/**
 * An in-memory stand-in for the SDK behind the CLI's `ClientFactory`, for tests of the command
 * layer (argument handling, conversation names, output shapes, the chat screen) without a server.
 * Several accounts share one `FakeWorld`; what one sends is delivered to the others' subscribers.
 * The real SDK is exercised by the end-to-end tests that run the `tacit` binary.
 */
import { randomBytes } from 'node:crypto'
import type {
  CliClient,
  ClientEvent,
  ClientFactory,
  ConversationSummary,
  MessageRecord,
  SafetyNumber,
} from '../../../packages/cli/src/client-api.ts'
import { nodeBackend } from '../../../packages/crypto/src/node/backend.ts'
import {
  checkScannedVerificationCode,
  createVerificationCode,
} from '../../../packages/protocol/src/verification/qr-payload.ts'
import { computeSafetyNumber } from '../../../packages/protocol/src/verification/safety-number.ts'

interface FakeAccount {
  handle: string
  deviceId: string
  passphrase: string
  identityKey: Uint8Array
  verified: Set<string>
}

interface StoredMessage {
  id: string
  conversationId: string
  sender: string
  sentAt: number
  text: string | undefined
  file: { name: string; size: number; mediaType: string } | undefined
}

export class FakeWorld {
  readonly accounts = new Map<string, FakeAccount>()
  readonly conversations = new Map<string, { id: string; name: string | undefined; members: string[] }>()
  readonly messages: StoredMessage[] = []
  readonly typing: { handle: string; conversationId: string; typing: boolean }[] = []
  readonly reads: { handle: string; ids: readonly string[] }[] = []
  readonly listeners = new Map<string, Set<(e: ClientEvent) => void>>()
  /** profile folder -> handle */
  readonly profiles = new Map<string, string>()
  #clock = 1_700_000_000_000

  addAccount(handle: string, passphrase: string, profileDir: string): FakeAccount {
    const account: FakeAccount = {
      handle,
      deviceId: randomBytes(16).toString('base64url'),
      passphrase,
      identityKey: new Uint8Array(randomBytes(32)),
      verified: new Set(),
    }
    this.accounts.set(handle, account)
    this.profiles.set(profileDir, handle)
    return account
  }

  emit(to: readonly string[], event: ClientEvent): void {
    for (const handle of to) for (const l of this.listeners.get(handle) ?? []) l(event)
  }

  now(): number {
    this.#clock += 1000
    return this.#clock
  }

  factory(server = 'http://127.0.0.1:1'): ClientFactory {
    const fail = (code: string, message: string) =>
      Object.assign(new Error(message), { name: 'ClientError', code })
    return {
      createAccount: async (p) => {
        if (this.accounts.has(p.handle)) throw fail('already-exists', 'already-exists: handle taken')
        this.addAccount(p.handle, p.passphrase, p.profileDir)
        return this.client(p.handle, p.server)
      },
      openAccount: async (p) => {
        const handle = this.profiles.get(p.profileDir)
        if (!handle) throw fail('not-registered', 'not-registered: no account in this store')
        if (this.accounts.get(handle)!.passphrase !== p.passphrase) {
          throw Object.assign(new Error('wrong-passphrase: the passphrase does not open this store'), {
            name: 'StoreError',
            code: 'wrong-passphrase',
          })
        }
        return this.client(handle, p.server ?? server)
      },
      beginLink: async () => {
        throw fail('usage', 'usage: not in the fake')
      },
      completeLink: async () => {
        throw fail('usage', 'usage: not in the fake')
      },
    }
  }

  client(handle: string, server: string): CliClient {
    const world = this
    const account = this.accounts.get(handle)!
    const summary = (id: string): ConversationSummary => {
      const c = world.conversations.get(id)
      if (!c)
        throw Object.assign(new Error('usage: unknown conversation'), { name: 'ClientError', code: 'usage' })
      return { id: c.id, name: c.name, members: [...c.members], active: c.members.includes(handle) }
    }
    const record = (m: StoredMessage): MessageRecord => ({
      id: m.id,
      conversationId: m.conversationId,
      sender: m.sender,
      sentAt: m.sentAt,
      text: m.text,
      file: m.file,
      edited: false,
      deleted: false,
      reactions: {},
      own: m.sender === handle,
      status: m.sender === handle ? 'sent' : undefined,
    })
    const others = (id: string) => summary(id).members.filter((h) => h !== handle)
    return {
      account: { handle, deviceId: account.deviceId, server, identityKey: account.identityKey },
      async sync() {},
      async close() {},
      subscribe(listener) {
        const set = world.listeners.get(handle) ?? new Set()
        set.add(listener)
        world.listeners.set(handle, set)
        return () => set.delete(listener)
      },
      async listConversations() {
        return [...world.conversations.values()]
          .filter((c) => c.members.includes(handle))
          .map((c) => summary(c.id))
      },
      async createConversation(members, name) {
        for (const m of members) {
          if (!world.accounts.has(m)) {
            throw Object.assign(new Error(`unknown-handle: no account ${m}`), {
              name: 'ClientError',
              code: 'unknown-handle',
            })
          }
        }
        const id = randomBytes(16).toString('hex')
        world.conversations.set(id, { id, name, members: [handle, ...members] })
        world.emit(members, { type: 'conversation', conversation: summary(id) })
        return summary(id)
      },
      async addMembers(id, handles) {
        world.conversations.get(id)!.members.push(...handles)
        world.emit(others(id), { type: 'membership', conversationId: id, added: handles, removed: [] })
      },
      async removeMembers(id, handles) {
        const c = world.conversations.get(id)!
        c.members = c.members.filter((m) => !handles.includes(m))
        world.emit(others(id), { type: 'membership', conversationId: id, added: [], removed: handles })
      },
      async sendText(id, text) {
        const m: StoredMessage = {
          id: randomBytes(16).toString('hex'),
          conversationId: id,
          sender: handle,
          sentAt: world.now(),
          text,
          file: undefined,
        }
        world.messages.push(m)
        for (const other of others(id)) {
          for (const l of world.listeners.get(other) ?? [])
            l({ type: 'message', message: { ...record(m), own: false } })
        }
        return { id: m.id, sentAt: m.sentAt }
      },
      async editMessage() {},
      async deleteMessage() {},
      async react() {},
      async markRead(_id, ids) {
        world.reads.push({ handle, ids })
      },
      async setTyping(id, typing) {
        world.typing.push({ handle, conversationId: id, typing })
        world.emit(others(id), { type: 'typing', conversationId: id, sender: handle, typing })
      },
      async history(id, limit) {
        return world.messages
          .filter((m) => m.conversationId === id)
          .slice(-limit)
          .map(record)
      },
      async sendFile() {
        throw new Error('not in the fake')
      },
      async getFile() {
        throw new Error('not in the fake')
      },
      async devices() {
        return [{ deviceId: account.deviceId, current: true, createdAt: undefined, revoked: false }]
      },
      async revokeDevice() {},
      async safetyNumber(other): Promise<SafetyNumber> {
        const a = world.accounts.get(other)
        if (!a)
          throw Object.assign(new Error('unknown-handle: no account'), {
            name: 'ClientError',
            code: 'unknown-handle',
          })
        const pair = {
          own: { handle, identityKey: account.identityKey },
          peer: { handle: other, identityKey: a.identityKey },
        }
        const n = await computeSafetyNumber(nodeBackend, pair.own, pair.peer)
        const qrPayload = await createVerificationCode(nodeBackend, pair)
        return {
          digits: n.digits,
          groups: n.groups,
          qrPayload,
          qrText: Buffer.from(qrPayload).toString('hex'),
        }
      },
      async isVerified(other) {
        return account.verified.has(other)
      },
      async verifyContact(other, scanned) {
        const a = world.accounts.get(other)!
        const pair = {
          own: { handle, identityKey: account.identityKey },
          peer: { handle: other, identityKey: a.identityKey },
        }
        try {
          await checkScannedVerificationCode(nodeBackend, pair, Buffer.from(scanned, 'hex'))
        } catch (error) {
          throw Object.assign(new Error('verification-failed: no match'), {
            name: 'ClientError',
            code: 'verification-failed',
            cause: error,
          })
        }
        account.verified.add(other)
      },
      async markVerified(other) {
        account.verified.add(other)
      },
      async approveLink() {
        throw new Error('not in the fake')
      },
    }
  }
}
