/**
 * Sending a file: encrypt while uploading, in constant memory, resumable across crashes
 * (docs/protocol/client.md §7, docs/protocol/files.md §7).
 *
 * The blob's size is known from the file's size alone (files.md §4), so the server blob is
 * created first, then the encryptor's chunks go up in requests of at most
 * MAX_UPLOAD_REQUEST_BYTES that end on chunk boundaries. After each request the server
 * confirmed, the encryptor's checkpoint (chunk index, digest chain value) is persisted with the
 * blob id, the file key and the header (nonce prefix) — all sealed in the local store. A retry,
 * in this process or a new one, asks the server where the upload stands and continues there:
 * - the part of the file before the checkpoint must hash to the stored chain value, or the
 *   upload starts over under a new key (the same key and nonces over other bytes would reuse a
 *   GCM nonce);
 * - if the server holds more than the checkpoint (the answer to the last request was lost, or
 *   the process died before persisting), the chunks between are encrypted again — the same
 *   bytes under the same nonces, so nothing is reused — and not sent.
 */
import type { CryptoBackend } from '@tacit/crypto/backend'
import { bytesToHex, concatBytes, equalBytes, utf8 } from '@tacit/crypto/bytes'
import type { FileCheckpoint } from '@tacit/protocol/files/checkpoint'
import { makeCheckpoint } from '@tacit/protocol/files/checkpoint'
import { absorbChunk, initialDigestState } from '@tacit/protocol/files/content-digest'
import type { FileDescriptor } from '@tacit/protocol/files/descriptor'
import { createFileEncryptor, type FileEncryptor } from '@tacit/protocol/files/encryptor'
import { FileError } from '@tacit/protocol/files/errors'
import {
  FILE_CHUNK_BYTES,
  FILE_CIPHERTEXT_CHUNK_BYTES,
  type FileLayout,
  fileLayout,
} from '@tacit/protocol/files/format'
import { base64urlToBytes, bytesToBase64url } from '@tacit/protocol/wire/encoding'
import { MAX_BLOB_BYTES } from '@tacit/protocol/wire/limits'
import { ClientError } from '../errors.ts'
import { MAX_PENDING_UPLOADS, MAX_UPLOAD_REQUEST_BYTES } from '../limits.ts'
import type { BlobStatus, HttpApi } from '../net/http-api.ts'
import { type ClientStore, decodeJson, encodeJson, getJson, key, NS } from '../state/store-port.ts'
import type { FileSource, TransferProgress } from './ports.ts'
import { withTransferRetries } from './retry.ts'

/** One unfinished upload, as stored (sealed) in `NS.uploads`. */
interface UploadRecordJson {
  v: 1
  conversationId: string
  identity: string
  size: number
  blobId: string
  expiresAt: number
  createdAt: number
  key: string
  header: string
  /** The last chunk boundary the server confirmed, and the digest chain value there. */
  chunkIndex: number
  digestState: string
  /** Set once the whole blob is on the server: the content digest for the descriptor. */
  digest: string | null
}

export interface UploadParams {
  readonly backend: CryptoBackend
  readonly api: HttpApi
  readonly store: ClientStore
  readonly now: () => number
  readonly conversationId: string
  readonly source: FileSource
  readonly name: string
  readonly mediaType: string
  readonly onProgress?: TransferProgress
  readonly signal?: AbortSignal
}

export interface UploadResult {
  readonly descriptor: FileDescriptor
  /** The store key of the upload record: delete it in the transaction that sends the descriptor. */
  readonly uploadKey: string
  /** Plaintext bytes found already uploaded by an earlier, interrupted attempt (0 for a fresh one). */
  readonly resumedFrom: number
}

/** Blobs expiring sooner than this are not resumed (the rest of the upload might outlive them). */
const RESUME_MARGIN_MS = 3600_000

/** The store key of an upload: a hash, so neither the path nor the conversation shows in it. */
export async function uploadKeyOf(
  backend: CryptoBackend,
  conversationId: string,
  identity: string,
): Promise<string> {
  const digest = await backend.hash.digest(
    'SHA-256',
    utf8.encode(`tacit upload v1\0${conversationId}\0${identity}`),
  )
  return bytesToHex(digest)
}

