/**
 * The part of the SDK the CLI uses, as the CLI wants to see it: plain ids as strings, handles,
 * and events as one tagged union. Commands depend on this interface only; `sdk-binding.ts` is the
 * one file that knows the SDK's `TacitClient`, so a change there touches one file, and commands
 * can be exercised against a fake.
 */

export interface AccountSummary {
  readonly handle: string
  readonly deviceId: string
  /** Undefined when the SDK does not say (then it is the one the account registered with). */
  readonly server: string | undefined
  /** The user's Ed25519 identity public key; undefined while the SDK does not expose it. */
  readonly identityKey: Uint8Array | undefined
}

export interface ConversationSummary {
  /** Opaque id (hex or base64url), stable for the conversation's life. */
  readonly id: string
  /** Encrypted metadata, known only to members; undefined when none was set. */
  readonly name: string | undefined
  /** Handles of the members, the local user included (empty once this device was removed). */
  readonly members: readonly string[]
  /** False once this device was removed: history stays readable, nothing can be sent. */
  readonly active: boolean
}

export interface FileSummary {
  readonly name: string
  readonly size: number
  readonly mediaType: string
}

export interface MessageRecord {
  readonly id: string
  readonly conversationId: string
  readonly sender: string
  readonly sentAt: number
  readonly text: string | undefined
  readonly file: FileSummary | undefined
  readonly edited: boolean
  readonly deleted: boolean
  /** reaction -> handles that reacted with it */
  readonly reactions: Readonly<Record<string, readonly string[]>>
  /** Sent by the local user (from any of their devices). */
  readonly own: boolean
  /** For own messages: how far it got (receipts from the other members). */
  readonly status: 'sent' | 'delivered' | 'read' | undefined
}

export interface DeviceSummary {
  readonly deviceId: string
  readonly current: boolean
  readonly createdAt: number | undefined
  readonly revoked: boolean
}

export interface SafetyNumber {
  /** 60 digits, the same on both sides. */
  readonly digits: string
  /** The digits in 12 groups of 5. */
  readonly groups: readonly string[]
  /** The verification code to show as a QR code (docs/protocol/verification.md §3). */
  readonly qrPayload: Uint8Array
  /** The same code in hex, to compare or paste (`tacit verify --scan`). */
  readonly qrText: string
}

export type ClientEvent =
  | { readonly type: 'message'; readonly message: MessageRecord }
  | {
      readonly type: 'edit'
      readonly conversationId: string
      readonly messageId: string
      readonly sender: string
      readonly text: string
    }
  | {
      readonly type: 'delete'
      readonly conversationId: string
      readonly messageId: string
      readonly sender: string
    }
  | {
      readonly type: 'reaction'
      readonly conversationId: string
      readonly messageId: string
      readonly sender: string
      readonly reaction: string
      readonly remove: boolean
    }
  | {
      readonly type: 'receipt'
      readonly conversationId: string
      readonly messageIds: readonly string[]
      readonly sender: string
      readonly kind: 'delivered' | 'read'
    }
  | {
      readonly type: 'typing'
      readonly conversationId: string
      readonly sender: string
      readonly typing: boolean
    }
  | { readonly type: 'conversation'; readonly conversation: ConversationSummary }
  | {
      readonly type: 'membership'
      readonly conversationId: string
      readonly added: readonly string[]
      readonly removed: readonly string[]
    }
  /** A verified contact's identity key or device set changed, or a device we did not add appeared. */
  | { readonly type: 'alert'; readonly handle: string; readonly kind: string; readonly detail: string }

export type TransferProgress = (done: number, total: number) => void

export interface CliClient {
  readonly account: AccountSummary
  /** Fetches everything waiting on the server and applies it (messages, commits, welcomes). */
  sync(): Promise<void>
  close(): Promise<void>
  /** Returns the unsubscribe function. */
  subscribe(listener: (event: ClientEvent) => void): () => void

  listConversations(): Promise<ConversationSummary[]>
  createConversation(members: readonly string[], name: string | undefined): Promise<ConversationSummary>
  addMembers(conversationId: string, handles: readonly string[]): Promise<void>
  removeMembers(conversationId: string, handles: readonly string[]): Promise<void>

  sendText(conversationId: string, text: string): Promise<{ readonly id: string; readonly sentAt: number }>
  editMessage(conversationId: string, messageId: string, text: string): Promise<void>
  deleteMessage(conversationId: string, messageId: string): Promise<void>
  react(conversationId: string, messageId: string, reaction: string): Promise<void>
  markRead(conversationId: string, messageIds: readonly string[]): Promise<void>
  setTyping(conversationId: string, typing: boolean): Promise<void>
  history(conversationId: string, limit: number): Promise<MessageRecord[]>

  /** Resumable: the same file sent again to the same conversation continues the upload. */
  sendFile(
    conversationId: string,
    path: string,
    options: {
      readonly name: string | undefined
      readonly onProgress: TransferProgress
      readonly signal: AbortSignal
    },
  ): Promise<{ readonly id: string; readonly size: number; readonly resumedFrom: number }>
  /** Downloads, decrypts and checks the file of `messageId`; writes `destination` only once it verified. */
  getFile(
    conversationId: string,
    messageId: string,
    destination: string,
    options: { readonly onProgress: TransferProgress; readonly signal: AbortSignal },
  ): Promise<{ readonly path: string; readonly size: number; readonly name: string }>

  devices(): Promise<DeviceSummary[]>
  revokeDevice(deviceId: string): Promise<void>

  /** The safety number and verification code of the local user and `handle`. */
  safetyNumber(handle: string): Promise<SafetyNumber>
  /** Whether `handle` is verified (with the identity key held for them now). */
  isVerified(handle: string): Promise<boolean>
  /** Checks the code (hex) or the 60 digits the contact shows; marks them verified if it matches. */
  verifyContact(handle: string, scanned: string): Promise<void>
  /** Records that the user compared the safety number and it matched. */
  markVerified(handle: string): Promise<void>
  /**
   * Approves a new device of the local user that shows `linkCode`: registers it, sends it the
   * account sealed to its key, adds it to every conversation. Returns the answer it needs.
   */
  approveLink(linkCode: string): Promise<{ readonly answer: string }>
}

export interface CreateAccountParams {
  readonly profileDir: string
  readonly passphrase: string
  readonly server: string
  readonly handle: string
  readonly invite: string
}

export interface OpenAccountParams {
  readonly profileDir: string
  readonly passphrase: string
  /** Overrides the server remembered in the profile. */
  readonly server: string | undefined
}

export interface BeginLinkParams {
  readonly profileDir: string
  readonly passphrase: string
  readonly server: string
}

export interface CompleteLinkParams {
  readonly profileDir: string
  readonly passphrase: string
  /** What the approving device printed. */
  readonly answer: string
}

/** How the CLI gets a client: one implementation over the SDK, fakes in tests. */
export interface ClientFactory {
  createAccount(params: CreateAccountParams): Promise<CliClient>
  openAccount(params: OpenAccountParams): Promise<CliClient>
  /** New device, step 1: a new profile and the link code to show to an existing device. */
  beginLink(params: BeginLinkParams): Promise<{ readonly code: string }>
  /** New device, step 3: with the approving device's answer, receives the account. */
  completeLink(params: CompleteLinkParams): Promise<CliClient>
}
