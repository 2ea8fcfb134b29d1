/**
 * The backend-neutral part of one group-commit transaction: given the calls of a batch and the
 * locked state of every mailbox they touch, decide which calls succeed, which seqs they get and
 * which rows to write. Both backends read the mailbox state, call `planMailboxBatch`, write the
 * plan and then credit acknowledgements with `creditAcks`. Each call succeeds or fails alone: a
 * refused call writes nothing and does not disturb the others in its batch.
 */
import type { Settled, WriteCall } from './group-commit.ts'
import { MAX_MAILBOX_ENTRIES } from './limits.ts'
import { type Bytes, type DeviceId, StorageError } from './storage.ts'

export interface MailboxState {
  readonly revoked: boolean
  /** The seq the next entry of this mailbox gets. */
  nextSeq: number
  /** Stored entries, expired or not, until swept or acknowledged. */
  count: number
}

export interface PlannedPayload {
  readonly payload: Bytes
  readonly receivedAt: number
  readonly expiresAt: number
}

export interface PlannedRow {
  readonly deviceId: DeviceId
  readonly seq: number
  /** Index into `payloads`. */
  readonly payload: number
}

export interface PlannedAck {
  readonly call: number
  readonly deviceId: DeviceId
  readonly seq: number
}

export interface MailboxBatchPlan {
  /** Per call: seqs for an accepted enqueue, an error for a refused one, 0 for an ack (credited later). */
  readonly results: Settled<bigint[][] | number>[]
  readonly payloads: PlannedPayload[]
  readonly rows: PlannedRow[]
  readonly acks: PlannedAck[]
  /** Devices whose next_seq / count changed, with their new values (before ack decrements). */
  readonly touched: Set<DeviceId>
}

/** Every device a batch touches, sorted: backends lock rows in this order so batches cannot deadlock. */
export function listBatchDevices(calls: readonly WriteCall[]): DeviceId[] {
  const ids = new Set<DeviceId>()
  for (const call of calls) {
    if (call.kind === 'ack') ids.add(call.deviceId)
    else for (const r of call.requests) for (const m of r.mailboxes) ids.add(m)
  }
  return [...ids].sort()
}

/** Mutates `mailboxes` (nextSeq, count) to the state after the accepted enqueues. */
export function planMailboxBatch(
  calls: readonly WriteCall[],
  mailboxes: Map<DeviceId, MailboxState>,
  capacity: number = MAX_MAILBOX_ENTRIES,
): MailboxBatchPlan {
  const plan: MailboxBatchPlan = { results: [], payloads: [], rows: [], acks: [], touched: new Set() }
  calls.forEach((call, index) => {
    if (call.kind === 'ack') {
      const seen = new Set<bigint>()
      for (const seq of call.seqs) {
        if (seen.has(seq)) continue
        seen.add(seq)
        plan.acks.push({ call: index, deviceId: call.deviceId, seq: Number(seq) })
      }
      plan.results.push({ ok: true, value: 0 })
      return
    }
    const refusal = checkCapacity(call.requests, mailboxes, capacity)
    if (refusal !== null) {
      plan.results.push({ ok: false, error: refusal })
      return
    }
    const seqs: bigint[][] = []
    for (const request of call.requests) {
      const payload = plan.payloads.length
      plan.payloads.push({ payload: request.payload, receivedAt: call.now, expiresAt: request.expiresAt })
      const assigned: bigint[] = []
      for (const deviceId of request.mailboxes) {
        const state = mailboxes.get(deviceId)!
        const seq = state.nextSeq++
        state.count++
        plan.touched.add(deviceId)
        plan.rows.push({ deviceId, seq, payload })
        assigned.push(BigInt(seq))
      }
      seqs.push(assigned)
    }
    plan.results.push({ ok: true, value: seqs })
  })
  return plan
}

function checkCapacity(
  requests: readonly { readonly mailboxes: readonly DeviceId[] }[],
  mailboxes: Map<DeviceId, MailboxState>,
  capacity: number,
): StorageError | null {
  const adding = new Map<DeviceId, number>()
  for (const r of requests) for (const m of r.mailboxes) adding.set(m, (adding.get(m) ?? 0) + 1)
  for (const [deviceId, n] of adding) {
    const state = mailboxes.get(deviceId)
    if (state === undefined) return new StorageError('not-found', 'a recipient mailbox does not exist')
    if (state.revoked) return new StorageError('device-revoked', 'a recipient device is revoked')
    if (state.count + n > capacity) {
      return new StorageError('limit-exceeded', `a recipient mailbox is full (${capacity} entries)`)
    }
  }
  return null
}

/**
 * Credits each ack call with the entries that existed (a seq acknowledged twice in one batch is
 * credited to the first call only) and lowers the mailbox counts.
 */
export function creditAcks(
  plan: MailboxBatchPlan,
  deleted: Iterable<{ readonly deviceId: DeviceId; readonly seq: number }>,
  mailboxes: Map<DeviceId, MailboxState>,
): void {
  const gone = new Set<string>()
  for (const d of deleted) gone.add(`${d.deviceId}\u0000${d.seq}`)
  const results = plan.results as Settled<bigint[][] | number>[]
  for (const ack of plan.acks) {
    const key = `${ack.deviceId}\u0000${ack.seq}`
    if (!gone.delete(key)) continue
    const prior = results[ack.call]
    results[ack.call] = { ok: true, value: ((prior?.ok ? prior.value : 0) as number) + 1 }
    const state = mailboxes.get(ack.deviceId)
    if (state !== undefined) {
      state.count = Math.max(0, state.count - 1)
      plan.touched.add(ack.deviceId)
    }
  }
}