export function checkSourceSize(size: number): FileLayout {
  if (!Number.isSafeInteger(size) || size < 0)
    throw new ClientError('usage', 'a file size is a non-negative integer')
  let layout: FileLayout
  try {
    layout = fileLayout(size)
  } catch (cause) {
    throw new ClientError('too-large', 'the file is above the format’s MAX_FILE_BYTES', { cause })
  }
  if (layout.ciphertextSize > MAX_BLOB_BYTES) {
    throw new ClientError(
      'too-large',
      `the padded file is above the delivery service’s MAX_BLOB_BYTES (${MAX_BLOB_BYTES})`,
    )
  }
  return layout
}

/** The plaintext digest chain over the source's first `checkpoint.plaintextOffset` bytes. */
async function prefixMatches(
  backend: CryptoBackend,
  source: FileSource,
  checkpoint: FileCheckpoint,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  const end = checkpoint.plaintextOffset
  let state = await initialDigestState(backend)
  if (end > 0) {
    const buffer = new Uint8Array(FILE_CHUNK_BYTES)
    let filled = 0
    let read = 0
    for await (const piece of source.read(0, signal)) {
      let offset = 0
      while (offset < piece.length && read < end) {
        const take = Math.min(FILE_CHUNK_BYTES - filled, piece.length - offset, end - read)
        buffer.set(piece.subarray(offset, offset + take), filled)
        filled += take
        offset += take
        read += take
        if (filled === FILE_CHUNK_BYTES) {
          state = await absorbChunk(backend, state, buffer)
          filled = 0
        }
      }
      if (read === end) break
    }
    if (read < end) return false
    if (filled > 0) state = await absorbChunk(backend, state, buffer.subarray(0, filled))
  }
  return equalBytes(state, checkpoint.digestState)
}

async function dropUpload(p: UploadParams, uploadKey: string, record: UploadRecordJson): Promise<void> {
  await p.store.transaction((tx) => tx.delete(NS.uploads, key(uploadKey)))
  // Frees the quota at once instead of at the blob's expiry; failure changes nothing here.
  await p.api.deleteBlob(record.blobId).catch(() => undefined)
}

interface Resumable {
  readonly record: UploadRecordJson
  readonly checkpoint: FileCheckpoint
  readonly status: BlobStatus
}

/** The stored upload, if it can be continued for this source; otherwise forgets it. */
async function resumable(
  p: UploadParams,
  uploadKey: string,
  record: UploadRecordJson,
  layout: FileLayout,
): Promise<Resumable | null> {
  let checkpoint: FileCheckpoint | null = null
  let status: BlobStatus | null = null
  try {
    if (
      record.v === 1 &&
      record.size === p.source.size &&
      record.conversationId === p.conversationId &&
      record.expiresAt > p.now() + RESUME_MARGIN_MS
    ) {
      checkpoint = makeCheckpoint(
        layout,
        record.chunkIndex,
        base64urlToBytes(record.header, 'header'),
        base64urlToBytes(record.digestState, 'digestState'),
      )
      status = await withTransferRetries(() => p.api.blobStatus(record.blobId), p.signal)
    }
  } catch (error) {
    if (ClientError.is(error, 'network') || ClientError.is(error, 'timeout')) throw error
    checkpoint = null
  }
  if (
    checkpoint === null ||
    status === null ||
    status.size !== layout.ciphertextSize ||
    // The server cannot have lost what it confirmed; if it did, start over.
    status.offset < checkpoint.ciphertextOffset ||
    !(await prefixMatches(p.backend, p.source, checkpoint, p.signal))
  ) {
    await dropUpload(p, uploadKey, record)
    return null
  }
  return { record, checkpoint, status }
}

async function makeRoom(store: ClientStore): Promise<void> {
  const all = await store.list(NS.uploads)
  if (all.length < MAX_PENDING_UPLOADS) return
  const byAge = all
    .map((e) => ({ key: e.key, at: decodeJson<UploadRecordJson>(e.value, 'upload').createdAt }))
    .sort((a, b) => a.at - b.at)
  await store.transaction(async (tx) => {
    for (const e of byAge.slice(0, all.length - MAX_PENDING_UPLOADS + 1)) await tx.delete(NS.uploads, e.key)
  })
}

