/**
 * Argument checks shared by both backends, run before any transaction starts so that a bad call
 * never opens one. Each names the field it checks; messages carry sizes, never contents.
 */
import {
  HASH_BYTES,
  MAX_ACK_SEQS,
  MAX_BLOB_BYTES,
  MAX_BLOB_CHUNK_BYTES,
  MAX_BLOB_ID_CHARS,
  MAX_BLOB_READ_BYTES,
  MAX_CREDENTIAL_BYTES,
  MAX_DEVICE_ID_CHARS,
  MAX_ENQUEUE_BYTES,
  MAX_EPOCH,
  MAX_FETCH_LIMIT,
  MAX_GROUP_ID_BYTES,
  MAX_HANDLE_CHARS,
  MAX_KEY_PACKAGE_BYTES,
  MAX_KEY_PACKAGE_REF_BYTES,
  MAX_MAILBOXES_PER_ENVELOPE,
  MAX_ONE_TIME_KEY_PACKAGES,
  MAX_PAYLOAD_BYTES,
  MAX_PUBLIC_KEY_BYTES,
  MAX_REQUESTS_PER_ENQUEUE,
} from './limits.ts'
import {
  type Account,
  type Bytes,
  type CommitRequest,
  type Device,
  type EnqueueRequest,
  StorageError,
  type StoredKeyPackage,
} from './storage.ts'

function invalid(message: string): StorageError {
  return new StorageError('invalid-argument', message)
}

export function checkHash(value: Bytes, field: string): void {
  if (!(value instanceof Uint8Array)) throw invalid(`${field} must be bytes`)
  if (value.length !== HASH_BYTES)
    throw invalid(`${field} must be a ${HASH_BYTES}-byte hash, got ${value.length}`)
}

export function checkBytes(value: Bytes, max: number, field: string, min = 1): void {
  if (!(value instanceof Uint8Array)) throw invalid(`${field} must be bytes`)
  if (value.length < min) throw invalid(`${field} must hold at least ${min} byte(s)`)
  if (value.length > max) {
    throw new StorageError('limit-exceeded', `${field} is ${value.length} bytes, above ${max}`)
  }
}

export function checkText(value: string, max: number, field: string): void {
  if (typeof value !== 'string' || value.length === 0) throw invalid(`${field} must be a non-empty string`)
  if (value.length > max)
    throw new StorageError('limit-exceeded', `${field} is longer than ${max} characters`)
}

/** A safe, non-negative integer: times, sizes, offsets. */
export function checkInteger(value: number, field: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw invalid(`${field} must be a non-negative safe integer`)
}

export function checkCount(value: number, max: number, field: string): void {
  if (!Number.isSafeInteger(value) || value < 1) throw invalid(`${field} must be a positive integer`)
  if (value > max) throw new StorageError('limit-exceeded', `${field} is ${value}, above ${max}`)
}

export const checkHandle = (handle: string): void => checkText(handle, MAX_HANDLE_CHARS, 'handle')
export const checkDeviceId = (deviceId: string): void => checkText(deviceId, MAX_DEVICE_ID_CHARS, 'deviceId')
export const checkBlobId = (blobId: string): void => checkText(blobId, MAX_BLOB_ID_CHARS, 'blobId')

export function checkAccount(account: Account): void {
  checkHandle(account.handle)
  checkBytes(account.identityKey, MAX_PUBLIC_KEY_BYTES, 'identityKey')
  checkInteger(account.createdAt, 'createdAt')
}

export function checkDevice(device: Omit<Device, 'revokedAt'>): void {
  checkDeviceId(device.deviceId)
  checkHandle(device.handle)
  checkBytes(device.signatureKey, MAX_PUBLIC_KEY_BYTES, 'signatureKey')
  checkBytes(device.credential, MAX_CREDENTIAL_BYTES, 'credential')
  checkInteger(device.createdAt, 'createdAt')
}

export function checkKeyPackage(kp: StoredKeyPackage, lastResort: boolean): void {
  checkBytes(kp.ref, MAX_KEY_PACKAGE_REF_BYTES, 'keyPackage.ref')
  checkBytes(kp.keyPackage, MAX_KEY_PACKAGE_BYTES, 'keyPackage')
  if (kp.lastResort !== lastResort) {
    throw invalid(
      lastResort
        ? 'the last-resort package must be marked lastResort'
        : 'a one-time package is marked lastResort',
    )
  }
}

