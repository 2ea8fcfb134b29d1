/**
 * `TacitClient`: the SDK's public API (the CLI and the web client code against this file).
 *
 * One client is one device of one account. It runs MLS through `@tacit/protocol` (pure
 * transitions), keeps everything in the encrypted store, and talks to the delivery server over
 * HTTP and one WebSocket. The rules it follows (docs/decisions/0009-client-sdk.md):
 * - New protocol state is persisted in one store transaction together with the plaintext it
 *   releases, the envelope ids it has processed and the acks it owes, before any event is
 *   emitted or anything is sent. Outgoing envelopes are persisted (outbox) before sending.
 * - Envelopes carry a random id; receivers remember processed ids, so at-least-once delivery
 *   and resends after a crash never duplicate a message.
 * - Commits are submitted for (group, epoch). The pending commit (its next state and bytes) is
 *   persisted before submission; the committer is always a recipient of its own commit, so after
 *   a crash the mailbox says whether it won. A lost race catches up (sync) and retries, bounded.
 * - All state-changing work runs one step at a time (`exclusive`): incoming envelopes in mailbox
 *   order, sends and commits in call order.
 *
 * Events: 'message', 'edit', 'delete', 'reaction', 'receipt', 'typing', 'conversation',
 * 'membership', 'alert' (see `ClientEvents`).
 *
 * Files (`sendFile`, `downloadFile`) need a `FilePlatform` in the options (on Node
 * `nodeFiles()` from `src/node/node-files.ts`); verification (`safetyNumber`, `verifyContact`,
 * `markVerified`, `contacts`, `checkContacts`) needs nothing more.
 */
import type { CryptoBackend } from '@tacit/crypto/backend'
import { bytesToHex, equalBytes, hexToBytes } from '@tacit/crypto/bytes'
import {
  checkMlsCredential,
  createAuthenticationService,
  type MlsAuthenticationService,
} from '@tacit/protocol/authentication'
import {
  type CipherSuite,
  DEFAULT_SUITE,
  getCipherSuite,
  type TacitSuiteName,
} from '@tacit/protocol/cipher-suite'
import { type ContentBody, decodeContent, encodeContent, MESSAGE_ID_BYTES } from '@tacit/protocol/content'
import { decodeCredential } from '@tacit/protocol/credential'
import { ProtocolError } from '@tacit/protocol/errors'
import {
  DEFAULT_MEDIA_TYPE,
  decodeFileDescriptor,
  encodeFileDescriptor,
  type FileDescriptor,
  isValidFileName,
  isValidMediaType,
} from '@tacit/protocol/files/descriptor'
import {
  createCommit,
  createGroup,
  encryptMessage,
  epochOf,
  exportSecret,
  type Group,
  type GroupConfig,
  groupIdOf,
  isActive,
  joinGroup,
  membersOf,
  ownLeafIndex,
  processMessage,
} from '@tacit/protocol/group'
import { decodeKeyPackage } from '@tacit/protocol/key-package'
import { standardPolicy } from '@tacit/protocol/policy'
import { restoreGroup, snapshotGroup } from '@tacit/protocol/snapshot'
import { VerificationError } from '@tacit/protocol/verification/errors'
import {
  compareScannedVerificationCode,
  encodeVerificationCode,
} from '@tacit/protocol/verification/qr-payload'
import { combineFingerprints, computeFingerprint } from '@tacit/protocol/verification/safety-number'
import { base64urlToBytes, bytesToBase64url } from '@tacit/protocol/wire/encoding'
import { MAX_ACK_SEQS, MAX_RECIPIENTS } from '@tacit/protocol/wire/limits'
import {
  type AccountMaterial,
  createDeviceMaterial,
  decodeAccount,
  encodeAccount,
  type KeyPair,
  loadAccount,
  saveAccount,
  signerFor,
} from './account/account.ts'
import {
  findKeyPackage,
  generateKeyPackage,
  hashKeyPackage,
  type KeyPackageRecord,
  listKeyPackages,
  privateOf,
  putKeyPackage,
  topUpKeyPackages,
} from './account/key-packages.ts'
import {
  appendCallLog,
  type CallLogEntry,
  type CallLogKind,
  checkCallLogInput,
  listCallLog,
} from './calls/call-log.ts'
import { type CallKeyMaterial, CallSignalling, type TurnCredentials } from './calls/call-signalling.ts'
import {
  applyContent,
  type ContentEvent,
  type ConversationId,
  type ConversationRecord,
  getConversation,
  getMessage,
  listConversationRecords,
  listMessages,
  type MessageId,
  newConversation,
  type Person,
  putConversation,
  type StoredMessage,
} from './conversation/records.ts'
import { decodeEnvelope, ENVELOPE_ID_BYTES, type Envelope, encodeEnvelope } from './envelope.ts'
import { ClientError } from './errors.ts'
import {
  certifiedContact,
  getVerifiedRecord,
  listVerifiedRecords,
  newVerifiedRecord,
  putVerifiedRecord,
} from './identity/contacts.ts'
import { Directory, type DirectoryAlert, putRoute, type TrustRecord } from './identity/directory.ts'
import {
  MAX_COMMIT_ATTEMPTS,
  MAX_HANDLES_PER_CLAIM,
  MAX_HISTORY_PAGE,
  MAX_MEMBERS_PER_CHANGE,
  MAX_NAME_BYTES,
  MAX_RECEIPT_BATCH,
  MAX_SEEN_ENVELOPES,
  MAX_VERIFICATION_INPUT_CHARS,
  MAX_VERIFIED_CONTACTS,
  RECONNECT_MAX_MS,
  RECONNECT_MIN_MS,
  SELF_UPDATE_INTERVAL_MS,
  SYNC_TIMEOUT_MS,
} from './limits.ts'
import {
  createLinkSecrets,
  decodeLinkAnswer,
  decodeLinkCode,
  deriveLinkedAuthKey,
  encodeLinkAnswer,
  encodeLinkCode,
  type LinkSecrets,
  openLinkPackage,
  sealLinkPackage,
} from './link/device-link.ts'
import { Connection, type Deliver } from './net/connection.ts'
import { type ClaimedKeyPackage, HttpApi } from './net/http-api.ts'
import { browserTransport, type Transport, webSocketUrlOf } from './net/transport.ts'
import {
  type ClientStore,
  decodeJson,
  encodeJson,
  getJson,
  key,
  keyText,
  NS,
  type StoreTransaction,
} from './state/store-port.ts'
import { httpBlobReader } from './transfer/download.ts'
import type { FilePlatform, FileSource, TransferProgress } from './transfer/ports.ts'
import { uploadFile } from './transfer/upload.ts'

export type { ConversationId, FileInfo, MessageId, Person, StoredMessage } from './conversation/records.ts'
export { ClientError } from './errors.ts'
export type { FilePlatform, FileSource, TransferProgress } from './transfer/ports.ts'

export interface ConversationSummary {
  readonly id: ConversationId
  readonly name: string
  /** Handles of the members (one entry per user, whatever their device count), sorted. */
  readonly members: readonly string[]
  readonly admins: readonly string[]
  readonly unreadCount: number
  readonly lastMessage: { id: MessageId; from: string; text: string; sentAt: number } | null
  /** False once this device was removed or left. */
  readonly active: boolean
}

export interface DeviceInfo {
  /** The server's device id (use it with `revokeDevice`). */
  readonly deviceId: string
  /** The device id inside the device's credential (what group members see). */
  readonly memberId: string
  readonly createdAt: number
  readonly current: boolean
}

/**
 * Something the user should know. `identity-changed`: the server (or a group member's
 * credential) shows another identity key for the handle than the one trusted; it is not adopted,
 * and `wasVerified` says a verification was voided by it. `device-added`, `device-removed`,
 * `device-key-changed`: a verified contact's device list differs from the one the user was last
 * told about (each change is raised once; the verification stands, docs/protocol/verification.md §4).
 */
export type Alert =
  | DirectoryAlert
  | { readonly kind: 'undecryptable'; readonly conversationId: ConversationId; readonly reason: string }
  | { readonly kind: 'commit-dropped'; readonly conversationId: ConversationId }
  | { readonly kind: 'device-revoked' }

export interface ClientEvents {
  message: StoredMessage
  edit: Extract<ContentEvent, { type: 'edit' }>
  delete: Extract<ContentEvent, { type: 'delete' }>
  reaction: Extract<ContentEvent, { type: 'reaction' }>
  receipt: Extract<ContentEvent, { type: 'receipt' }>
  typing: Extract<ContentEvent, { type: 'typing' }>
  conversation: ConversationSummary
  membership: {
    readonly conversationId: ConversationId
    readonly added: readonly Person[]
    readonly removed: readonly Person[]
    /** This device was removed: the conversation is read-only from now on. */
    readonly removedSelf: boolean
  }
  alert: Alert
}
export type ClientEventName = keyof ClientEvents

export interface SendFileOptions {
  /** The name recipients see (default: the source's own base name). */
  readonly name?: string
  /** RFC 6838 `type/subtype` (default: the source's, else application/octet-stream). */
  readonly type?: string
  /**
   * Upload progress: bytes of the file done and its size (the padded ciphertext uploaded, scaled
   * to the file's size). Starts above 0 when an interrupted upload resumes.
   */
  readonly onProgress?: TransferProgress
  /** Stops the upload; the next `sendFile` of the same source resumes it. */
  readonly signal?: AbortSignal
}

export interface SentFile {
  /** The file message's id. */
  readonly id: MessageId
  readonly name: string
  readonly mediaType: string
  readonly size: number
  /** Bytes of the file that an earlier, interrupted upload had already sent (0 if none). */
  readonly resumedFrom: number
}

export interface DownloadFileOptions {
  /** Bytes of the file decrypted and checked so far, and its size. */
  readonly onProgress?: TransferProgress
  /** Stops the download; the next call for the same destination continues where it stopped. */
  readonly signal?: AbortSignal
}

export interface DownloadedFile {
  readonly path: string
  readonly name: string
  readonly mediaType: string
  readonly size: number
}

export interface SafetyNumberInfo {
  /** 60 digits, the same on both sides. */
  readonly digits: string
  /** The digits in 12 groups of 5, for display. */
  readonly groups: readonly string[]
  /** The verification code to show as a QR code (byte mode), docs/protocol/verification.md §3. */
  readonly qrPayload: Uint8Array
  /** The same code as hex, for a terminal or a copy-paste (`verifyContact` accepts it). */
  readonly qrText: string
  /** The identity key held for the contact, which these numbers pin. */
  readonly identityKey: Uint8Array
}

export interface ContactInfo {
  readonly handle: string
  /** The identity key trusted for the handle (first seen, or verified). */
  readonly identityKey: Uint8Array
  readonly verified: boolean
  /** When the user verified it (null if never). */
  readonly verifiedAt: number | null
  readonly firstSeen: number
}