/**
 * Appends one request at `offset`. After a failure that says nothing about the request (an answer
 * lost, a connection dropped, the server busy) it first asks where the upload stands, as the
 * server's protocol says (docs/protocol/server.md §3.5): a request that had landed is not sent
 * again, and a body goes up again only while the server is still at `offset`. A request refused
 * with `offset-mismatch` had landed when the server's offset is exactly its end.
 */
async function appendAt(
  api: HttpApi,
  blobId: string,
  offset: number,
  body: Uint8Array,
  signal: AbortSignal | undefined,
): Promise<BlobStatus> {
  const end = offset + body.length
  /** The status if the request landed (the server's offset is its end), else `offset-mismatch`. */
  const landed = (status: BlobStatus | null, cause?: unknown) => {
    if (status !== null && status.offset === end) return status
    throw new ClientError('server', 'the server’s upload offset moved unexpectedly', {
      ...(cause === undefined ? {} : { cause }),
      serverCode: 'offset-mismatch',
    })
  }
  let attempt = 0
  return withTransferRetries(async () => {
    if (attempt++ > 0) {
      const status = await api.blobStatus(blobId)
      if (status === null || status.offset !== offset) return landed(status)
    }
    try {
      return await api.appendBlob(blobId, offset, body)
    } catch (error) {
      if (!ClientError.isServer(error, 'offset-mismatch')) throw error
      return landed(await api.blobStatus(blobId), error)
    }
  }, signal)
}

function descriptorOf(
  p: UploadParams,
  blobId: string,
  secrets: { key: Uint8Array; size: number; digest: Uint8Array },
): FileDescriptor {
  return {
    blobId,
    key: secrets.key,
    size: secrets.size,
    digest: secrets.digest,
    name: p.name,
    mediaType: p.mediaType,
  }
}

/**
 * Uploads the source's ciphertext (resuming an earlier attempt for the same conversation and
 * source when it can) and returns the descriptor to send. The upload record stays in the store
 * until the caller deletes it with the message that carries the descriptor.
 */
