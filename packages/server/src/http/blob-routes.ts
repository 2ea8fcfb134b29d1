/**
 * Blobs: encrypted files, uploaded in chunks at explicit offsets so an interrupted upload
 * resumes where the server says it stands (docs/protocol/server.md §Blobs). A chunk is read
 * whole before it is appended in one storage transaction: a chunk cut off mid-way is not
 * stored at all, and the client resends it from the offset the server reports.
 */
import { isId22 } from '@tacit/protocol/wire/encoding'
import { WireError } from '@tacit/protocol/wire/errors'
import { BLOB_ID_LENGTH, MAX_BLOB_BYTES, MAX_BLOB_CHUNK_BYTES } from '@tacit/protocol/wire/limits'
import type { ServerContext } from '../context.ts'
import { randomId } from '../secrets.ts'
import type { BlobInfo } from '../storage/storage.ts'
import { StorageError } from '../storage/storage.ts'
import { authenticateRequest } from './auth.ts'
import { getInteger, jsonResponse, readBody, readJson } from './json.ts'

/** Bytes read from storage per step of a download: downloads stream in constant memory. */
export const BLOB_READ_STEP_BYTES = 1024 * 1024

function checkBlobId(blobId: string): string {
  if (!isId22(blobId))
    throw new WireError('invalid-field', `blobId must be ${BLOB_ID_LENGTH} base64url characters`)
  return blobId
}

function statusJson(b: BlobInfo): Record<string, unknown> {
  return {
    blobId: b.blobId,
    size: b.declaredSize,
    offset: b.receivedSize,
    complete: b.complete,
    expiresAt: b.expiresAt,
  }
}

function uploadHeaders(b: BlobInfo): Record<string, string> {
  return { 'upload-offset': String(b.receivedSize), 'upload-length': String(b.declaredSize) }
}

export async function createBlob(ctx: ServerContext, request: Request): Promise<Response> {
  const device = await authenticateRequest(ctx, request)
  const body = await readJson(request)
  const max = Math.min(ctx.policy.maxBlobBytes, MAX_BLOB_BYTES)
  const size = getInteger(body, 'size', 1, max, 'the server blob size cap')
  const now = ctx.now()
  let info: BlobInfo
  try {
    info = await ctx.storage.createBlob({
      blobId: randomId(),
      owner: device.handle,
      declaredSize: size,
      now,
      expiresAt: now + ctx.policy.blobTtlMs,
      quotaBytes: ctx.policy.blobQuotaBytes,
    })
  } catch (error) {
    if (StorageError.is(error, 'limit-exceeded')) {
      throw new WireError('quota-exceeded', 'the account blob quota would be exceeded', {}, { cause: error })
    }
    throw error
  }
  ctx.metrics.increment('tacit_blobs_created_total', 'Blob uploads started')
  return jsonResponse(201, statusJson(info), uploadHeaders(info))
}

async function getOwnBlob(ctx: ServerContext, request: Request, blobId: string): Promise<BlobInfo> {
  const device = await authenticateRequest(ctx, request)
  checkBlobId(blobId)
  const info = await ctx.storage.getBlob(blobId, ctx.now())
  if (info === null) throw new WireError('not-found', 'no such blob')
  if (info.owner !== device.handle) throw new WireError('forbidden', 'only the uploader may do that')
  return info
}

export async function getUploadStatus(
  ctx: ServerContext,
  request: Request,
  blobId: string,
): Promise<Response> {
  const info = await getOwnBlob(ctx, request, blobId)
  return jsonResponse(200, statusJson(info), uploadHeaders(info))
}

