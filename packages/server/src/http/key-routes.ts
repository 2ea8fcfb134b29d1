/**
 * The key directory (KeyPackages, RFC 9420 §10) and delivery tokens for sealed sending
 * (docs/protocol/server.md §Key directory, §Delivery tokens). KeyPackages are opaque to the
 * server; each is stored under its SHA-256, which makes a re-upload of the same one a no-op
 * rather than a second copy.
 */
import { bytesToBase64url } from '@tacit/protocol/wire/encoding'
import { WireError } from '@tacit/protocol/wire/errors'
import {
  DELIVERY_TOKEN_BYTES,
  MAX_HANDLE_LENGTH,
  MAX_KEY_PACKAGE_BYTES,
  MAX_KEY_PACKAGES_PER_UPLOAD,
  MAX_ONE_TIME_KEY_PACKAGES,
} from '@tacit/protocol/wire/limits'
import type { ServerContext } from '../context.ts'
import { hashSecret, sha256 } from '../secrets.ts'
import type { StoredKeyPackage } from '../storage/storage.ts'
import { checkHandle, readHandleList } from './account-routes.ts'
import { authenticateRequest } from './auth.ts'
import { decodeBytes, getArray, getBytes, getOptional, getString, jsonResponse, readJson } from './json.ts'
import { chargeExtra } from './request-cost.ts'

const KP_SIZE = { max: MAX_KEY_PACKAGE_BYTES, maxName: 'MAX_KEY_PACKAGE_BYTES' }

function storedKeyPackage(keyPackage: Uint8Array, lastResort: boolean): StoredKeyPackage {
  return { ref: sha256(keyPackage), keyPackage, lastResort }
}

export async function uploadKeyPackages(ctx: ServerContext, request: Request): Promise<Response> {
  const device = await authenticateRequest(ctx, request)
  const body = await readJson(request)
  const oneTimeRaw =
    body.oneTime === undefined
      ? []
      : getArray(body, 'oneTime', MAX_KEY_PACKAGES_PER_UPLOAD, 'MAX_KEY_PACKAGES_PER_UPLOAD')
  const oneTime = oneTimeRaw.map((v, i) => storedKeyPackage(decodeBytes(v, `oneTime[${i}]`, KP_SIZE), false))
  const seen = new Set(oneTime.map((k) => bytesToBase64url(k.ref)))
  if (seen.size !== oneTime.length)
    throw new WireError('invalid-field', 'oneTime must not repeat a KeyPackage')
  const lastResortRaw = getOptional(body, 'lastResort')
  const lastResort =
    lastResortRaw === undefined
      ? null
      : storedKeyPackage(decodeBytes(lastResortRaw, 'lastResort', KP_SIZE), true)
  if (oneTime.length === 0 && lastResort === null) {
    throw new WireError('invalid-field', 'upload at least one KeyPackage (oneTime or lastResort)')
  }
  const { oneTimeCount } = await ctx.storage.uploadKeyPackages({
    deviceId: device.deviceId,
    oneTime,
    lastResort,
    maxOneTime: MAX_ONE_TIME_KEY_PACKAGES,
  })
  ctx.metrics.increment('tacit_key_packages_uploaded_total', 'KeyPackages uploaded', {}, oneTime.length)
  return jsonResponse(200, { oneTimeCount })
}

export async function countKeyPackages(ctx: ServerContext, request: Request): Promise<Response> {
  const device = await authenticateRequest(ctx, request)
  return jsonResponse(200, { oneTimeCount: await ctx.storage.countKeyPackages(device.deviceId) })
}

/**
 * Handles in one batch claim: a group is created or grown by at most this many handles at once
 * (the client's MAX_MEMBERS_PER_CHANGE), so a 100-member group costs one round trip, not 100.
 */
export const MAX_CLAIM_HANDLES = 100

/**
 * `{"handle"}` claims for one handle (`{"keyPackages"}`); `{"handles": [...]}` for up to
 * MAX_CLAIM_HANDLES distinct handles at once (`{"accounts": [{"handle", "keyPackages"}]}`, in
 * request order). Every handle is checked before anything is claimed: an unknown one is
 * `not-found` and no KeyPackage is spent.
 */
export async function claimKeyPackages(ctx: ServerContext, request: Request): Promise<Response> {
  await authenticateRequest(ctx, request)
  const body = await readJson(request)
  const handleField = { max: MAX_HANDLE_LENGTH, maxName: 'MAX_HANDLE_LENGTH' }
  if (getOptional(body, 'handles') === undefined) {
    const handle = checkHandle(getString(body, 'handle', handleField))
    if ((await ctx.storage.getAccount(handle)) === null) throw new WireError('not-found', 'no such account')
    return jsonResponse(200, { keyPackages: wireClaimed(await claimCounted(ctx, handle)) })
  }
  if (getOptional(body, 'handle') !== undefined)
    throw new WireError('invalid-field', 'send either handle or handles')
  const handles = readHandleList(body, MAX_CLAIM_HANDLES, 'MAX_CLAIM_HANDLES')
  // Each handle costs what a single claim would: batching saves round trips, not rate (else one
  // address could drain others' one-time KeyPackages MAX_CLAIM_HANDLES times faster).
  chargeExtra(ctx, request, handles.length - 1)
  for (const handle of handles) {
    if ((await ctx.storage.getAccount(handle)) === null)
      throw new WireError('not-found', `no such account: handles[${handles.indexOf(handle)}]`)
  }
  const accounts = []
  for (const handle of handles) {
    accounts.push({ handle, keyPackages: wireClaimed(await claimCounted(ctx, handle)) })
  }
  return jsonResponse(200, { accounts })
}

async function claimCounted(ctx: ServerContext, handle: string) {
  const claimed = await ctx.storage.claimKeyPackages(handle)
  ctx.metrics.increment('tacit_key_packages_claimed_total', 'KeyPackages handed out', {}, claimed.length)
  return claimed
}

function wireClaimed(claimed: Awaited<ReturnType<ServerContext['storage']['claimKeyPackages']>>) {
  return claimed.map((c) => ({
    deviceId: c.deviceId,
    keyPackage: bytesToBase64url(c.keyPackage),
    lastResort: c.lastResort,
  }))
}

export async function registerDeliveryTokens(ctx: ServerContext, request: Request): Promise<Response> {
  const device = await authenticateRequest(ctx, request)
  const body = await readJson(request)
  // One token per request, so a request is one storage transaction (nothing half-written).
  const token = getBytes(body, 'token', { length: DELIVERY_TOKEN_BYTES })
  await ctx.storage.putDeliveryToken(hashSecret(token), device.deviceId)
  return jsonResponse(200, { registered: true })
}