export async function uploadFile(p: UploadParams): Promise<UploadResult> {
  const { backend, api, store, source } = p
  const layout = checkSourceSize(source.size)
  const uploadKey = await uploadKeyOf(backend, p.conversationId, source.identity)
  const stored = await getJson<UploadRecordJson>(store, NS.uploads, uploadKey, 'upload')
  const resume = stored ? await resumable(p, uploadKey, stored, layout) : null
  const size = source.size
  const progress = (offset: number) => {
    p.onProgress?.(Math.floor((size * offset) / layout.ciphertextSize), size)
  }

  if (resume?.record.digest != null && resume.status.complete) {
    progress(layout.ciphertextSize)
    return {
      uploadKey,
      resumedFrom: size,
      descriptor: descriptorOf(p, resume.record.blobId, {
        key: base64urlToBytes(resume.record.key, 'key'),
        size,
        digest: base64urlToBytes(resume.record.digest, 'digest'),
      }),
    }
  }

  let encryptor: FileEncryptor
  let record: UploadRecordJson
  let serverOffset: number
  if (resume) {
    record = resume.record
    encryptor = await createFileEncryptor(backend, {
      size,
      resume: { key: base64urlToBytes(record.key, 'key'), checkpoint: resume.checkpoint },
    })
    serverOffset = resume.status.offset
  } else {
    await makeRoom(store)
    const blob = await withTransferRetries(() => api.createBlob(layout.ciphertextSize), p.signal)
    encryptor = await createFileEncryptor(backend, { size })
    const start = encryptor.checkpoint()
    record = {
      v: 1,
      conversationId: p.conversationId,
      identity: source.identity,
      size,
      blobId: blob.blobId,
      expiresAt: blob.expiresAt,
      createdAt: p.now(),
      key: bytesToBase64url(encryptor.key),
      header: bytesToBase64url(encryptor.header),
      chunkIndex: start.chunkIndex,
      digestState: bytesToBase64url(start.digestState),
      digest: null,
    }
    // The key is stored before any byte leaves: a crash from here on can resume, not restart.
    await store.transaction((tx) => tx.put(NS.uploads, key(uploadKey), encodeJson(record)))
    serverOffset = 0
  }
  const resumedFrom = Math.floor((size * serverOffset) / layout.ciphertextSize)
  progress(serverOffset)

  const blobId = record.blobId
  // Bytes the server held when this call began: produced again only to move the encryptor on.
  const skipUntil = serverOffset
  let produced = encryptor.checkpoint().ciphertextOffset
  let batch: Uint8Array[] = []
  let batchBytes = 0
  // Where the next request starts (requests go out one at a time, in order).
  let nextOffset = serverOffset

  const emit = (piece: Uint8Array) => {
    if (produced + piece.length <= skipUntil) {
      produced += piece.length
      return
    }
    if (produced < skipUntil) {
      throw new ClientError('server', 'the server’s upload offset is not on a chunk boundary', {
        serverCode: 'offset-mismatch',
      })
    }
    batch.push(piece)
    batchBytes += piece.length
    produced += piece.length
  }

  /** Sends one request and persists the checkpoint taken where it ends, once the server has it. */
  const send = async (at: number, body: Uint8Array, checkpoint: FileCheckpoint) => {
    const status = await appendAt(api, blobId, at, body, p.signal)
    if (status.offset !== at + body.length || checkpoint.ciphertextOffset !== status.offset) {
      throw new ClientError('internal', 'upload checkpoint and server offset disagree (a bug)')
    }
    serverOffset = status.offset
    record = {
      ...record,
      chunkIndex: checkpoint.chunkIndex,
      digestState: bytesToBase64url(checkpoint.digestState),
    }
    await store.transaction((tx) => tx.put(NS.uploads, key(uploadKey), encodeJson(record)))
    progress(serverOffset)
  }

  // One request in flight while the next is read and encrypted (two requests of memory at most).
  let inflight: Promise<void> = Promise.resolve()
  let failure: { error: unknown } | null = null
  const settle = async () => {
    await inflight
    if (failure) throw failure.error
  }

  // One push of at most FILE_CHUNK_BYTES completes at most two chunks (a full one and the last).
  const flush = async (force: boolean) => {
    if (
      batchBytes > 0 &&
      (force || batchBytes + 2 * FILE_CIPHERTEXT_CHUNK_BYTES > MAX_UPLOAD_REQUEST_BYTES)
    ) {
      const body = batch.length === 1 ? batch[0]! : concatBytes(...batch)
      // Every chunk produced is in `body`: the encryptor's checkpoint is exactly its end.
      const checkpoint = encryptor.checkpoint()
      batch = []
      batchBytes = 0
      const at = nextOffset
      nextOffset += body.length
      await settle()
      inflight = send(at, body, checkpoint).catch((error: unknown) => {
        failure = { error }
      })
    }
    if (force) await settle()
  }

  try {
    if (produced === 0) emit(encryptor.header)
    for await (const piece of source.read(encryptor.checkpoint().plaintextOffset, p.signal)) {
      for (let offset = 0; offset < piece.length; offset += FILE_CHUNK_BYTES) {
        for (const chunk of await encryptor.push(piece.subarray(offset, offset + FILE_CHUNK_BYTES)))
          emit(chunk)
        await flush(false)
      }
    }
    for (;;) {
      const chunk = await encryptor.nextPaddingChunk()
      if (chunk === null) break
      emit(chunk)
      await flush(false)
    }
    await flush(true)
  } catch (error) {
    // No request may still be running (and writing the record) once this call has returned.
    await inflight
    if (FileError.isReason(error, 'misuse')) {
      throw new ClientError('usage', 'the file changed size while it was being sent', { cause: error })
    }
    throw error
  }
  let secrets: Awaited<ReturnType<FileEncryptor['finish']>>
  try {
    secrets = await encryptor.finish()
  } catch (cause) {
    throw new ClientError('usage', 'the file ended before its size while it was being sent', { cause })
  }
  if (serverOffset !== layout.ciphertextSize) {
    throw new ClientError('internal', 'the upload ended before the blob was whole (a bug)')
  }
  record = { ...record, digest: bytesToBase64url(secrets.digest) }
  await store.transaction((tx) => tx.put(NS.uploads, key(uploadKey), encodeJson(record)))
  progress(layout.ciphertextSize)
  return { uploadKey, resumedFrom, descriptor: descriptorOf(p, blobId, secrets) }
}