interface CommonOptions {
  readonly store: ClientStore
  readonly backend: CryptoBackend
  /** Defaults to the platform's fetch and WebSocket (`browserTransport`); on Node pass `nodeTransport()`. */
  readonly transport?: Transport
  /** Milliseconds since the Unix epoch; defaults to Date.now. */
  readonly clock?: () => number
  /** How often each conversation gets a self-update (post-compromise security). */
  readonly selfUpdateIntervalMs?: number
  /** File reading and writing for `sendFile` and `downloadFile` (on Node: `nodeFiles()`). */
  readonly files?: FilePlatform
}

export interface CreateAccountOptions extends CommonOptions {
  readonly serverUrl: string
  readonly invite: string
  readonly handle: string
  readonly suite?: TacitSuiteName
}

export interface OpenOptions extends CommonOptions {
  /** Defaults to the server the account was registered with. */
  readonly serverUrl?: string
}

export interface BeginDeviceLinkOptions {
  readonly serverUrl: string
  readonly store: ClientStore
  readonly backend: CryptoBackend
}

export type CompleteDeviceLinkOptions = CommonOptions & { readonly answer: string }

type CommitIntent =
  | { readonly kind: 'add'; readonly handles: readonly string[] }
  | { readonly kind: 'remove'; readonly handles: readonly string[] }
  | { readonly kind: 'remove-devices'; readonly handle: string; readonly memberIds: readonly string[] }
  | { readonly kind: 'update' }

interface Route {
  readonly handle: string
  readonly memberId: string
  readonly deviceId: string
}

interface PendingCommitJson {
  envelopeId: string
  epoch: string
  next: string
  commitPayload: string
  commitRecipients: string[]
  welcomePayload: string | null
  welcomeRecipients: string[]
  selfUpdate: boolean
}

interface OutboxJson {
  conversationId: ConversationId
  payload: string
  recipients: string[]
}

interface LinkPackageJson {
  v: 1
  account: Parameters<typeof decodeAccount>[0]
  trust: [string, string][]
  keyPackages: [string, string][]
}

const STORED_LINK = 'pending'

type Listener = (value: never) => void

function randomHex(backend: CryptoBackend, n: number): string {
  return bytesToHex(backend.randomBytes(n))
}

function handlesOf(group: Group): string[] {
  return [...new Set(membersOf(group).map((m) => m.handle))].sort()
}

function checkHandles(handles: readonly string[]): void {
  if (handles.length === 0) throw new ClientError('usage', 'name at least one handle')
  if (handles.length > MAX_MEMBERS_PER_CHANGE) {
    throw new ClientError('too-large', `at most ${MAX_MEMBERS_PER_CHANGE} handles per change`)
  }
}

export class TacitClient {
  readonly handle: string
  readonly deviceId: string
  /** This user's Ed25519 identity public key (what contacts verify). */
  readonly identityKey: Uint8Array
  /** Call signalling over MLS, media key material and TURN credentials (src/calls/). */
  readonly calls: CallSignalling

  private readonly listeners = new Map<ClientEventName, Set<Listener>>()
  private readonly groups = new Map<ConversationId, Group>()
  private readonly inbox: Deliver[] = []
  private readonly markers = new Map<string, () => void>()
  private readonly owedAcks = new Set<bigint>()
  private readonly pendingReceipts = new Map<ConversationId, MessageId[]>()
  private readonly committing = new Set<ConversationId>()
  private lock: Promise<unknown> = Promise.resolve()
  private pumping = false
  private ready = false
  private closed = false
  private toppingUp = false
  private connection: Connection | null = null
  private seenSinceCleanup = 0
  private readonly auth: MlsAuthenticationService
  private readonly directory: Directory
  private readonly uploading = new Set<string>()
  private ownFingerprint: Uint8Array | null = null
  private caughtUp: Promise<void> | null = null
  private pumpRetryMs = RECONNECT_MIN_MS

  private constructor(
    private readonly account: AccountMaterial,
    private readonly store: ClientStore,
    private readonly backend: CryptoBackend,
    private readonly suite: CipherSuite,
    private readonly api: HttpApi,
    private readonly transport: Transport,
    private readonly now: () => number,
    private readonly selfUpdateIntervalMs: number,
    private readonly files: FilePlatform | null,
  ) {
    this.handle = account.handle
    this.deviceId = account.deviceId
    this.identityKey = account.identity.publicKey.slice()
    this.calls = new CallSignalling({
      self: { handle: account.handle, memberId: account.memberId },
      send: async (id, signal) => void (await this.sendContent(id, { type: 'call', signal })),
      exportSecret: (id, label, context, length) => this.callKeyMaterial(id, label, context, length),
      turnCredentials: () => this.turnCredentials(),
      recordCall: (id, kind, text) => this.recordCall(id, kind, text),
      callLog: async (id) => listCallLog(this.store, await this.requireConversation(id)),
      now: () => this.now(),
      randomBytes: (n) => backend.randomBytes(n),
    })
    this.directory = new Directory(backend, store, api, now, (a) => this.emit('alert', a))
    this.auth = createAuthenticationService({
      backend,
      identityOf: this.directory.identityOf,
      prefetch: (handles) => this.directory.identitiesOf(handles),
      onReject: (handle, reason) => {
        if (reason === 'identity-key-mismatch' && handle !== null) {
          void this.directory.reportIdentityMismatch(handle).catch(() => undefined)
        }
      },
    })
  }

  // -------------------------------------------------------------------------------------------
  // Accounts and devices

  /** Makes the identity key, registers the account by invite, uploads KeyPackages. */
  static async createAccount(o: CreateAccountOptions): Promise<TacitClient> {
    if (await loadAccount(o.store))
      throw new ClientError('already-registered', 'this store already holds an account')
    const transport = o.transport ?? browserTransport()
    const now = o.clock ?? Date.now
    const suite = await getCipherSuite(o.backend, o.suite ?? DEFAULT_SUITE)
    const material = await createDeviceMaterial({
      backend: o.backend,
      suite,
      serverUrl: o.serverUrl,
      handle: o.handle,
    })
    const api = new HttpApi(o.serverUrl, transport, now)
    const registered = await api.registerAccount({
      invite: o.invite,
      binding: {
        handle: o.handle,
        identityKey: material.identity.publicKey,
        signatureKey: material.authKey.publicKey,
        credential: material.credential,
      },
      signIdentity: signerFor(o.backend, material.identity),
      signDevice: signerFor(o.backend, material.authKey),
    })
    const account = { ...material, deviceId: registered.deviceId }
    await o.store.transaction((tx) => saveAccount(tx, account))
    api.setDevice(account.deviceId, signerFor(o.backend, account.authKey), {
      token: registered.sessionToken,
      expiresAt: registered.sessionExpiresAt,
    })
    const client = new TacitClient(
      account,
      o.store,
      o.backend,
      suite,
      api,
      transport,
      now,
      o.selfUpdateIntervalMs ?? SELF_UPDATE_INTERVAL_MS,
      o.files ?? null,
    )
    await client.directory.trustOnFirstUse(account.handle, account.identity.publicKey)
    await client.directory.recordRoute(account.handle, account.memberId, account.deviceId)
    await topUpKeyPackages({ store: o.store, api, suite, account, now, newLastResort: true })
    return client
  }

  /** Opens this device's existing account from the store (then `connect()`). */
  static async open(o: OpenOptions): Promise<TacitClient> {
    const account = await loadAccount(o.store)
    if (!account) throw new ClientError('not-registered', 'this store holds no account')
    const transport = o.transport ?? browserTransport()
    const now = o.clock ?? Date.now
    const suite = await getCipherSuite(o.backend, account.suite)
    const api = new HttpApi(o.serverUrl ?? account.serverUrl, transport, now)
    api.setDevice(account.deviceId, signerFor(o.backend, account.authKey))
    return new TacitClient(
      account,
      o.store,
      o.backend,
      suite,
      api,
      transport,
      now,
      o.selfUpdateIntervalMs ?? SELF_UPDATE_INTERVAL_MS,
      o.files ?? null,
    )
  }

  /**
   * New device, step 1: makes ephemeral keys, keeps them in the store, and returns the link
   * code to show (QR code or text) to an existing device of the same user.
   */
  static async beginDeviceLink(o: BeginDeviceLinkOptions): Promise<{ code: string }> {
    if (await loadAccount(o.store))
      throw new ClientError('already-registered', 'this store already holds an account')
    const secrets = await createLinkSecrets(o.backend)
    const record = {
      serverUrl: o.serverUrl,
      x: [bytesToBase64url(secrets.x.publicKey), bytesToBase64url(secrets.x.privateKey)],
      e: [bytesToBase64url(secrets.e.publicKey), bytesToBase64url(secrets.e.privateKey)],
    }
    await o.store.transaction((tx) => tx.put(NS.link, key(STORED_LINK), encodeJson(record)))
    return { code: encodeLinkCode(secrets) }
  }