export function checkUpload(args: {
  deviceId: string
  oneTime: readonly StoredKeyPackage[]
  lastResort: StoredKeyPackage | null
  maxOneTime: number
}): void {
  checkDeviceId(args.deviceId)
  checkCount(args.maxOneTime, MAX_ONE_TIME_KEY_PACKAGES, 'maxOneTime')
  if (args.oneTime.length > args.maxOneTime) {
    throw new StorageError(
      'limit-exceeded',
      `${args.oneTime.length} one-time key packages, above ${args.maxOneTime}`,
    )
  }
  const refs = new Set<string>()
  for (const kp of args.oneTime) {
    checkKeyPackage(kp, false)
    const key = Buffer.from(kp.ref).toString('hex')
    if (refs.has(key)) throw new StorageError('already-exists', 'the same key package ref appears twice')
    refs.add(key)
  }
  if (args.lastResort !== null) checkKeyPackage(args.lastResort, true)
}

export function checkEnqueueRequest(request: EnqueueRequest): number {
  checkBytes(request.payload, MAX_PAYLOAD_BYTES, 'payload')
  checkInteger(request.expiresAt, 'expiresAt')
  const n = request.mailboxes.length
  checkCount(n, MAX_MAILBOXES_PER_ENVELOPE, 'mailboxes')
  const seen = new Set<string>()
  for (const m of request.mailboxes) {
    checkDeviceId(m)
    if (seen.has(m)) throw invalid('a mailbox appears twice in one envelope')
    seen.add(m)
  }
  return n
}

/** Returns how many mailbox rows and payload bytes the call writes (its weight in a group commit). */
export function checkEnqueue(
  requests: readonly EnqueueRequest[],
  now: number,
): { rows: number; bytes: number } {
  checkInteger(now, 'now')
  checkCount(requests.length, MAX_REQUESTS_PER_ENQUEUE, 'requests')
  let rows = 0
  let bytes = 0
  for (const r of requests) {
    rows += checkEnqueueRequest(r)
    bytes += r.payload.length
  }
  if (bytes > MAX_ENQUEUE_BYTES) {
    throw new StorageError('limit-exceeded', `${bytes} payload bytes in one call, above ${MAX_ENQUEUE_BYTES}`)
  }
  return { rows, bytes }
}

export function checkSeq(seq: bigint, field: string): void {
  if (typeof seq !== 'bigint' || seq < 0n || seq > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw invalid(`${field} must be a non-negative bigint`)
  }
}

export function checkAck(deviceId: string, seqs: readonly bigint[]): void {
  checkDeviceId(deviceId)
  if (seqs.length > MAX_ACK_SEQS)
    throw new StorageError('limit-exceeded', `${seqs.length} seqs, above ${MAX_ACK_SEQS}`)
  for (const s of seqs) checkSeq(s, 'seq')
}

export function checkFetch(deviceId: string, afterSeq: bigint, limit: number, now: number): void {
  checkDeviceId(deviceId)
  checkSeq(afterSeq, 'afterSeq')
  checkCount(limit, MAX_FETCH_LIMIT, 'limit')
  checkInteger(now, 'now')
}

export function checkGroupId(groupId: Bytes): void {
  checkBytes(groupId, MAX_GROUP_ID_BYTES, 'groupId')
}

export function checkCommit(request: CommitRequest, now: number): void {
  checkGroupId(request.groupId)
  if (typeof request.epoch !== 'bigint' || request.epoch < 0n || request.epoch > MAX_EPOCH) {
    throw invalid('epoch must be a bigint in [0, 2^63 - 2]')
  }
  checkInteger(now, 'now')
  checkEnqueueRequest(request.commit)
  if (request.welcome !== null) checkEnqueueRequest(request.welcome)
}

export function checkCreateBlob(args: {
  blobId: string
  owner: string
  declaredSize: number
  now: number
  expiresAt: number
  quotaBytes: number
}): void {
  checkBlobId(args.blobId)
  checkHandle(args.owner)
  checkInteger(args.now, 'now')
  checkInteger(args.expiresAt, 'expiresAt')
  checkInteger(args.quotaBytes, 'quotaBytes')
  checkCount(args.declaredSize, MAX_BLOB_BYTES, 'declaredSize')
}

export function checkAppend(blobId: string, offset: number, chunk: Bytes, now: number | undefined): void {
  checkBlobId(blobId)
  checkInteger(offset, 'offset')
  checkBytes(chunk, MAX_BLOB_CHUNK_BYTES, 'chunk')
  if (now !== undefined) checkInteger(now, 'now')
}

export function checkRange(blobId: string, start: number, end: number, now: number | undefined): void {
  checkBlobId(blobId)
  checkInteger(start, 'start')
  checkInteger(end, 'end')
  if (end <= start) throw invalid('range end must be after its start')
  if (end - start > MAX_BLOB_READ_BYTES) {
    throw new StorageError('limit-exceeded', `a range of ${end - start} bytes, above ${MAX_BLOB_READ_BYTES}`)
  }
  if (now !== undefined) checkInteger(now, 'now')
}