export async function appendBlobChunk(
  ctx: ServerContext,
  request: Request,
  blobId: string,
): Promise<Response> {
  const info = await getOwnBlob(ctx, request, blobId)
  const type = request.headers.get('content-type') ?? ''
  if (!/^application\/(offset\+)?octet-stream\s*(;|$)/i.test(type)) {
    throw new WireError('unsupported-media-type', 'a chunk must be application/octet-stream')
  }
  const offsetHeader = request.headers.get('upload-offset')
  if (offsetHeader === null || !/^\d{1,15}$/.test(offsetHeader)) {
    throw new WireError('invalid-field', 'the Upload-Offset header must be a non-negative integer')
  }
  const offset = Number(offsetHeader)
  if (info.complete)
    throw new WireError('offset-mismatch', 'the upload is complete', { offset: info.receivedSize })
  if (offset !== info.receivedSize) {
    throw new WireError('offset-mismatch', 'the chunk does not start where the upload stands', {
      offset: info.receivedSize,
    })
  }
  const room = info.declaredSize - info.receivedSize
  const chunk = await readBody(
    request,
    Math.min(MAX_BLOB_CHUNK_BYTES, room),
    room < MAX_BLOB_CHUNK_BYTES ? 'the declared size' : 'MAX_BLOB_CHUNK_BYTES',
  )
  if (chunk.length === 0) throw new WireError('invalid-field', 'a chunk must not be empty')
  let after: BlobInfo
  try {
    after = await ctx.storage.appendBlob(blobId, offset, chunk, ctx.now())
  } catch (error) {
    if (StorageError.is(error, 'offset-mismatch')) {
      // Another request for the same upload won the race: say where it stands now.
      const now = await ctx.storage.getBlob(blobId, ctx.now())
      throw new WireError('offset-mismatch', 'the chunk does not start where the upload stands', {
        offset: now?.receivedSize ?? 0,
      })
    }
    throw error
  }
  ctx.metrics.increment('tacit_blob_bytes_received_total', 'Blob bytes received', {}, chunk.length)
  return jsonResponse(200, statusJson(after), uploadHeaders(after))
}

export async function deleteBlob(ctx: ServerContext, request: Request, blobId: string): Promise<Response> {
  await getOwnBlob(ctx, request, blobId)
  await ctx.storage.deleteBlob(blobId)
  return new Response(null, { status: 204 })
}

/** RFC 9110 §14.1.2: one `bytes=` range (first-last, first-, or -suffix). Several ranges are not offered. */
export function parseRange(header: string, size: number): { start: number; end: number } {
  const m = /^bytes=(\d{0,15})-(\d{0,15})$/.exec(header.trim())
  if (m === null || (m[1] === '' && m[2] === '')) {
    throw new WireError('range-not-satisfiable', 'only one bytes=first-last range is supported')
  }
  let start: number
  let end: number
  if (m[1] === '') {
    const suffix = Number(m[2])
    if (suffix === 0) throw new WireError('range-not-satisfiable', 'the range is empty')
    start = Math.max(0, size - suffix)
    end = size
  } else {
    start = Number(m[1])
    end = m[2] === '' ? size : Math.min(size, Number(m[2]) + 1)
    if (m[2] !== '' && Number(m[2]) < start)
      throw new WireError('range-not-satisfiable', 'the range ends before it starts')
  }
  if (start >= size)
    throw new WireError('range-not-satisfiable', 'the range starts after the end of the blob')
  return { start, end }
}

export async function downloadBlob(ctx: ServerContext, request: Request, blobId: string): Promise<Response> {
  // Any signed-in device may download: blob ids are unguessable and shared inside conversations.
  await authenticateRequest(ctx, request)
  checkBlobId(blobId)
  const info = await ctx.storage.getBlob(blobId, ctx.now())
  if (info === null) throw new WireError('not-found', 'no such blob')
  if (!info.complete) throw new WireError('upload-incomplete', 'the upload is not complete')
  const size = info.declaredSize
  const rangeHeader = request.headers.get('range')
  const { start, end } = rangeHeader === null ? { start: 0, end: size } : parseRange(rangeHeader, size)
  const headers: Record<string, string> = {
    'content-type': 'application/octet-stream',
    'content-length': String(end - start),
    'accept-ranges': 'bytes',
    'cache-control': 'no-store',
  }
  if (rangeHeader !== null) headers['content-range'] = `bytes ${start}-${end - 1}/${size}`
  if (request.method === 'HEAD') return new Response(null, { status: rangeHeader ? 206 : 200, headers })
  let position = start
  const storage = ctx.storage
  const now = ctx.now()
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (position >= end) {
        controller.close()
        return
      }
      const stepEnd = Math.min(end, position + BLOB_READ_STEP_BYTES)
      try {
        const bytes = await storage.readBlob(blobId, position, stepEnd, now)
        position = stepEnd
        controller.enqueue(bytes)
      } catch (error) {
        controller.error(error)
      }
    },
  })
  ctx.metrics.increment('tacit_blob_downloads_total', 'Blob downloads')
  return new Response(body, { status: rangeHeader ? 206 : 200, headers })
}
