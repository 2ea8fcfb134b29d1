/**
 * The screens' view of the unlocked session the shell hands them (`../screens-contract.ts`): the
 * `TacitClient`, the sealed store (for a change of passphrase) and the browser's file adapter.
 * File transfer goes through the SDK's `sendFile`/`downloadFile`; the adapter turns a picked
 * `File` into a source and hands back a download as a `Blob` only after it was fully verified.
 */
import type { ConversationId, MessageId, TransferProgress } from '@tacit/client/client'
import type { WebSession } from '../screens-contract.ts'

export type {
  AppScreensProps,
  DeviceLinkStart,
  OnboardingProps,
  UnlockProps,
  WebSession,
} from '../screens-contract.ts'

/** Sends a file the user picked, with upload progress. */
export async function sendPickedFile(
  session: WebSession,
  conversationId: ConversationId,
  file: File,
  onProgress: TransferProgress,
): Promise<MessageId> {
  const sent = await session.client.sendFile(conversationId, session.files.source(file), { onProgress })
  return sent.id
}

/**
 * Downloads, decrypts and checks a file message's file; resolves to its bytes only when every
 * chunk and the whole-file digest checked (the SDK throws `file-tampered` otherwise).
 */
export async function downloadToBlob(
  session: WebSession,
  conversationId: ConversationId,
  messageId: MessageId,
  onProgress: TransferProgress,
): Promise<Blob> {
  // A name private to this download: the adapter keeps the verified Blob under it until taken.
  const destination = `download:${conversationId}:${messageId}`
  await session.client.downloadFile(conversationId, messageId, destination, { onProgress })
  const blob = session.files.take(destination)
  if (blob === undefined) throw new Error('the verified download was not handed over')
  return blob
}
