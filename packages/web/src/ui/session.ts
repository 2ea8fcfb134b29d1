/**
 * What the screens need from the browser platform (the sealed IndexedDB store, the WebCrypto
 * backend, the file adapter): one small interface, so that the screens depend on the SDK's
 * `TacitClient` and on this, and nothing else. `browser-session.ts` implements it over the web
 * package's store and SDK entry.
 */
import type { ConversationId, MessageId, TacitClient, TransferProgress } from '@tacit/client/client'

export interface WebSession {
  /** Whether this browser holds an account (then ask for the passphrase), else onboarding. */
  hasAccount(): Promise<boolean>
  /** Creates the sealed store under `passphrase`, registers with the invite, connects. */
  createAccount(o: { invite: string; handle: string; passphrase: string }): Promise<TacitClient>
  /** Unlocks the sealed store (Argon2id) and opens and connects the account in it. */
  unlock(passphrase: string): Promise<TacitClient>
  /** Closes the client and locks the store: its keys are dropped from memory. */
  lock(): Promise<void>
  /** Re-wraps the store key under a new passphrase (the current one is checked first). */
  changePassphrase(current: string, next: string): Promise<void>
  /** Sends a file the user picked, with upload progress. */
  sendFile(
    conversationId: ConversationId,
    file: File,
    onProgress: TransferProgress,
  ): Promise<{ id: MessageId }>
  /**
   * Downloads, decrypts and checks a file message's file; resolves to its bytes only when every
   * chunk and the whole-file digest checked (`file-tampered` otherwise).
   */
  downloadFile(
    conversationId: ConversationId,
    messageId: MessageId,
    onProgress: TransferProgress,
  ): Promise<Blob>
}