  /**
   * New device, step 3: with the answer the existing device showed, fetches and opens the
   * account material from this device's mailbox, stores it, and returns the opened client.
   */
  static async completeDeviceLink(o: CompleteDeviceLinkOptions): Promise<TacitClient> {
    const stored = await getJson<{ serverUrl: string; x: [string, string]; e: [string, string] }>(
      o.store,
      NS.link,
      STORED_LINK,
      'device link',
    )
    if (!stored) throw new ClientError('usage', 'no device link was begun in this store')
    const toPair = (p: [string, string]): KeyPair => ({
      publicKey: base64urlToBytes(p[0], 'publicKey'),
      privateKey: base64urlToBytes(p[1], 'privateKey'),
    })
    const secrets: LinkSecrets = { x: toPair(stored.x), e: toPair(stored.e) }
    const answer = decodeLinkAnswer(o.answer)
    const authKey = await deriveLinkedAuthKey(
      o.backend,
      secrets.x.privateKey,
      answer.a,
      secrets.x.publicKey,
      answer.a,
    )
    const transport = o.transport ?? browserTransport()
    // Log in to the new device's mailbox and wait for the sealed package.
    let sealed: { seq: bigint; bytes: Uint8Array } | null = null
    let wake: () => void = () => {}
    const connection = new Connection(
      webSocketUrlOf(stored.serverUrl),
      transport,
      answer.deviceId,
      signerFor(o.backend, authKey),
      (frame) => {
        if (sealed) return
        try {
          const e = decodeEnvelope(frame.payload)
          if (e.kind === 'link') {
            sealed = { seq: frame.seq, bytes: e.sealed }
            wake()
          }
        } catch {
          // Not ours to read: left in the mailbox for the opened client.
        }
      },
    )
    try {
      await connection.open()
      await new Promise<void>((resolve, reject) => {
        if (sealed) return resolve()
        const timer = setTimeout(
          () => reject(new ClientError('timeout', 'no link package arrived')),
          SYNC_TIMEOUT_MS,
        )
        wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      const got = sealed as unknown as { seq: bigint; bytes: Uint8Array }
      const plaintext = await openLinkPackage(o.backend, secrets, got.bytes)
      const pkg = decodeJson<LinkPackageJson>(plaintext, 'link package')
      const account = decodeAccount(pkg.account)
      if (account.deviceId !== answer.deviceId || !equalBytes(account.authKey.publicKey, authKey.publicKey)) {
        throw new ClientError('link-invalid', 'the link package is for another device')
      }
      await o.store.transaction(async (tx) => {
        await saveAccount(tx, account)
        for (const [handle, record] of pkg.trust)
          await tx.put(NS.trust, key(handle), base64urlToBytes(record, 'trust'))
        for (const [hash, record] of pkg.keyPackages) {
          await tx.put(NS.keyPackages, key(hash), base64urlToBytes(record, 'KeyPackage'))
        }
        await tx.put(NS.acks, key(got.seq.toString()), new Uint8Array(0))
        await tx.delete(NS.link, key(STORED_LINK))
      })
      await connection.request({ type: 'ack', seqs: [got.seq] }).catch(() => undefined)
    } finally {
      connection.close()
    }
    const client = await TacitClient.open({ ...o, serverUrl: stored.serverUrl })
    await client.directory.recordRoute(client.handle, client.account.memberId, client.deviceId)
    return client
  }

  /**
   * Existing device, step 2: registers the device whose link code this is, sends it the account
   * material sealed to its key, adds it to all of this user's conversations, and returns the
   * answer to show on the new device.
   */
  async approveDeviceLink(code: string): Promise<string> {
    const peer = decodeLinkCode(this.backend, code)
    const a = await this.backend.dh.generate('X25519')
    const authKey = await deriveLinkedAuthKey(this.backend, a.privateKey, peer.x, peer.x, a.publicKey)
    const fresh = await createDeviceMaterial({
      backend: this.backend,
      suite: this.suite,
      serverUrl: this.account.serverUrl,
      handle: this.handle,
      identity: this.account.identity,
    })
    const material: AccountMaterial = { ...fresh, authKey }
    const registered = await this.api.addDevice({
      binding: {
        handle: this.handle,
        identityKey: material.identity.publicKey,
        signatureKey: authKey.publicKey,
        credential: material.credential,
      },
      signIdentity: signerFor(this.backend, this.account.identity),
      signDevice: signerFor(this.backend, authKey),
    })
    const account: AccountMaterial = { ...material, deviceId: registered.deviceId }
    // Its first KeyPackages, made here and uploaded with its session, so it can be added at once.
    const newApi = new HttpApi(this.account.serverUrl, this.transport, this.now)
    newApi.setDevice(account.deviceId, signerFor(this.backend, authKey), {
      token: registered.sessionToken,
      expiresAt: registered.sessionExpiresAt,
    })
    const kpStore = new Map<string, Uint8Array>()
    const records: KeyPackageRecord[] = []
    for (let i = 0; i < 5; i++)
      records.push((await generateKeyPackage(this.suite, account, false, this.now())).record)
    const lastResort = (await generateKeyPackage(this.suite, account, true, this.now())).record
    const capture = {
      put: async (_ns: unknown, k: Uint8Array, v: Uint8Array) => {
        kpStore.set(keyText(k), v)
      },
    } as unknown as StoreTransaction
    for (const r of [...records, lastResort]) await putKeyPackage(capture, r)
    const trust = (await this.store.list(NS.trust)).map((e): [string, string] => [
      keyText(e.key),
      bytesToBase64url(e.value),
    ])
    const pkg: LinkPackageJson = {
      v: 1,
      account: JSON.parse(new TextDecoder().decode(encodeAccount(account))),
      trust,
      keyPackages: [...kpStore].map(([h, v]) => [h, bytesToBase64url(v)]),
    }
    const sealed = await sealLinkPackage(this.backend, peer.e, peer.x, encodeJson(pkg))
    await this.connect()
    await this.conn().request({
      type: 'send',
      ttlSeconds: 0,
      recipients: [account.deviceId],
      payload: encodeEnvelope({ kind: 'link', id: this.backend.randomBytes(ENVELOPE_ID_BYTES), sealed }),
    })
    await newApi.uploadKeyPackages(
      records.map((r) => r.encoded),
      lastResort.encoded,
    )
    await this.directory.recordRoute(this.handle, account.memberId, account.deviceId)
    for (const c of await listConversationRecords(this.store)) {
      if (!c.active) continue
      await this.runCommit(c.id, { kind: 'add', handles: [this.handle] })
      await this.announceMetadata(c.id)
    }
    return encodeLinkAnswer(account.deviceId, a.publicKey)
  }

  /** This account's live devices, from the key directory. */
  async devices(): Promise<DeviceInfo[]> {
    const account = await this.directory.refresh(this.handle)
    if (!account) throw new ClientError('unknown-handle', 'our own account is not in the directory')
    return account.devices.map((d) => {
      let memberId = ''
      try {
        memberId = decodeCredential(d.credential).deviceId
      } catch {
        memberId = ''
      }
      return { deviceId: d.deviceId, memberId, createdAt: d.createdAt, current: d.deviceId === this.deviceId }
    })
  }

  /** Removes one of this account's devices from every conversation, then revokes it at the server. */
  async revokeDevice(deviceId: string): Promise<void> {
    if (deviceId === this.deviceId)
      throw new ClientError('usage', 'a device cannot revoke itself here; use another device')
    const target = (await this.devices()).find((d) => d.deviceId === deviceId)
    if (!target) throw new ClientError('usage', 'no such device on this account')
    for (const c of await listConversationRecords(this.store)) {
      if (!c.active) continue
      await this.runCommit(c.id, {
        kind: 'remove-devices',
        handle: this.handle,
        memberIds: [target.memberId],
      })
    }
    await this.api.revokeDevice(deviceId)
    await this.directory.refresh(this.handle)
  }

  // -------------------------------------------------------------------------------------------
  // Connection and events

  on<E extends ClientEventName>(event: E, fn: (value: ClientEvents[E]) => void): () => void {
    let set = this.listeners.get(event)
    if (!set) {
      set = new Set()
      this.listeners.set(event, set)
    }
    set.add(fn as Listener)
    return () => set.delete(fn as Listener)
  }

  private emit<E extends ClientEventName>(event: E, value: ClientEvents[E]): void {
    for (const fn of this.listeners.get(event) ?? []) {
      try {
        ;(fn as (v: ClientEvents[E]) => void)(value)
      } catch {
        // A listener's failure is its own; the client's state is already durable.
      }
    }
  }

  private conn(): Connection {
    if (this.closed) throw new ClientError('closed', 'the client is closed')
    if (!this.connection) {
      this.connection = new Connection(
        webSocketUrlOf(this.api.serverUrl),
        this.transport,
        this.deviceId,
        signerFor(this.backend, this.account.authKey),
        (frame) => {
          this.inbox.push(frame)
          this.pump()
        },
      )
      this.connection.onReady(() => {
        this.caughtUp = null
        void this.recover().catch(() => undefined)
      })
    }
    return this.connection
  }

  /** Opens the WebSocket; the mailbox starts flowing and is processed in order. */
  async connect(): Promise<void> {
    const c = this.conn()
    if (c.connected) return
    await c.open()
  }

  async close(): Promise<void> {
    this.closed = true
    await this.lock.catch(() => undefined)
    this.connection?.close()
  }

  /** Drains the mailbox: resolves once everything the server held when called is processed. */
  async sync(): Promise<void> {
    await this.connect()
    await this.barrier()
    await this.flushReceipts()
    await this.selfUpdateDue()
  }

  private async barrier(): Promise<void> {
    const id = this.backend.randomBytes(ENVELOPE_ID_BYTES)
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.markers.delete(bytesToHex(id))
        reject(new ClientError('timeout', 'the mailbox did not drain in time'))
      }, SYNC_TIMEOUT_MS)
      this.markers.set(bytesToHex(id), () => {
        clearTimeout(timer)
        resolve()
      })
    })
    // The mailbox is first in, first out: our marker comes back after everything before it.
    await this.conn().request({
      type: 'send',
      ttlSeconds: 0,
      recipients: [this.deviceId],
      payload: encodeEnvelope({ kind: 'marker', id }),
    })
    await done
  }

  /**
   * Before the first send or commit on each connection, the mailbox is drained once (a marker
   * round trip): a commit another member made while this device was away moves the group to a
   * new epoch, and a message encrypted in the old one would not reach the members who joined in
   * the new one (they hold no secrets of older epochs). After that, incoming commits are applied
   * as they arrive. Offline, sending goes through the outbox after the next connect's recovery,
   * and a failed catch-up does not fail the send: it is tried again on the next one.
   */
  private async catchUp(): Promise<void> {
    if (!this.connection?.connected) return
    if (!this.caughtUp) {
      const attempt = this.barrier().catch(() => {
        if (this.caughtUp === attempt) this.caughtUp = null
      })
      this.caughtUp = attempt
    }
    await this.caughtUp
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn)
    this.lock = run.catch(() => undefined)
    return run
  }

  /** After every (re)connect: acks owed, pending commits, the outbox; then the mailbox. */
  private async recover(): Promise<void> {
    this.ready = false
    for (const e of await this.store.list(NS.acks)) this.owedAcks.add(BigInt(keyText(e.key)))
    void this.flushAcks()
    await this.exclusive(async () => {
      for (const e of await this.store.list(NS.pendingCommits)) {
        await this.resubmitPendingLocked(
          keyText(e.key),
          decodeJson<PendingCommitJson>(e.value, 'pending commit'),
        )
      }
    })
    await this.exclusive(() => this.flushOutboxLocked())
    this.ready = true
    this.pump()
  }

  private pump(): void {
    if (this.pumping || !this.ready || this.closed) return
    this.pumping = true
    let stalled = false
    void this.exclusive(async () => {
      while (this.inbox.length > 0 && !this.closed) {
        const frame = this.inbox.shift()!
        try {
          await this.handleLocked(frame)
        } catch (error) {
          if (isTransient(error)) {
            // A directory lookup (a Welcome's or a commit's new members) timed out or the
            // network failed: keep the frame first in line and try again shortly, in mailbox
            // order, rather than drop a Welcome or a commit for good.
            this.inbox.unshift(frame)
            stalled = true
            break
          }
          // A frame we could not handle stays unacknowledged and comes back on the next
          // connection (store trouble); malformed input was acknowledged inside.
        }
      }
    }).finally(() => {
      this.pumping = false
      void this.flushAcks()
      void this.flushReceipts().catch(() => undefined)
      if (stalled) {
        this.pumpRetryMs = Math.min(RECONNECT_MAX_MS, this.pumpRetryMs * 2)
        setTimeout(() => this.pump(), this.pumpRetryMs).unref?.()
      } else {
        this.pumpRetryMs = RECONNECT_MIN_MS
        if (this.inbox.length > 0) this.pump()
      }
    })
  }

  private async flushAcks(): Promise<void> {
    if (this.owedAcks.size === 0 || !this.connection?.connected) return
    const seqs = [...this.owedAcks].slice(0, MAX_ACK_SEQS)
    try {
      await this.conn().request({ type: 'ack', seqs })
      for (const s of seqs) this.owedAcks.delete(s)
      await this.store.transaction(async (tx) => {
        for (const s of seqs) await tx.delete(NS.acks, key(s.toString()))
      })
    } catch {
      // Retried after the next envelope or reconnect; the server redelivers, we de-duplicate.
    }
    if (this.owedAcks.size > 0 && seqs.length === MAX_ACK_SEQS) await this.flushAcks()
  }

  // -------------------------------------------------------------------------------------------
  // Incoming

  /** RFC 9420 §8.5 exporter of the conversation's current epoch, for call media keys. */
  private async callKeyMaterial(
    id: ConversationId,
    label: string,
    context: Uint8Array,
    length: number,
  ): Promise<CallKeyMaterial> {
    return this.exclusive(async () => {
      const c = await this.requireConversation(id)
      if (!c.active) throw new ClientError('not-member', 'this device is no longer in the conversation')
      const group = await this.loadGroup(c)
      return {
        epoch: epochOf(group),
        secret: await exportSecret(group, this.configFor(c), label, context, length),
        ownLeafIndex: ownLeafIndex(group),
        members: membersOf(group).map((m) => ({
          handle: m.handle,
          memberId: m.deviceId,
          leafIndex: m.leafIndex,
        })),
      }
    })
  }

  private async recordCall(id: ConversationId, kind: CallLogKind, text: string): Promise<CallLogEntry> {
    checkCallLogInput(kind, text)
    const c = await this.requireConversation(id)
    const entry: CallLogEntry = {
      id: randomHex(this.backend, 8),
      conversationId: id,
      kind,
      text,
      at: this.now(),
    }
    await this.store.transaction((tx) => appendCallLog(tx, c, entry))
    return entry
  }

  /** GET /v1/turn-credentials (docs/operations.md §Calls: TURN): short-lived, per device. */
  private async turnCredentials(): Promise<TurnCredentials> {
    // The bearer helper is private to HttpApi; its bracket access keeps this change out of it.
    // biome-ignore lint/complexity/useLiteralKeys: TypeScript allows private access only this way
    const r = (await this.api['authed']('GET', '/v1/turn-credentials')) as {
      iceServers?: unknown
      expiresAt?: unknown
    }
    const servers = Array.isArray(r.iceServers) ? r.iceServers.slice(0, 8) : []
    return {
      iceServers: servers.map((v: { urls?: unknown; username?: unknown; credential?: unknown }) => ({
        urls: Array.isArray(v.urls) ? v.urls.slice(0, 8).map(String) : [],
        ...(typeof v.username === 'string' ? { username: v.username } : {}),
        ...(typeof v.credential === 'string' ? { credential: v.credential } : {}),
      })),
      expiresAt: typeof r.expiresAt === 'number' ? r.expiresAt : 0,
    }
  }

  private configFor(c: Pick<ConversationRecord, 'admins'>): GroupConfig {
    return { suite: this.suite, auth: this.auth, policy: standardPolicy({ admins: c.admins }) }
  }

  private async loadGroup(c: ConversationRecord): Promise<Group> {
    const cached = this.groups.get(c.id)
    if (cached) return cached
    const bytes = await this.store.get(NS.groups, key(c.id))
    if (!bytes) throw new ClientError('internal', 'a conversation without group state')
    const group = restoreGroup(bytes, this.configFor(c))
    this.groups.set(c.id, group)
    return group
  }

  private async putGroup(tx: StoreTransaction, c: ConversationRecord, group: Group): Promise<void> {
    await tx.put(NS.groups, key(c.id), snapshotGroup(group, this.configFor(c)))
  }

  /** Marks the envelope processed and the seq owed, inside the caller's transaction. */
  private async markDone(tx: StoreTransaction, envelopeId: Uint8Array | null, seq: bigint): Promise<void> {
    if (envelopeId) await tx.put(NS.seen, key(bytesToHex(envelopeId)), encodeJson(this.now()))
    await tx.put(NS.acks, key(seq.toString()), new Uint8Array(0))
  }

  private async dropEnvelope(envelopeId: Uint8Array | null, seq: bigint): Promise<void> {
    await this.store.transaction((tx) => this.markDone(tx, envelopeId, seq))
    this.owedAcks.add(seq)
  }

  private async handleLocked(frame: Deliver): Promise<void> {
    let envelope: Envelope
    try {
      envelope = decodeEnvelope(frame.payload)
    } catch {
      await this.dropEnvelope(null, frame.seq)
      return
    }
    if (await this.store.get(NS.seen, key(bytesToHex(envelope.id)))) {
      this.owedAcks.add(frame.seq)
      return
    }
    this.seenSinceCleanup++
    switch (envelope.kind) {
      case 'marker': {
        await this.dropEnvelope(envelope.id, frame.seq)
        this.markers.get(bytesToHex(envelope.id))?.()
        this.markers.delete(bytesToHex(envelope.id))
        break
      }
      case 'link':
        await this.dropEnvelope(envelope.id, frame.seq)
        break
      case 'welcome':
        await this.handleWelcomeLocked(envelope, frame.seq)
        break
      case 'application':
      case 'commit':
        await this.handleGroupMessageLocked(envelope, frame)
        break
    }
    if (this.seenSinceCleanup >= 1000) await this.forgetOldEnvelopes()
  }

  private async forgetOldEnvelopes(): Promise<void> {
    this.seenSinceCleanup = 0
    const all = await this.store.list(NS.seen)
    if (all.length <= MAX_SEEN_ENVELOPES) return
    const byAge = all
      .map((e) => ({ key: e.key, at: decodeJson<number>(e.value, 'seen') }))
      .sort((a, b) => a.at - b.at)
    await this.store.transaction(async (tx) => {
      for (const e of byAge.slice(0, all.length - MAX_SEEN_ENVELOPES)) await tx.delete(NS.seen, e.key)
    })
  }

  private async handleWelcomeLocked(
    envelope: Extract<Envelope, { kind: 'welcome' }>,
    seq: bigint,
  ): Promise<void> {
    let record: KeyPackageRecord | undefined
    for (const ref of envelope.keyPackageRefs) {
      record = await findKeyPackage(this.store, ref)
      if (record) break
    }
    if (!record) {
      await this.dropEnvelope(envelope.id, seq)
      return
    }
    let group: Group
    try {
      group = await this.joinFromWelcome(envelope.welcome, record)
    } catch (error) {
      if (isTransient(error)) throw error // Tried again (pump); the Welcome is not lost.
      await this.dropEnvelope(envelope.id, seq)
      this.emit('alert', { kind: 'undecryptable', conversationId: '', reason: reasonOf(error) })
      return
    }
    const id = bytesToBase64url(groupIdOf(group))
    const existing = await getConversation(this.store, id)
    const c = existing
      ? { ...existing, active: true, lastSelfUpdate: this.now() }
      : newConversation(id, randomHex(this.backend, 16), this.now())
    const used = record
    await this.store.transaction(async (tx) => {
      await putConversation(tx, c)
      await this.putGroup(tx, c, group)
      if (!used.lastResort) await tx.delete(NS.keyPackages, key(used.hash))
      await this.markDone(tx, envelope.id, seq)
    })
    this.groups.set(id, group)
    this.owedAcks.add(seq)
    this.emit('conversation', this.summaryOf(c, group))
    void this.topUp(used.lastResort && used.retiredAt === null)
  }

  /**
   * Joins from a Welcome. Every member credential in the group's tree is checked against the
   * identity key trusted for its handle; handles met for the first time need a directory lookup
   * each. Rather than one lookup after the other as the MLS library meets them, the join checks
   * the credentials of known handles fully and, for the unknown ones, everything but whose key
   * the identity key is (well formed, the leaf's signature key, signed by the identity key it
   * names), noting that identity key. The unknown handles are then looked up together
   * (concurrently, one store transaction, trust on first use and alerts per handle) and each
   * noted key must be the one now trusted for its handle. Only when one is not does the join
   * run again with the full check, which rejects it through the real authentication service
   * (and its identity-key-mismatch alert).
   */
  private async joinFromWelcome(welcome: Uint8Array, record: KeyPackageRecord): Promise<Group> {
    const params = async (config: GroupConfig) => ({
      config,
      welcome,
      keyPackage: await decodeKeyPackage(this.suite, record.encoded),
      privateKeyPackage: privateOf(record),
    })
    const baseConfig = this.configFor({ admins: [] })
    const claimedKeys = new Map<string, Uint8Array[]>()
    let joining = true
    // The group keeps the service it was joined with: once the join returns, this one is the
    // real service and nothing else.
    const auth: MlsAuthenticationService = {
      validateCredential: async (credential, signaturePublicKey) => {
        if (!joining) return this.auth.validateCredential(credential, signaturePublicKey)
        const check = await checkMlsCredential(
          this.backend,
          (h) => this.directory.trustedKey(h),
          credential,
          signaturePublicKey,
        )
        if (check.ok) return true
        if (check.reason !== 'unknown-handle') return false
        // The credential is well formed and signed by the identity key it names; only whether
        // that key is the handle's is open, and the lookup below answers it.
        const c = decodeCredential((credential as { identity: Uint8Array }).identity)
        claimedKeys.set(c.handle, [...(claimedKeys.get(c.handle) ?? []), c.identityKey])
        return true
      },
    }
    const joinChecked = async () => joinGroup(await params(baseConfig))
    let joined: Group
    try {
      joined = await joinGroup(await params({ ...baseConfig, auth }))
    } catch {
      // The full join fails the same way, reporting through the real service; the handles
      // noted so far are looked up together first rather than one by one there.
      await this.directory.identitiesOf([...claimedKeys.keys()])
      return joinChecked()
    } finally {
      joining = false
    }
    if (claimedKeys.size === 0) return joined
    const trusted = await this.directory.identitiesOf([...claimedKeys.keys()])
    for (const [handle, keys] of claimedKeys) {
      const trustedKey = trusted.get(handle)
      if (!trustedKey || !keys.every((k) => equalBytes(k, trustedKey))) return joinChecked()
    }
    return joined
  }

  private async topUp(newLastResort: boolean): Promise<void> {
    if (this.toppingUp) return
    this.toppingUp = true
    try {
      await topUpKeyPackages({
        store: this.store,
        api: this.api,
        suite: this.suite,
        account: this.account,
        now: this.now,
        newLastResort,
      })
    } catch {
      // Tried again after the next Welcome or on `refreshKeyPackages`.
    } finally {
      this.toppingUp = false
    }
  }

  /** Tops this device's KeyPackages up now (the client also does it after each Welcome). */
  async refreshKeyPackages(): Promise<number> {
    return topUpKeyPackages({
      store: this.store,
      api: this.api,
      suite: this.suite,
      account: this.account,
      now: this.now,
    })
  }

  private async handleGroupMessageLocked(
    envelope: Extract<Envelope, { kind: 'application' | 'commit' }>,
    frame: Deliver,
  ): Promise<void> {
    const id = bytesToBase64url(envelope.groupId)
    const c = await getConversation(this.store, id)
    if (!c || !c.active) {
      await this.dropEnvelope(envelope.id, frame.seq)
      return
    }
    const group = await this.loadGroup(c)
    const pendingBytes = await this.store.get(NS.pendingCommits, key(id))
    const pending = pendingBytes ? decodeJson<PendingCommitJson>(pendingBytes, 'pending commit') : undefined
    if (envelope.kind === 'commit') {
      if (pending && pending.envelopeId === bytesToHex(envelope.id)) {
        // Our own commit came back: the server accepted it (it would not store a loser).
        await this.adoptPendingLocked(c, group, pending, { envelopeId: envelope.id, seq: frame.seq })
        return
      }
      if (envelope.epoch !== epochOf(group)) {
        // An older epoch: our own commit, adopted already when the server said commit-ok.
        await this.dropEnvelope(envelope.id, frame.seq)
        if (envelope.epoch > epochOf(group))
          this.emit('alert', {
            kind: 'undecryptable',
            conversationId: id,
            reason: 'commit from a future epoch',
          })
        return
      }
    }
    let result: Awaited<ReturnType<typeof processMessage>>
    try {
      result = await processMessage(group, this.configFor(c), envelope.mls)
    } catch (error) {
      if (isTransient(error)) throw error // Tried again (pump), in mailbox order.
      await this.dropEnvelope(envelope.id, frame.seq)
      // A message from before we joined, or from an epoch we no longer keep, is expected.
      if (!ProtocolError.is(error, 'wrong-epoch')) {
        this.emit('alert', { kind: 'undecryptable', conversationId: id, reason: reasonOf(error) })
      }
      return
    }
    if (result.kind === 'commit') {
      const before = membersOf(group)
      const after = result.removedSelf ? [] : membersOf(result.group)
      const next = { ...c, active: !result.removedSelf }
      await this.store.transaction(async (tx) => {
        await this.putGroup(tx, next, result.group)
        await putConversation(tx, next)
        if (pending) await tx.delete(NS.pendingCommits, key(id))
        await this.markDone(tx, envelope.id, frame.seq)
      })
      this.groups.set(id, result.group)
      this.owedAcks.add(frame.seq)
      // A pending commit of ours lost the epoch: a running `runCommit` rebuilds it; one left
      // from before a crash is dropped, and the user is told.
      if (pending && !this.committing.has(id))
        this.emit('alert', { kind: 'commit-dropped', conversationId: id })
      this.emitMembership(id, before, after, result.removedSelf)
      if (!result.removedSelf) this.calls.epochChanged(id, epochOf(result.group))
      return
    }
    let content: ReturnType<typeof decodeContent>
    try {
      content = decodeContent(result.plaintext)
    } catch (error) {
      // The ratchet moved: keep the new state, drop the content.
      await this.store.transaction(async (tx) => {
        await this.putGroup(tx, c, result.group)
        await this.markDone(tx, envelope.id, frame.seq)
      })
      this.groups.set(id, result.group)
      this.owedAcks.add(frame.seq)
      this.emit('alert', { kind: 'undecryptable', conversationId: id, reason: reasonOf(error) })
      return
    }
    const sender: Person = { handle: result.sender.handle, memberId: result.sender.deviceId }
    const next = { ...c }
    const events = await this.store.transaction(async (tx) => {
      const ev = await applyContent(tx, next, content, sender, this.handle, this.now())
      await this.putGroup(tx, next, result.group)
      await putConversation(tx, next)
      await this.markDone(tx, envelope.id, frame.seq)
      return ev
    })
    this.groups.set(id, result.group)
    this.owedAcks.add(frame.seq)
    for (const e of events) {
      if (e.type === 'message' && !e.message.outgoing) {
        const list = this.pendingReceipts.get(id) ?? []
        list.push(e.message.id)
        this.pendingReceipts.set(id, list)
      }
    }
    this.emitContent(events, next, result.group)
    if (content.body.type === 'call') this.calls.receive(id, sender, content.sentAt, content.body.signal)
  }

  private emitContent(events: readonly ContentEvent[], c: ConversationRecord, group: Group): void {
    for (const e of events) {
      switch (e.type) {
        case 'message':
          this.emit('message', e.message)
          break
        case 'conversation':
          this.emit('conversation', this.summaryOf(c, group))
          break
        default:
          this.emit(e.type, e as never)
      }
    }
  }

  private emitMembership(
    id: ConversationId,
    before: ReturnType<typeof membersOf>,
    after: ReturnType<typeof membersOf>,
    removedSelf: boolean,
  ): void {
    const k = (m: { handle: string; deviceId: string }) => `${m.handle}/${m.deviceId}`
    const was = new Set(before.map(k))
    const is = new Set(after.map(k))
    const added = after.filter((m) => !was.has(k(m))).map((m) => ({ handle: m.handle, memberId: m.deviceId }))
    const removed = removedSelf
      ? []
      : before.filter((m) => !is.has(k(m))).map((m) => ({ handle: m.handle, memberId: m.deviceId }))
    if (added.length || removed.length || removedSelf) {
      this.emit('membership', { conversationId: id, added, removed, removedSelf })
      void this.recheckVerified([...added, ...removed].map((p) => p.handle)).catch(() => undefined)
    }
  }

  /** A verified contact's devices changed in a group: ask the directory, which alerts on changes. */
  private async recheckVerified(handles: readonly string[]): Promise<void> {
    for (const h of new Set(handles)) {
      if (h === this.handle) continue
      if ((await getVerifiedRecord(this.store, h))?.verified) await this.directory.refresh(h)
    }
  }

  // -------------------------------------------------------------------------------------------
  // Outgoing application messages

  private async recipientsOf(group: Group): Promise<string[]> {
    const self = ownLeafIndex(group)
    const others = membersOf(group)
      .filter((m) => m.leafIndex !== self)
      .map((m) => ({ handle: m.handle, memberId: m.deviceId }))
    const routes = await this.directory.resolve(others)
    return [...new Set(routes.values())].filter((d) => d !== this.deviceId)
  }

  /**
   * `alsoInTx` runs in the transaction that persists the message (a file upload's record is
   * deleted there, so a crash never leaves the upload both sent and resumable).
   */
  private async sendContent(
    id: ConversationId,
    body: ContentBody,
    alsoInTx?: (tx: StoreTransaction) => Promise<void>,
  ): Promise<MessageId> {
    await this.catchUp()
    return this.exclusive(async () => {
      const c = await this.requireConversation(id)
      const group = await this.loadGroup(c)
      if (!isActive(group))
        throw new ClientError('not-member', 'this device is no longer in the conversation')
      const content = { id: this.backend.randomBytes(MESSAGE_ID_BYTES), sentAt: this.now(), body }
      const encrypted = await encryptMessage(group, this.configFor(c), encodeContent(content))
      const envelopeId = this.backend.randomBytes(ENVELOPE_ID_BYTES)
      const payload = encodeEnvelope({
        kind: 'application',
        id: envelopeId,
        groupId: groupIdOf(group),
        mls: encrypted.message,
      })
      const recipients = await this.recipientsOf(encrypted.group)
      const outboxKey = `${this.now().toString().padStart(15, '0')}-${bytesToHex(envelopeId)}`
      const next = { ...c }
      const self: Person = { handle: this.handle, memberId: this.account.memberId }
      const events = await this.store.transaction(async (tx) => {
        await this.putGroup(tx, next, encrypted.group)
        // Our own sent message is in the envelope's ids too: a copy coming back is a duplicate.
        await tx.put(NS.seen, key(bytesToHex(envelopeId)), encodeJson(this.now()))
        if (recipients.length > 0) {
          const entry: OutboxJson = { conversationId: id, payload: bytesToBase64url(payload), recipients }
          await tx.put(NS.outbox, key(outboxKey), encodeJson(entry))
        }
        const ev = await applyContent(tx, next, content, self, this.handle, this.now())
        await putConversation(tx, next)
        if (alsoInTx) await alsoInTx(tx)
        return ev
      })
      this.groups.set(id, encrypted.group)
      this.emitContent(events, next, encrypted.group)
      if (recipients.length > 0)
        await this.sendOutboxEntryLocked(outboxKey, {
          conversationId: id,
          payload: bytesToBase64url(payload),
          recipients,
        })
      return bytesToHex(content.id)
    })
  }

  private async sendOutboxEntryLocked(outboxKey: string, entry: OutboxJson): Promise<void> {
    const payload = base64urlToBytes(entry.payload, 'payload')
    let recipients = entry.recipients
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        for (let i = 0; i < recipients.length; i += MAX_RECIPIENTS) {
          await this.conn().request({
            type: 'send',
            ttlSeconds: 0,
            recipients: recipients.slice(i, i + MAX_RECIPIENTS),
            payload,
          })
        }
        await this.store.transaction((tx) => tx.delete(NS.outbox, key(outboxKey)))
        return
      } catch (error) {
        if (!(ClientError.isServer(error, 'device-revoked') || ClientError.isServer(error, 'not-found')))
          throw error
        // A recipient was revoked: refresh the directory and send to the devices still there.
        const c = await getConversation(this.store, entry.conversationId)
        if (!c) break
        const group = await this.loadGroup(c)
        await this.directory.refreshMany(handlesOf(group))
        recipients = await this.recipientsOf(group)
        if (recipients.length === 0) break
      }
    }
    await this.store.transaction((tx) => tx.delete(NS.outbox, key(outboxKey)))
  }

  private async flushOutboxLocked(): Promise<void> {
    for (const e of await this.store.list(NS.outbox)) {
      try {
        await this.sendOutboxEntryLocked(keyText(e.key), decodeJson<OutboxJson>(e.value, 'outbox entry'))
      } catch {
        return // Offline again: the rest waits for the next connection, in order.
      }
    }
  }

  async sendText(id: ConversationId, text: string): Promise<MessageId> {
    return this.sendContent(id, { type: 'text', text })
  }

  /** Sends an encoded file descriptor (docs/protocol/files.md) as a message. */
  async sendFileDescriptor(id: ConversationId, descriptor: Uint8Array): Promise<MessageId> {
    return this.sendContent(id, { type: 'file', descriptor })
  }

  // -------------------------------------------------------------------------------------------
  // Files (docs/protocol/files.md; transfer: src/transfer/)

  private requireFiles(): FilePlatform {
    if (!this.files) {
      throw new ClientError(
        'usage',
        'no file platform: pass `files` (on Node: nodeFiles()) when opening the client',
      )
    }
    return this.files
  }

  /**
   * Sends a file: encrypts it while uploading (constant memory, 64 KiB chunks, ciphertext padded
   * to a size bucket), then sends its descriptor (blob id, key, digest, size, name, type) as an
   * MLS application message. `source` is a platform name (on Node, a path) or a `FileSource`.
   *
   * Resumable: the upload's state (blob id, key, nonce prefix, last checkpoint the server
   * confirmed) is kept in the store, so calling `sendFile` again with the same conversation and
   * the same unchanged file — in this process or after a restart — continues at the server's
   * offset. The state is deleted in the transaction that stores the sent message.
   */
  async sendFile(
    conversationId: ConversationId,
    source: string | FileSource,
    o: SendFileOptions = {},
  ): Promise<SentFile> {
    const c = await this.requireConversation(conversationId)
    if (!c.active) throw new ClientError('not-member', 'this device is no longer in the conversation')
    const file = typeof source === 'string' ? await this.requireFiles().openSource(source) : source
    const name = o.name ?? file.name
    const mediaType = o.type ?? file.type ?? DEFAULT_MEDIA_TYPE
    if (!isValidFileName(name))
      throw new ClientError(
        'usage',
        'the file name must be 1–255 bytes, no path separators or control characters',
      )
    if (!isValidMediaType(mediaType)) throw new ClientError('usage', 'the media type must be type/subtype')
    const guard = `${conversationId}\0${file.identity}`
    if (this.uploading.has(guard)) throw new ClientError('usage', 'this file is already being sent here')
    this.uploading.add(guard)
    try {
      const upload = await uploadFile({
        backend: this.backend,
        api: this.api,
        store: this.store,
        now: this.now,
        conversationId,
        source: file,
        name,
        mediaType,
        ...(o.onProgress ? { onProgress: o.onProgress } : {}),
        ...(o.signal ? { signal: o.signal } : {}),
      })
      await this.connect()
      const id = await this.sendContent(
        conversationId,
        { type: 'file', descriptor: encodeFileDescriptor(upload.descriptor) },
        (tx) => tx.delete(NS.uploads, key(upload.uploadKey)),
      )
      return { id, name, mediaType, size: file.size, resumedFrom: upload.resumedFrom }
    } finally {
      this.uploading.delete(guard)
    }
  }

  /**
   * Downloads, decrypts and checks the file of a file message into `destination`. Nothing is at
   * `destination` unless every chunk authenticated and the whole file matched the descriptor's
   * size and digest (it is written beside it first, then renamed into place; an existing file
   * there is replaced only then). A blob that fails those checks — modified, cut, reordered,
   * not the one described — throws `ClientError('file-tampered')`. An interrupted download
   * (network, `signal`, crash) keeps its verified part out of view, and the next call for the
   * same destination continues from there with a range request.
   */
  async downloadFile(
    conversationId: ConversationId,
    messageId: MessageId,
    destination: string,
    o: DownloadFileOptions = {},
  ): Promise<DownloadedFile> {
    const descriptor = await this.fileDescriptorOf(conversationId, messageId)
    if (descriptor.blobId === '') throw new ClientError('usage', 'this file was not uploaded to a server')
    const platform = this.requireFiles()
    try {
      await platform.decryptTo(
        this.backend,
        destination,
        { key: descriptor.key, size: descriptor.size, digest: descriptor.digest },
        httpBlobReader(this.api, descriptor.blobId, o.signal),
        { ...(o.onProgress ? { onProgress: o.onProgress } : {}), ...(o.signal ? { signal: o.signal } : {}) },
      )
    } catch (error) {
      if (
        ProtocolError.is(error, 'decrypt-failed') ||
        ProtocolError.is(error, 'verification-failed') ||
        ProtocolError.is(error, 'malformed')
      ) {
        throw new ClientError(
          'file-tampered',
          'the downloaded file failed its integrity check (modified, cut, or not the file described); nothing was saved',
          { cause: error },
        )
      }
      if (o.signal?.aborted && !ClientError.is(error)) {
        throw new ClientError('closed', 'the download was cancelled', { cause: error })
      }
      throw error
    }
    return {
      path: destination,
      name: descriptor.name,
      mediaType: descriptor.mediaType,
      size: descriptor.size,
    }
  }

  private async fileDescriptorOf(
    conversationId: ConversationId,
    messageId: MessageId,
  ): Promise<FileDescriptor> {
    const c = await this.requireConversation(conversationId)
    const m = await getMessage(this.store, c, messageId)
    if (!m || m.kind !== 'file' || m.file === undefined)
      throw new ClientError('usage', 'no file message with this id in the conversation')
    if (m.deleted) throw new ClientError('usage', 'this file message was deleted')
    try {
      return decodeFileDescriptor(base64urlToBytes(m.file, 'descriptor'))
    } catch (cause) {
      throw new ClientError('malformed', 'the file message’s descriptor does not decode', { cause })
    }
  }

  // -------------------------------------------------------------------------------------------
  // Verification (docs/protocol/verification.md)

  private async ownFingerprintOf(): Promise<Uint8Array> {
    this.ownFingerprint ??= await computeFingerprint(this.backend, {
      handle: this.handle,
      identityKey: this.account.identity.publicKey,
    })
    return this.ownFingerprint
  }

  private async peerIdentity(handle: string): Promise<Uint8Array> {
    if (handle === this.handle) throw new ClientError('usage', 'that is this account: name a contact')
    const identityKey = await this.directory.identityOf(handle)
    if (!identityKey) throw new ClientError('unknown-handle', `no account ${handle}`)
    return identityKey
  }

  /**
   * The safety number and verification code of this user and `handle`, from the identity key
   * held for them (trusted on first use, fetched from the directory if not known yet). Both
   * people see the same digits; each shows their own QR code for the other to scan.
   */
  async safetyNumber(handle: string): Promise<SafetyNumberInfo> {
    const identityKey = await this.peerIdentity(handle)
    const own = await this.ownFingerprintOf()
    const peer = await computeFingerprint(this.backend, { handle, identityKey })
    const number = combineFingerprints(own, peer)
    const qrPayload = encodeVerificationCode({ presenterFingerprint: own, scannerFingerprint: peer })
    return {
      digits: number.digits,
      groups: number.groups,
      qrPayload,
      qrText: bytesToHex(qrPayload),
      identityKey,
    }
  }

  /**
   * Checks what the contact shows — the QR code scanned from their screen (bytes, or its hex),
   * or the 60 digits typed in (spaces allowed) — against the keys held here, and marks the
   * contact verified only if it matches. A mismatch throws `ClientError('verification-failed')`
   * and changes nothing (also when the code scanned is this user's own).
   */
  async verifyContact(handle: string, scanned: Uint8Array | string): Promise<ContactInfo> {
    const identityKey = await this.peerIdentity(handle)
    const own = await this.ownFingerprintOf()
    const peer = await computeFingerprint(this.backend, { handle, identityKey })
    let payload: Uint8Array
    if (typeof scanned === 'string') {
      if (scanned.length > MAX_VERIFICATION_INPUT_CHARS)
        throw new ClientError(
          'too-large',
          `above MAX_VERIFICATION_INPUT_CHARS (${MAX_VERIFICATION_INPUT_CHARS})`,
        )
      const text = scanned.replace(/\s+/g, '')
      if (/^\d{60}$/.test(text)) {
        const expected = combineFingerprints(own, peer).digits
        if (!equalBytes(new TextEncoder().encode(text), new TextEncoder().encode(expected))) {
          throw new ClientError(
            'verification-failed',
            'the safety number does not match: do not trust this contact yet',
          )
        }
        return this.markVerifiedKey(handle, identityKey)
      }
      if (!/^([0-9a-fA-F]{2})+$/.test(text))
        throw new ClientError('malformed', 'give the 60 digits or the verification code in hex')
      payload = hexToBytes(text.toLowerCase())
    } else {
      payload = scanned
    }
    try {
      compareScannedVerificationCode({ own, peer }, payload)
    } catch (error) {
      if (
        VerificationError.isReason(error, 'fingerprint-mismatch') ||
        VerificationError.isReason(error, 'scanned-own-code')
      ) {
        throw new ClientError('verification-failed', error.message, { cause: error })
      }
      if (VerificationError.isReason(error, 'too-large'))
        throw new ClientError('too-large', error.message, { cause: error })
      throw new ClientError('malformed', 'the scanned code is not a Tacit verification code', {
        cause: error,
      })
    }
    return this.markVerifiedKey(handle, identityKey)
  }

  /**
   * Marks `handle` verified: the user compared the safety number in person and it matched.
   * Records the identity key held for them and their current devices; from then on, a change
   * of either raises an `alert`.
   */
  async markVerified(handle: string): Promise<ContactInfo> {
    return this.markVerifiedKey(handle, await this.peerIdentity(handle))
  }

  private async markVerifiedKey(handle: string, identityKey: Uint8Array): Promise<ContactInfo> {
    const account = await this.directory.refresh(handle)
    if (!account) throw new ClientError('unknown-handle', `no account ${handle}`)
    if (!equalBytes(account.identityKey, identityKey)) {
      throw new ClientError(
        'verification-failed',
        'the directory now gives another identity key for this handle: compare again',
      )
    }
    const existing = await getVerifiedRecord(this.store, handle)
    if (!existing && (await this.store.list(NS.verified)).length >= MAX_VERIFIED_CONTACTS) {
      throw new ClientError(
        'too-large',
        `at most MAX_VERIFIED_CONTACTS (${MAX_VERIFIED_CONTACTS}) verified contacts`,
      )
    }
    const record = newVerifiedRecord(await certifiedContact(this.backend, account), this.now())
    await this.store.transaction((tx) => putVerifiedRecord(tx, record))
    return this.contact(handle)
  }

  /** One contact: the identity key held for them and whether it is verified. */
  async contact(handle: string): Promise<ContactInfo> {
    const identityKey = await this.peerIdentity(handle)
    const trust = await getJson<TrustRecord>(this.store, NS.trust, handle, 'trust record')
    const record = await getVerifiedRecord(this.store, handle)
    const verified =
      record?.verified === true &&
      equalBytes(base64urlToBytes(record.identityKey, 'identityKey'), identityKey)
    return {
      handle,
      identityKey,
      verified,
      verifiedAt: verified ? record!.verifiedAt : null,
      firstSeen: trust?.firstSeen ?? this.now(),
    }
  }

  /** Everyone this device holds an identity key for (other than this user), by handle. */
  async contacts(): Promise<ContactInfo[]> {
    const verified = new Map((await listVerifiedRecords(this.store)).map((r) => [r.handle, r]))
    const out: ContactInfo[] = []
    for (const e of await this.store.list(NS.trust)) {
      const handle = keyText(e.key)
      if (handle === this.handle) continue
      const trust = decodeJson<TrustRecord>(e.value, 'trust record')
      const identityKey = base64urlToBytes(trust.identityKey, 'identityKey')
      const record = verified.get(handle)
      const isVerified =
        record?.verified === true &&
        equalBytes(base64urlToBytes(record.identityKey, 'identityKey'), identityKey)
      out.push({
        handle,
        identityKey,
        verified: isVerified,
        verifiedAt: isVerified ? record!.verifiedAt : null,
        firstSeen: trust.firstSeen,
      })
    }
    return out.sort((a, b) => (a.handle < b.handle ? -1 : a.handle > b.handle ? 1 : 0))
  }

  /**
   * Asks the directory about every verified contact now; returns (and emits as `alert`) what
   * changed since the user was last told: identity keys, devices added, removed or re-keyed.
   * (The client also checks by itself when a verified contact's devices change in a group.)
   */
  async checkContacts(): Promise<Alert[]> {
    const alerts: Alert[] = []
    for (const r of await listVerifiedRecords(this.store)) {
      if (!r.verified) continue
      alerts.push(...(await this.directory.refreshWithAlerts(r.handle)).alerts)
    }
    return alerts
  }

  async editMessage(id: ConversationId, messageId: MessageId, text: string): Promise<void> {
    await this.requireOwnMessage(id, messageId)
    await this.sendContent(id, { type: 'edit', target: checkMessageId(messageId), text })
  }

  async deleteMessage(id: ConversationId, messageId: MessageId): Promise<void> {
    await this.requireOwnMessage(id, messageId)
    await this.sendContent(id, { type: 'delete', target: checkMessageId(messageId) })
  }

  async react(id: ConversationId, messageId: MessageId, reaction: string, remove = false): Promise<void> {
    await this.sendContent(id, { type: 'reaction', target: checkMessageId(messageId), reaction, remove })
  }

  async setTyping(id: ConversationId, on: boolean): Promise<void> {
    await this.sendContent(id, { type: 'typing', typing: on })
  }

  /** Marks incoming messages read (all, or up to and including `upTo`) and sends a read receipt. */
  async markRead(id: ConversationId, upTo?: MessageId): Promise<void> {
    const c = await this.requireConversation(id)
    let ids = c.unreadIds
    if (upTo !== undefined) {
      const i = ids.indexOf(upTo)
      if (i >= 0) ids = ids.slice(0, i + 1)
    }
    if (ids.length === 0) return
    await this.exclusive(async () => {
      const fresh = await this.requireConversation(id)
      const left = fresh.unreadIds.filter((u) => !ids.includes(u))
      await this.store.transaction((tx) =>
        putConversation(tx, { ...fresh, unreadIds: left, unreadCount: left.length }),
      )
    })
    await this.sendContent(id, {
      type: 'receipt',
      kind: 'read',
      targets: ids.slice(-MAX_RECEIPT_BATCH).map(hexToBytes),
    })
  }

  private async flushReceipts(): Promise<void> {
    const entries = [...this.pendingReceipts]
    this.pendingReceipts.clear()
    for (const [id, ids] of entries) {
      for (let i = 0; i < ids.length; i += MAX_RECEIPT_BATCH) {
        const targets = ids.slice(i, i + MAX_RECEIPT_BATCH).map(hexToBytes)
        await this.sendContent(id, { type: 'receipt', kind: 'delivered', targets }).catch(() => undefined)
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Conversations

  private async requireConversation(id: ConversationId): Promise<ConversationRecord> {
    const c = await getConversation(this.store, id)
    if (!c) throw new ClientError('usage', 'no such conversation')
    return c
  }

  private async requireOwnMessage(id: ConversationId, messageId: MessageId): Promise<void> {
    const c = await this.requireConversation(id)
    const m = await getMessage(this.store, c, messageId)
    if (!m || m.sender.handle !== this.handle)
      throw new ClientError('usage', 'only your own messages can be changed')
  }

  private summaryOf(c: ConversationRecord, group: Group | undefined): ConversationSummary {
    return {
      id: c.id,
      name: c.name,
      members: group && c.active ? handlesOf(group) : [],
      admins: c.admins,
      unreadCount: c.unreadCount,
      lastMessage: c.lastMessage,
      active: c.active,
    }
  }

  async listConversations(): Promise<ConversationSummary[]> {
    const out: ConversationSummary[] = []
    for (const c of await listConversationRecords(this.store)) {
      out.push(this.summaryOf(c, c.active ? await this.loadGroup(c) : undefined))
    }
    return out.sort((a, b) => (b.lastMessage?.sentAt ?? 0) - (a.lastMessage?.sentAt ?? 0))
  }

  async conversation(id: ConversationId): Promise<ConversationSummary> {
    const c = await this.requireConversation(id)
    return this.summaryOf(c, c.active ? await this.loadGroup(c) : undefined)
  }

  /**
   * Creates a group of this user's devices and every device of each member handle (a 1:1 chat
   * is one other handle). Name and admins travel only inside the group (`metadata` content).
   */
  async createConversation(o: { members: readonly string[]; name?: string }): Promise<ConversationId> {
    checkHandles(o.members)
    if (o.members.includes(this.handle)) throw new ClientError('usage', 'do not list yourself as a member')
    if (o.name !== undefined && new TextEncoder().encode(o.name).length > MAX_NAME_BYTES) {
      throw new ClientError('too-large', `conversation name above ${MAX_NAME_BYTES} bytes`)
    }
    // Every member's identity key, looked up concurrently and trusted in one transaction.
    const identities = await this.directory.identitiesOf(o.members)
    for (const h of o.members) {
      if (!identities.get(h)) throw new ClientError('unknown-handle', `no account ${h}`)
    }
    await this.connect()
    const id = await this.exclusive(async () => {
      const own = await generateKeyPackage(this.suite, this.account, false, this.now())
      const c = newConversation('', randomHex(this.backend, 16), this.now())
      c.admins = [this.handle]
      const group = await createGroup({
        config: this.configFor(c),
        keyPackage: own.generated.keyPackage,
        privateKeyPackage: own.generated.privateKeyPackage,
      })
      const record = { ...c, id: bytesToBase64url(groupIdOf(group)) }
      await this.store.transaction(async (tx) => {
        await putConversation(tx, record)
        await this.putGroup(tx, record, group)
      })
      this.groups.set(record.id, group)
      return record.id
    })
    await this.runCommit(id, { kind: 'add', handles: [...o.members, this.handle] })
    // Claiming our own handle spent one of our own one-time KeyPackages.
    void this.topUp(false)
    await this.sendContent(id, { type: 'metadata', name: o.name ?? '', admins: [this.handle] })
    return id
  }

  async addMembers(id: ConversationId, handles: readonly string[]): Promise<void> {
    checkHandles(handles)
    await this.runCommit(id, { kind: 'add', handles })
    await this.announceMetadata(id)
  }

  /**
   * Sends the conversation's name and admins again, for devices that joined since: metadata
   * travels only inside the group, and a Welcome carries no history.
   */
  private async announceMetadata(id: ConversationId): Promise<void> {
    const c = await this.requireConversation(id)
    if (c.name === '' && c.admins.length === 0) return
    await this.sendContent(id, { type: 'metadata', name: c.name, admins: c.admins })
  }

  async removeMembers(id: ConversationId, handles: readonly string[]): Promise<void> {
    checkHandles(handles)
    if (handles.includes(this.handle)) throw new ClientError('usage', 'use leaveConversation to leave')
    await this.runCommit(id, { kind: 'remove', handles })
  }

  /**
   * Leaves: removes this user's other devices from the group, then forgets the group here. MLS
   * does not let a device commit its own removal (RFC 9420 §12.4); an admin removes our leaf.
   */
  async leaveConversation(id: ConversationId): Promise<void> {
    const c = await this.requireConversation(id)
    const group = await this.loadGroup(c)
    const mine = membersOf(group).filter(
      (m) => m.handle === this.handle && m.leafIndex !== ownLeafIndex(group),
    )
    if (mine.length > 0) {
      await this.runCommit(id, {
        kind: 'remove-devices',
        handle: this.handle,
        memberIds: mine.map((m) => m.deviceId),
      })
    }
    await this.exclusive(async () => {
      const fresh = await this.requireConversation(id)
      await this.store.transaction(async (tx) => {
        await putConversation(tx, { ...fresh, active: false })
        await tx.delete(NS.groups, key(id))
        await tx.delete(NS.pendingCommits, key(id))
      })
      this.groups.delete(id)
    })
  }

  /** Commits an update of this device's own leaf (post-compromise security, RFC 9420 §12.4). */
  async updateOwnLeaf(id?: ConversationId): Promise<void> {
    const ids =
      id !== undefined
        ? [id]
        : (await listConversationRecords(this.store)).filter((c) => c.active).map((c) => c.id)
    for (const i of ids) await this.runCommit(i, { kind: 'update' })
  }

  private async selfUpdateDue(): Promise<void> {
    for (const c of await listConversationRecords(this.store)) {
      if (c.active && this.now() - c.lastSelfUpdate >= this.selfUpdateIntervalMs) {
        await this.runCommit(c.id, { kind: 'update' }).catch(() => undefined)
      }
    }
  }

  async history(
    id: ConversationId,
    o: { limit?: number; before?: MessageId } = {},
  ): Promise<StoredMessage[]> {
    const c = await this.requireConversation(id)
    const limit = Math.min(o.limit ?? MAX_HISTORY_PAGE, MAX_HISTORY_PAGE)
    let all = await listMessages(this.store, c)
    if (o.before !== undefined) {
      const b = await getMessage(this.store, c, o.before)
      if (b) all = all.filter((m) => m.seq < b.seq)
    }
    return all.slice(-limit)
  }

  // -------------------------------------------------------------------------------------------
  // Commits and ordering

  /**
   * Builds, persists and submits one commit; on `epoch-conflict` catches up and rebuilds it on
   * the new epoch, at most MAX_COMMIT_ATTEMPTS times.
   */
  private async runCommit(id: ConversationId, intent: CommitIntent): Promise<void> {
    await this.connect()
    await this.catchUp()
    const claims = new Map<string, ClaimedKeyPackage[]>()
    this.committing.add(id)
    try {
      for (let attempt = 1; attempt <= MAX_COMMIT_ATTEMPTS; attempt++) {
        const outcome = await this.exclusive(() => this.commitOnceLocked(id, intent, claims))
        if (outcome === 'done') return
        // 'conflict': the winner's commit is in our mailbox; 'unknown': the answer was lost.
        await this.barrier()
      }
    } finally {
      this.committing.delete(id)
    }
    throw new ClientError('commit-retries-exhausted', `the commit lost ${MAX_COMMIT_ATTEMPTS} races`)
  }

  private async changesFor(
    group: Group,
    intent: CommitIntent,
    claims: Map<string, ClaimedKeyPackage[]>,
  ): Promise<{
    add: { bytes: Uint8Array; deviceId: string }[]
    remove: number[]
    /** Store writes that go in the pending commit's transaction (routes of the added devices). */
    persist?: (tx: StoreTransaction) => Promise<void>
  } | null> {
    const members = membersOf(group)
    const self = ownLeafIndex(group)
    switch (intent.kind) {
      case 'update':
        return { add: [], remove: [] }
      case 'remove':
      case 'remove-devices': {
        const remove = members
          .filter((m) =>
            intent.kind === 'remove'
              ? intent.handles.includes(m.handle)
              : m.handle === intent.handle && intent.memberIds.includes(m.deviceId),
          )
          .filter((m) => m.leafIndex !== self)
          .map((m) => m.leafIndex)
        return remove.length ? { add: [], remove } : null
      }
      case 'add': {
        const present = new Set(members.map((m) => `${m.handle}/${m.deviceId}`))
        const add: { bytes: Uint8Array; deviceId: string }[] = []
        const routes: Route[] = []
        const spentOwn: string[] = []
        const own = intent.handles.includes(this.handle) ? await listKeyPackages(this.store) : []
        // The credentials in the claimed KeyPackages are checked against these identity keys
        // (the authentication service, during createCommit): look the unknown ones up at once.
        await this.directory.identitiesOf(intent.handles)
        // One claim request per MAX_HANDLES_PER_CLAIM handles, not one per handle.
        const unclaimed = intent.handles.filter((h) => !claims.has(h))
        for (let i = 0; i < unclaimed.length; i += MAX_HANDLES_PER_CLAIM) {
          const batch = await this.api.claimKeyPackagesBatch(unclaimed.slice(i, i + MAX_HANDLES_PER_CLAIM))
          for (const [h, list] of batch) claims.set(h, list)
        }
        for (const handle of intent.handles) {
          const list = claims.get(handle) ?? []
          for (const claim of list) {
            if (claim.deviceId === this.deviceId) {
              // The directory handed us one of our own; it is spent, so forget its private key.
              const mine = own.find((r) => equalBytes(r.encoded, claim.keyPackage) && !r.lastResort)
              if (mine) spentOwn.push(mine.hash)
              continue
            }
            let memberId: string
            try {
              const kp = await decodeKeyPackage(this.suite, claim.keyPackage)
              const identity = (kp.leafNode.credential as { identity?: Uint8Array }).identity
              const credential = decodeCredential(identity ?? new Uint8Array(0))
              if (credential.handle !== handle) continue
              memberId = credential.deviceId
            } catch {
              continue // A KeyPackage that does not decode is skipped, not added.
            }
            if (present.has(`${handle}/${memberId}`)) continue
            routes.push({ handle, memberId, deviceId: claim.deviceId })
            add.push({ bytes: claim.keyPackage, deviceId: claim.deviceId })
          }
          if (handle !== this.handle && list.length === 0 && !members.some((m) => m.handle === handle)) {
            throw new ClientError('no-devices', `${handle} has no device that can be added`)
          }
        }
        // Written with the pending commit (one transaction), or now when there is no commit.
        const persist = async (tx: StoreTransaction) => {
          for (const r of routes) await putRoute(tx, r.handle, r.memberId, r.deviceId)
          for (const hash of spentOwn) await tx.delete(NS.keyPackages, key(hash))
        }
        if (add.length === 0) {
          if (routes.length > 0 || spentOwn.length > 0) await this.store.transaction(persist)
          return null
        }
        return { add, remove: [], persist }
      }
    }
  }

  private async commitOnceLocked(
    id: ConversationId,
    intent: CommitIntent,
    claims: Map<string, ClaimedKeyPackage[]>,
  ): Promise<'done' | 'conflict' | 'unknown'> {
    const c = await this.requireConversation(id)
    if (!c.active) throw new ClientError('not-member', 'this device is no longer in the conversation')
    const group = await this.loadGroup(c)
    const changes = await this.changesFor(group, intent, claims)
    if (!changes) return 'done'
    // Claims are reused across attempts: a KeyPackage in a refused commit was never used, and
    // a device a rival commit added meanwhile is skipped above.
    const result = await createCommit(group, this.configFor(c), {
      add: changes.add.map((a) => a.bytes),
      remove: changes.remove,
    })
    const envelopeId = this.backend.randomBytes(ENVELOPE_ID_BYTES)
    const commitPayload = encodeEnvelope({
      kind: 'commit',
      id: envelopeId,
      groupId: groupIdOf(group),
      epoch: result.epoch,
      mls: result.commit,
    })
    // Everyone in the old epoch (removed devices learn they are out) and ourselves (so that
    // after a crash our mailbox says whether we won).
    const commitRecipients = [...new Set([...(await this.recipientsOf(group)), this.deviceId])]
    let welcomePayload: Uint8Array | null = null
    if (result.welcome) {
      const refs: Uint8Array[] = []
      for (const a of changes.add) refs.push(await hashKeyPackage(this.suite, a.bytes))
      welcomePayload = encodeEnvelope({
        kind: 'welcome',
        id: this.backend.randomBytes(ENVELOPE_ID_BYTES),
        keyPackageRefs: refs,
        welcome: result.welcome,
      })
    }
    const pending: PendingCommitJson = {
      envelopeId: bytesToHex(envelopeId),
      epoch: result.epoch.toString(),
      next: bytesToBase64url(snapshotGroup(result.group, this.configFor(c))),
      commitPayload: bytesToBase64url(commitPayload),
      commitRecipients,
      welcomePayload: welcomePayload ? bytesToBase64url(welcomePayload) : null,
      welcomeRecipients: [...new Set(changes.add.map((a) => a.deviceId))],
      selfUpdate: intent.kind === 'update',
    }
    // Replaces a pending record the mailbox did not settle: the server refused that commit.
    await this.store.transaction(async (tx) => {
      await changes.persist?.(tx)
      await tx.put(NS.pendingCommits, key(id), encodeJson(pending))
    })
    return this.submitPendingLocked(c, group, pending)
  }

  private async submitPendingLocked(
    c: ConversationRecord,
    group: Group,
    pending: PendingCommitJson,
  ): Promise<'done' | 'conflict' | 'unknown'> {
    try {
      await this.conn().request({
        type: 'commit',
        groupId: groupIdOf(group),
        epoch: BigInt(pending.epoch),
        ttlSeconds: 0,
        commit: {
          recipients: pending.commitRecipients,
          payload: base64urlToBytes(pending.commitPayload, 'commit'),
        },
        welcome: pending.welcomePayload
          ? {
              recipients: pending.welcomeRecipients,
              payload: base64urlToBytes(pending.welcomePayload, 'welcome'),
            }
          : null,
      })
    } catch (error) {
      if (ClientError.isServer(error, 'epoch-conflict')) {
        // Refused now. The pending record stays until our mailbox settles it: after a lost
        // answer or a crash, our own earlier submission may be the one that won.
        return 'conflict'
      }
      if (ClientError.isServer(error, 'device-revoked') || ClientError.isServer(error, 'not-found')) {
        // A recipient is gone: nothing was stored. Refresh the directory and build it again.
        await this.store.transaction((tx) => tx.delete(NS.pendingCommits, key(c.id)))
        await this.directory.refreshMany(handlesOf(group))
        return 'conflict'
      }
      return 'unknown'
    }
    await this.adoptPendingLocked(c, group, pending, null)
    return 'done'
  }

  private async adoptPendingLocked(
    c: ConversationRecord,
    group: Group,
    pending: PendingCommitJson,
    echo: { envelopeId: Uint8Array; seq: bigint } | null,
  ): Promise<void> {
    const next = restoreGroup(base64urlToBytes(pending.next, 'next'), this.configFor(c))
    const record = { ...c, ...(pending.selfUpdate ? { lastSelfUpdate: this.now() } : {}) }
    await this.store.transaction(async (tx) => {
      await this.putGroup(tx, record, next)
      await putConversation(tx, record)
      await tx.delete(NS.pendingCommits, key(c.id))
      if (echo) await this.markDone(tx, echo.envelopeId, echo.seq)
    })
    this.groups.set(c.id, next)
    if (echo) this.owedAcks.add(echo.seq)
    this.emitMembership(c.id, membersOf(group), membersOf(next), false)
    this.calls.epochChanged(c.id, epochOf(next))
  }

  /** After a crash or a lost answer: submit the stored commit again; the server decides once. */
  private async resubmitPendingLocked(id: ConversationId, pending: PendingCommitJson): Promise<void> {
    const c = await getConversation(this.store, id)
    if (!c || !c.active) {
      await this.store.transaction((tx) => tx.delete(NS.pendingCommits, key(id)))
      return
    }
    const group = await this.loadGroup(c)
    if (epochOf(group) !== BigInt(pending.epoch)) {
      await this.store.transaction((tx) => tx.delete(NS.pendingCommits, key(id)))
      return
    }
    // commit-ok adopts it; epoch-conflict leaves it for the mailbox to settle (our own echo
    // means we won before the crash; a rival's commit for the epoch means we lost).
    await this.submitPendingLocked(c, group, pending)
  }
}

function checkMessageId(hex: MessageId): Uint8Array {
  if (!/^[0-9a-f]{32}$/.test(hex)) throw new ClientError('usage', 'a message id is 32 hex digits')
  return hexToBytes(hex)
}

/**
 * A lookup that timed out or a network failure: worth trying again, unlike a bad message. The
 * MLS layer wraps what the authentication service's lookups throw (a ProtocolError whose cause
 * is ours), so the cause chain is followed.
 */
function isTransient(error: unknown): boolean {
  let e: unknown = error
  for (let depth = 0; depth < 4 && e instanceof Error; depth++) {
    if (ClientError.is(e, 'timeout') || ClientError.is(e, 'network')) return true
    e = e.cause
  }
  return false
}

function reasonOf(error: unknown): string {
  if (ProtocolError.is(error)) return error.code
  if (ClientError.is(error)) return error.code
  return 'internal'
}
