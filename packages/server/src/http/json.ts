/**
 * Reading and checking HTTP bodies, and writing JSON answers. Bodies are read as a stream with
 * a byte limit, so an oversized or endless body is refused after at most `max` bytes. Field
 * checkers name the field and the limit; wrong type and wrong size are different errors.
 */
import { base64urlLength, base64urlToBytes } from '@tacit/protocol/wire/encoding'
import { WireError } from '@tacit/protocol/wire/errors'
import { MAX_JSON_BODY_BYTES } from '@tacit/protocol/wire/limits'

export type Json = Record<string, unknown>

/** Reads the whole body, refusing more than `max` bytes (`tooLargeName` is the MAX_* named in the error). */
export async function readBody(request: Request, max: number, tooLargeName: string): Promise<Uint8Array> {
  const declared = request.headers.get('content-length')
  if (declared !== null) {
    const n = Number(declared)
    if (!/^\d+$/.test(declared) || !Number.isSafeInteger(n))
      throw new WireError('malformed', 'bad Content-Length')
    if (n > max) throw new WireError('too-large', `body is above ${tooLargeName} (${max})`)
  }
  if (request.body === null) return new Uint8Array(0)
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    let step: ReadableStreamReadResult<Uint8Array>
    try {
      step = await reader.read()
    } catch (cause) {
      // The client went away mid-body: nothing of it is used.
      throw new WireError('malformed', 'the body was cut off', {}, { cause })
    }
    const { done, value } = step
    if (done) break
    total += value.length
    if (total > max) {
      await reader.cancel().catch(() => {})
      throw new WireError('too-large', `body is above ${tooLargeName} (${max})`)
    }
    chunks.push(value)
  }
  if (chunks.length === 1) return chunks[0]!
  const out = new Uint8Array(total)
  let o = 0
  for (const c of chunks) {
    out.set(c, o)
    o += c.length
  }
  return out
}

const decoder = new TextDecoder('utf-8', { fatal: true })

export async function readJson(request: Request): Promise<Json> {
  const type = request.headers.get('content-type') ?? ''
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new WireError('unsupported-media-type', 'the body must be application/json')
  }
  const body = await readBody(request, MAX_JSON_BODY_BYTES, 'MAX_JSON_BODY_BYTES')
  let value: unknown
  try {
    value = JSON.parse(decoder.decode(body))
  } catch (cause) {
    throw new WireError('malformed', 'the body is not valid UTF-8 JSON', {}, { cause })
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new WireError('malformed', 'the body must be a JSON object')
  }
  return value as Json
}

export function getString(
  body: Json,
  name: string,
  options: { max: number; maxName: string; pattern?: RegExp; patternText?: string },
): string {
  const v = body[name]
  if (typeof v !== 'string') throw new WireError('invalid-field', `${name} must be a string`)
  if (v.length > options.max)
    throw new WireError('too-large', `${name} is above ${options.maxName} (${options.max})`)
  if (options.pattern && !options.pattern.test(v)) {
    throw new WireError('invalid-field', `${name} must match ${options.patternText ?? 'its format'}`)
  }
  return v
}

/** base64url bytes of exactly `length`, or of at most `max` (named `maxName`). */
export function getBytes(
  body: Json,
  name: string,
  size: { length: number } | { max: number; maxName: string; min?: number },
): Uint8Array {
  return decodeBytes(body[name], name, size)
}

export function decodeBytes(
  v: unknown,
  name: string,
  size: { length: number } | { max: number; maxName: string; min?: number },
): Uint8Array {
  if (typeof v !== 'string') throw new WireError('invalid-field', `${name} must be a base64url string`)
  if ('length' in size) {
    if (v.length !== base64urlLength(size.length)) {
      throw new WireError('invalid-field', `${name} must be ${size.length} bytes`)
    }
    return base64urlToBytes(v, name)
  }
  if (v.length > base64urlLength(size.max)) {
    throw new WireError('too-large', `${name} is above ${size.maxName} (${size.max})`)
  }
  const bytes = base64urlToBytes(v, name)
  if (bytes.length < (size.min ?? 1)) throw new WireError('invalid-field', `${name} must not be empty`)
  return bytes
}

export function getOptional(body: Json, name: string): unknown {
  const v = body[name]
  return v === null ? undefined : v
}

export function getArray(body: Json, name: string, max: number, maxName: string, min = 0): unknown[] {
  const v = body[name]
  if (!Array.isArray(v)) throw new WireError('invalid-field', `${name} must be an array`)
  if (v.length > max) throw new WireError('too-large', `${name} has more than ${maxName} (${max}) items`)
  if (v.length < min) throw new WireError('invalid-field', `${name} must have at least ${min} item(s)`)
  return v
}

export function getInteger(body: Json, name: string, min: number, max: number, maxName: string): number {
  const v = body[name]
  if (typeof v !== 'number' || !Number.isSafeInteger(v))
    throw new WireError('invalid-field', `${name} must be an integer`)
  if (v < min) throw new WireError('invalid-field', `${name} must be at least ${min}`)
  if (v > max) throw new WireError('too-large', `${name} is above ${maxName} (${max})`)
  return v
}

export function getObject(body: Json, name: string): Json {
  const v = body[name]
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new WireError('invalid-field', `${name} must be an object`)
  }
  return v as Json
}

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
  })
}

export function errorResponse(error: WireError): Response {
  const d = error.details
  const headers: Record<string, string> = {}
  if (d.retryAfterSeconds !== undefined) headers['retry-after'] = String(d.retryAfterSeconds)
  if (d.offset !== undefined) headers['upload-offset'] = String(d.offset)
  return jsonResponse(
    error.status,
    {
      error: {
        code: error.code,
        message: error.message,
        ...(d.currentEpoch !== undefined ? { currentEpoch: d.currentEpoch.toString() } : {}),
        ...(d.offset !== undefined ? { offset: d.offset } : {}),
        ...(d.retryAfterSeconds !== undefined ? { retryAfterSeconds: d.retryAfterSeconds } : {}),
      },
    },
    headers,
  )
}
