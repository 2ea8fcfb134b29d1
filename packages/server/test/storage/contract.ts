/**
 * The storage contract: one suite, run against every backend by `sqlite.test.ts` and
 * `postgres.test.ts`. Each test opens a fresh, empty database through the factory.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import type { StorageOptions } from '../../src/storage/group-commit.ts'
import { MAX_DEVICES_PER_ACCOUNT, MAX_FETCH_LIMIT, MAX_PAYLOAD_BYTES } from '../../src/storage/limits.ts'
import {
  type Bytes,
  type Device,
  type EnqueueRequest,
  type Storage,
  StorageError,
  type StorageErrorCode,
} from '../../src/storage/storage.ts'

export type CountedTable =
  | 'payloads'
  | 'mailbox'
  | 'key_packages'
  | 'blob_chunks'
  | 'sessions'
  | 'delivery_tokens'

export interface InspectableStorage extends Storage {
  countRows(table: CountedTable): Promise<number>
  readonly groupCommitStats: { readonly batches: number; readonly calls: number }
}

export interface StorageHarness {
  readonly storage: InspectableStorage
  /** Another connection (SQLite) or pool (PostgreSQL) on the same database. */
  openAnother(): Promise<InspectableStorage>
  /**
   * Frees now what the backend frees later. SQLite deletes a payload with its last mailbox row;
   * PostgreSQL drops acknowledged payloads with their generation's partition (decision 0019), so
   * its harness retires every generation.
   */
  releaseAcknowledged(): Promise<void>
  /** Closes everything the harness opened and removes the database. */
  close(): Promise<void>
}

export type OpenHarness = (options?: StorageOptions) => Promise<StorageHarness>

export const T0 = 1_700_000_000_000
export const HOUR = 3_600_000

const hash = (): Uint8Array => new Uint8Array(randomBytes(32))
const bytesOf = (text: string): Uint8Array => new TextEncoder().encode(text)
const textOf = (bytes: Bytes): string => new TextDecoder().decode(bytes)

async function rejectsWith(promise: Promise<unknown>, code: StorageErrorCode): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(StorageError.is(error), `expected a StorageError, got ${String(error)}`)
    assert.equal(error.code, code)
    return true
  })
}

function newDevice(handle: string, deviceId: string): Omit<Device, 'revokedAt'> {
  return {
    deviceId,
    handle,
    signatureKey: new Uint8Array(randomBytes(32)),
    credential: bytesOf(`credential of ${deviceId}`),
    createdAt: T0,
  }
}

/** Registers `handle` with devices `${handle}-d0` … through a fresh invite. */
export async function registerUser(s: Storage, handle: string, devices = 1): Promise<string[]> {
  const code = hash()
  await s.createInvite(code, T0, T0 + HOUR)
  const ids = Array.from({ length: devices }, (_, i) => `${handle}-d${i}`)
  await s.registerAccount({
    codeHash: code,
    account: { handle, identityKey: new Uint8Array(randomBytes(32)), createdAt: T0 },
    device: newDevice(handle, ids[0]!),
    now: T0,
  })
  for (const id of ids.slice(1)) await s.addDevice(newDevice(handle, id))
  return ids
}

export function envelope(mailboxes: string[], text: string, expiresAt = T0 + HOUR): EnqueueRequest {
  return { mailboxes, payload: bytesOf(text), expiresAt }
}

function kp(name: string, lastResort = false) {
  return { ref: bytesOf(`ref:${name}`), keyPackage: bytesOf(`kp:${name}`), lastResort }
}

export function runStorageContract(
  backend: string,
  open: OpenHarness,
  concurrency: { claimers: number },
): void {
  /** Opens a fresh database, runs `body`, always closes it. */
  const withStorage = async (
    body: (s: InspectableStorage, h: StorageHarness) => Promise<void>,
    options?: StorageOptions,
  ): Promise<void> => {
    const h = await open(options)
    try {
      await body(h.storage, h)
    } finally {
      await h.close()
    }
  }

  describe(`storage contract: ${backend}`, () => {
    it('migrate is idempotent', () =>
      withStorage(async (s) => {
        await s.migrate()
        await s.migrate()
        assert.equal(await s.getAccount('nobody'), null)
      }))

    describe('invites and accounts', () => {
      it('creates, lists, revokes invites; refuses duplicates and unknown codes', () =>
        withStorage(async (s) => {
          const a = hash()
          const b = hash()
          await s.createInvite(a, T0, T0 + HOUR)
          await s.createInvite(b, T0 + 1, T0 + HOUR)
          await rejectsWith(s.createInvite(a, T0, T0 + HOUR), 'already-exists')
          await s.revokeInvite(b, T0 + 2)
          await rejectsWith(s.revokeInvite(hash(), T0), 'not-found')
          const invites = await s.listInvites()
          assert.equal(invites.length, 2)
          const byHex = new Map(invites.map((i) => [Buffer.from(i.codeHash).toString('hex'), i]))
          assert.equal(byHex.get(Buffer.from(a).toString('hex'))?.revokedAt, null)
          assert.equal(byHex.get(Buffer.from(b).toString('hex'))?.revokedAt, T0 + 2)
          assert.equal(byHex.get(Buffer.from(a).toString('hex'))?.expiresAt, T0 + HOUR)
        }))

      it('registers an account with its first device and consumes the invite', () =>
        withStorage(async (s) => {
          const code = hash()
          await s.createInvite(code, T0, T0 + HOUR)
          const identityKey = new Uint8Array(randomBytes(32))
          await s.registerAccount({
            codeHash: code,
            account: { handle: 'alice', identityKey, createdAt: T0 },
            device: newDevice('alice', 'alice-d0'),
            now: T0 + 5,
          })
          assert.deepEqual(await s.getAccount('alice'), { handle: 'alice', identityKey, createdAt: T0 })
          const [invite] = await s.listInvites()
          assert.equal(invite?.usedBy, 'alice')
          const devices = await s.listDevices('alice')
          assert.deepEqual(
            devices.map((d) => [d.deviceId, d.revokedAt]),
            [['alice-d0', null]],
          )
          // A used invite cannot register anyone else.
          await rejectsWith(
            s.registerAccount({
              codeHash: code,
              account: { handle: 'bob', identityKey, createdAt: T0 },
              device: newDevice('bob', 'bob-d0'),
              now: T0 + 6,
            }),
            'invite-invalid',
          )
          assert.equal(await s.getAccount('bob'), null)
        }))

      it('refuses unknown, revoked and expired invites', () =>
        withStorage(async (s) => {
          const revoked = hash()
          const expired = hash()
          await s.createInvite(revoked, T0, T0 + HOUR)
          await s.revokeInvite(revoked, T0)
          await s.createInvite(expired, T0, T0 + 10)
          const attempt = (codeHash: Uint8Array, now: number) =>
            s.registerAccount({
              codeHash,
              account: { handle: 'carol', identityKey: hash(), createdAt: now },
              device: newDevice('carol', 'carol-d0'),
              now,
            })
          await rejectsWith(attempt(hash(), T0), 'invite-invalid')
          await rejectsWith(attempt(revoked, T0), 'invite-invalid')
          await rejectsWith(attempt(expired, T0 + 10), 'invite-invalid')
          assert.equal(await s.getAccount('carol'), null)
          await attempt(expired, T0 + 9)
          assert.notEqual(await s.getAccount('carol'), null)
        }))

      it('a refused registration consumes nothing (taken handle, then a retry succeeds)', () =>
        withStorage(async (s) => {
          await registerUser(s, 'alice')
          const code = hash()
          await s.createInvite(code, T0, T0 + HOUR)
          const attempt = (handle: string) =>
            s.registerAccount({
              codeHash: code,
              account: { handle, identityKey: hash(), createdAt: T0 },
              device: newDevice(handle, `${handle}-d0`),
              now: T0,
            })
          await rejectsWith(attempt('alice'), 'already-exists')
          assert.equal(await s.getDevice('alice-d0').then((d) => d?.handle), 'alice')
          assert.equal(await s.getDevice('alice-d0-other'), null)
          await attempt('dave')
          assert.equal((await s.getAccount('dave'))?.handle, 'dave')
        }))

      it('refuses hashes that are not 32 bytes (invalid-argument)', () =>
        withStorage(async (s) => {
          await rejectsWith(s.createInvite(new Uint8Array(31), T0, T0 + HOUR), 'invalid-argument')
          await rejectsWith(s.getSessionDevice(new Uint8Array(33), T0), 'invalid-argument')
          assert.equal((await s.listInvites()).length, 0)
        }))
    })

    describe('devices and sessions', () => {
      it('adds, gets and lists devices; refuses unknown accounts, duplicates and too many', () =>
        withStorage(async (s) => {
          await registerUser(s, 'alice')
          await s.addDevice(newDevice('alice', 'alice-d1'))
          await rejectsWith(s.addDevice(newDevice('alice', 'alice-d1')), 'already-exists')
          await rejectsWith(s.addDevice(newDevice('nobody', 'x-d0')), 'not-found')
          const d1 = await s.getDevice('alice-d1')
          assert.equal(d1?.handle, 'alice')
          assert.deepEqual(d1?.credential, bytesOf('credential of alice-d1'))
          assert.equal(await s.getDevice('missing'), null)
          for (let i = 2; i < MAX_DEVICES_PER_ACCOUNT; i++)
            await s.addDevice(newDevice('alice', `alice-d${i}`))
          await rejectsWith(s.addDevice(newDevice('alice', 'alice-extra')), 'limit-exceeded')
          assert.equal((await s.listDevices('alice')).length, MAX_DEVICES_PER_ACCOUNT)
          // A revoked device frees its place.
          await s.revokeDevice('alice-d1', T0)
          await s.addDevice(newDevice('alice', 'alice-extra'))
        }))

      it('sessions resolve until they expire or the device is revoked', () =>
        withStorage(async (s) => {
          const [d0] = await registerUser(s, 'alice')
          const token = hash()
          await s.createSession(token, d0!, T0 + 100)
          await rejectsWith(s.createSession(token, d0!, T0 + 100), 'already-exists')
          await rejectsWith(s.createSession(hash(), 'missing', T0 + 100), 'not-found')
          assert.equal(await s.getSessionDevice(token, T0 + 99), d0)
          assert.equal(await s.getSessionDevice(token, T0 + 100), null)
          assert.equal(await s.getSessionDevice(hash(), T0), null)
          const swept = await s.sweepExpired(T0 + 100)
          assert.equal(swept.sessions, 1)
          assert.equal(await s.countRows('sessions'), 0)
          const other = hash()
          await s.createSession(other, d0!, T0 + HOUR)
          await s.revokeDevice(d0!, T0 + 1)
          assert.equal(await s.getSessionDevice(other, T0 + 2), null)
          await rejectsWith(s.createSession(hash(), d0!, T0 + HOUR), 'device-revoked')
        }))
    })

    describe('key directory', () => {
      it('uploads, counts and claims one-time packages before the last-resort one', () =>
        withStorage(async (s) => {
          const [d0, d1] = await registerUser(s, 'alice', 2)
          const r = await s.uploadKeyPackages({
            deviceId: d0!,
            oneTime: [kp('a'), kp('b')],
            lastResort: kp('last', true),
            maxOneTime: 10,
          })
          assert.equal(r.oneTimeCount, 2)
          await s.uploadKeyPackages({ deviceId: d1!, oneTime: [kp('c')], lastResort: null, maxOneTime: 10 })
          assert.equal(await s.countKeyPackages(d0!), 2)

          const first = await s.claimKeyPackages('alice')
          assert.deepEqual(
            first.map((c) => [c.deviceId, textOf(c.keyPackage), c.lastResort]),
            [
              [d0, 'kp:a', false],
              [d1, 'kp:c', false],
            ],
          )
          const second = await s.claimKeyPackages('alice')
          // d1 has no last-resort package: it is left out once its one-time ones are gone.
          assert.deepEqual(
            second.map((c) => [c.deviceId, textOf(c.keyPackage), c.lastResort]),
            [[d0, 'kp:b', false]],
          )
          const third = await s.claimKeyPackages('alice')
          const fourth = await s.claimKeyPackages('alice')
          assert.deepEqual(
            [...third, ...fourth].map((c) => [textOf(c.keyPackage), c.lastResort]),
            [
              ['kp:last', true],
              ['kp:last', true],
            ],
          )
          assert.equal(await s.countKeyPackages(d0!), 0)
          await rejectsWith(s.claimKeyPackages('nobody'), 'not-found')
        }))

      it('replaces the last-resort package; refuses duplicates and more than maxOneTime, writing nothing', () =>
        withStorage(async (s) => {
          const [d0] = await registerUser(s, 'alice')
          await s.uploadKeyPackages({
            deviceId: d0!,
            oneTime: [kp('a')],
            lastResort: kp('old', true),
            maxOneTime: 3,
          })
          await s.uploadKeyPackages({
            deviceId: d0!,
            oneTime: [],
            lastResort: kp('new', true),
            maxOneTime: 3,
          })
          await rejectsWith(
            s.uploadKeyPackages({ deviceId: d0!, oneTime: [kp('a')], lastResort: null, maxOneTime: 3 }),
            'already-exists',
          )
          await rejectsWith(
            s.uploadKeyPackages({
              deviceId: d0!,
              oneTime: [kp('b'), kp('c'), kp('d')],
              lastResort: null,
              maxOneTime: 3,
            }),
            'limit-exceeded',
          )
          await rejectsWith(
            s.uploadKeyPackages({ deviceId: 'missing', oneTime: [kp('z')], lastResort: null, maxOneTime: 3 }),
            'not-found',
          )
          assert.equal(await s.countKeyPackages(d0!), 1)
          assert.equal(await s.countRows('key_packages'), 2)
          await s.claimKeyPackages('alice')
          const [last] = await s.claimKeyPackages('alice')
          assert.equal(textOf(last!.keyPackage), 'kp:new')
        }))

      it(`concurrent claimers never get the same one-time package (${concurrency.claimers} claims, 20 packages)`, () =>
        withStorage(async (s, h) => {
          const [d0] = await registerUser(s, 'alice')
          const oneTime = Array.from({ length: 20 }, (_, i) => kp(`p${i}`))
          await s.uploadKeyPackages({ deviceId: d0!, oneTime, lastResort: kp('last', true), maxOneTime: 20 })
          const others = [await h.openAnother(), await h.openAnother()]
          const storages = [s, ...others]
          try {
            const claims = await Promise.all(
              Array.from({ length: concurrency.claimers }, (_, i) =>
                storages[i % storages.length]!.claimKeyPackages('alice'),
              ),
            )
            const got = claims.map((c) => {
              assert.equal(c.length, 1)
              return c[0]!
            })
            const oneTimeGot = got.filter((c) => !c.lastResort).map((c) => textOf(c.keyPackage))
            assert.equal(
              new Set(oneTimeGot).size,
              oneTimeGot.length,
              'a one-time package was handed out twice',
            )
            assert.equal(oneTimeGot.length, 20)
            for (const c of got.filter((c) => c.lastResort)) assert.equal(textOf(c.keyPackage), 'kp:last')
            assert.equal(await s.countKeyPackages(d0!), 0)
          } finally {
            for (const o of others) await o.close()
          }
        }))
    })

    describe('mailboxes', () => {
      it('stores in order, fetches after a seq with a limit, acknowledges by seq', () =>
        withStorage(async (s) => {
          const [d0] = await registerUser(s, 'alice')
          const seqs = await s.enqueue([envelope([d0!], 'one'), envelope([d0!], 'two')], T0)
          const [third] = await s.enqueue([envelope([d0!], 'three')], T0 + 1)
          assert.equal(seqs.length, 2)
          const all = [seqs[0]![0]!, seqs[1]![0]!, third![0]!]
          assert.ok(all[0]! < all[1]! && all[1]! < all[2]!, 'seqs increase')
          const fetched = await s.fetchMailbox(d0!, 0n, 10, T0 + 2)
          assert.deepEqual(
            fetched.map((e) => [e.seq, textOf(e.payload), e.receivedAt]),
            [
              [all[0], 'one', T0],
              [all[1], 'two', T0],
              [all[2], 'three', T0 + 1],
            ],
          )
          assert.deepEqual(
            (await s.fetchMailbox(d0!, all[0]!, 1, T0 + 2)).map((e) => textOf(e.payload)),
            ['two'],
          )
          assert.equal(await s.ack(d0!, [all[0]!, all[2]!, 999n]), 2)
          assert.equal(await s.ack(d0!, [all[0]!]), 0)
          assert.deepEqual(
            (await s.fetchMailbox(d0!, 0n, 10, T0 + 2)).map((e) => textOf(e.payload)),
            ['two'],
          )
          // Seqs are never reused after an acknowledgement.
          const [[next]] = (await s.enqueue([envelope([d0!], 'four')], T0 + 3)) as [[bigint]]
          assert.ok(next > all[2]!)
        }))

      it('fans one upload out to many mailboxes, storing the payload once', () =>
        withStorage(async (s, h) => {
          const ids = await registerUser(s, 'alice', 5)
          const [seqs] = await s.enqueue([envelope(ids, 'to everyone')], T0)
          assert.equal(seqs?.length, 5)
          assert.equal(await s.countRows('payloads'), 1)
          assert.equal(await s.countRows('mailbox'), 5)
          for (const id of ids) {
            const [e] = await s.fetchMailbox(id, 0n, 10, T0)
            assert.equal(textOf(e!.payload), 'to everyone')
          }
          for (const [i, id] of ids.entries()) {
            assert.equal(await s.ack(id, [seqs![i]!]), 1)
            await h.releaseAcknowledged()
            assert.equal(await s.countRows('payloads'), i === ids.length - 1 ? 0 : 1)
            if (i < ids.length - 1) {
              const [rest] = await s.fetchMailbox(ids[i + 1]!, 0n, 10, T0)
              assert.equal(textOf(rest!.payload), 'to everyone')
            }
          }
        }))

      it('expires entries by `now` and sweeps them', () =>
        withStorage(async (s) => {
          const [d0, d1] = await registerUser(s, 'alice', 2)
          await s.enqueue([envelope([d0!, d1!], 'short', T0 + 10), envelope([d0!], 'long', T0 + 1000)], T0)
          assert.equal((await s.fetchMailbox(d0!, 0n, 10, T0 + 9)).length, 2)
          assert.deepEqual(
            (await s.fetchMailbox(d0!, 0n, 10, T0 + 10)).map((e) => textOf(e.payload)),
            ['long'],
          )
          assert.equal((await s.fetchMailbox(d1!, 0n, 10, T0 + 10)).length, 0)
          const swept = await s.sweepExpired(T0 + 10)
          assert.equal(swept.envelopes, 2)
          assert.equal(await s.countRows('mailbox'), 1)
          assert.equal(await s.countRows('payloads'), 1)
          assert.equal((await s.sweepExpired(T0 + 10)).envelopes, 0)
        }))

      it('group-commits calls of one tick in one transaction, each call failing alone', () =>
        withStorage(async (s) => {
          const [d0] = await registerUser(s, 'alice')
          const before = s.groupCommitStats.batches
          const good = Array.from({ length: 200 }, (_, i) => s.enqueue([envelope([d0!], `m${i}`)], T0))
          const bad = s.enqueue([envelope([d0!, 'missing'], 'never')], T0)
          const results = await Promise.all(good)
          await rejectsWith(bad, 'not-found')
          assert.equal(s.groupCommitStats.batches - before, 1, 'one transaction for the whole tick')
          const seqs = results.map((r) => r[0]![0]!)
          for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i]! > seqs[i - 1]!, 'seqs follow call order')
          const stored = await s.fetchMailbox(d0!, 0n, MAX_FETCH_LIMIT, T0)
          assert.equal(stored.length, 200)
          assert.ok(!stored.some((e) => textOf(e.payload) === 'never'))
          assert.equal(await s.countRows('payloads'), 200)
        }))

      it('refuses revoked, unknown and full mailboxes and oversized input', () =>
        withStorage(
          async (s) => {
            const [d0, d1] = await registerUser(s, 'alice', 2)
            await s.enqueue([envelope([d0!], '1'), envelope([d0!], '2')], T0)
            await rejectsWith(s.enqueue([envelope([d0!], '3'), envelope([d0!], '4')], T0), 'limit-exceeded')
            await s.enqueue([envelope([d0!], '3')], T0)
            await rejectsWith(s.enqueue([envelope([d0!], 'over')], T0), 'limit-exceeded')
            await s.revokeDevice(d1!, T0)
            await rejectsWith(s.enqueue([envelope([d1!], 'x')], T0), 'device-revoked')
            await rejectsWith(s.enqueue([envelope(['missing'], 'x')], T0), 'not-found')
            await rejectsWith(
              s.enqueue(
                [{ mailboxes: [d0!], payload: new Uint8Array(MAX_PAYLOAD_BYTES + 1), expiresAt: T0 + 1 }],
                T0,
              ),
              'limit-exceeded',
            )
            await rejectsWith(s.enqueue([envelope([d0!, d0!], 'dup')], T0), 'invalid-argument')
            await rejectsWith(s.fetchMailbox(d0!, 0n, MAX_FETCH_LIMIT + 1, T0), 'limit-exceeded')
            // Acknowledging frees room again.
            const entries = await s.fetchMailbox(d0!, 0n, 10, T0)
            assert.equal(entries.length, 3)
            assert.equal(await s.ack(d0!, [entries[0]!.seq]), 1)
            await s.enqueue([envelope([d0!], '4')], T0)
            assert.equal(await s.countRows('mailbox'), 3)
          },
          { mailboxCapacity: 3 },
        ))

      it('random enqueue/fetch/ack sequences match a simple model', () =>
        withStorage(async (s) => {
          const ids = await registerUser(s, 'alice', 3)
          type Cmd =
            | { kind: 'enqueue'; to: number[]; ttl: number; parallel: number }
            | { kind: 'fetch'; box: number; limit: number }
            | { kind: 'ack'; box: number; pick: number[]; bogus: boolean }
            | { kind: 'tick'; ms: number }
          const cmd: fc.Arbitrary<Cmd> = fc.oneof(
            fc.record({
              kind: fc.constant('enqueue' as const),
              to: fc.uniqueArray(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 3 }),
              ttl: fc.integer({ min: 1, max: 50 }),
              parallel: fc.integer({ min: 1, max: 4 }),
            }),
            fc.record({
              kind: fc.constant('fetch' as const),
              box: fc.integer({ min: 0, max: 2 }),
              limit: fc.integer({ min: 1, max: 5 }),
            }),
            fc.record({
              kind: fc.constant('ack' as const),
              box: fc.integer({ min: 0, max: 2 }),
              pick: fc.array(fc.nat(), { maxLength: 3 }),
              bogus: fc.boolean(),
            }),
            fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 30 }) }),
          )
          let run = 0
          let now = T0
          await fc.assert(
            fc.asyncProperty(fc.array(cmd, { maxLength: 25 }), async (cmds) => {
              // Every run starts from empty mailboxes: drop whatever the previous run left.
              run++
              now += 10_000
              await s.sweepExpired(now + 100_000)
              for (const id of ids) {
                const left = await s.fetchMailbox(id, 0n, MAX_FETCH_LIMIT, now)
                await s.ack(
                  id,
                  left.map((e) => e.seq),
                )
              }
              const model: { seq: bigint; text: string; expiresAt: number }[][] = [[], [], []]
              let n = 0
              for (const c of cmds) {
                if (c.kind === 'tick') now += c.ms
                else if (c.kind === 'enqueue') {
                  const texts = Array.from({ length: c.parallel }, () => `r${run}-${n++}`)
                  const results = await Promise.all(
                    texts.map((t) =>
                      s.enqueue(
                        [
                          envelope(
                            c.to.map((i) => ids[i]!),
                            t,
                            now + c.ttl,
                          ),
                        ],
                        now,
                      ),
                    ),
                  )
                  results.forEach((r, k) => {
                    c.to.forEach((box, j) => {
                      model[box]!.push({ seq: r[0]![j]!, text: texts[k]!, expiresAt: now + c.ttl })
                    })
                  })
                } else if (c.kind === 'fetch') {
                  const got = await s.fetchMailbox(ids[c.box]!, 0n, c.limit, now)
                  const want = model[c.box]!.filter((e) => e.expiresAt > now).slice(0, c.limit)
                  assert.deepEqual(
                    got.map((e) => [e.seq, textOf(e.payload)]),
                    want.map((e) => [e.seq, e.text]),
                  )
                } else {
                  const box = model[c.box]!
                  const seqs = c.pick.filter(() => box.length > 0).map((p) => box[p % box.length]!.seq)
                  if (c.bogus) seqs.push(10_000_000n)
                  const unique = new Set(seqs)
                  const expected = box.filter((e) => unique.has(e.seq)).length
                  assert.equal(await s.ack(ids[c.box]!, seqs), expected)
                  model[c.box] = box.filter((e) => !unique.has(e.seq))
                }
              }
              for (let b = 0; b < 3; b++) {
                for (let k = 1; k < model[b]!.length; k++)
                  assert.ok(model[b]![k]!.seq > model[b]![k - 1]!.seq)
              }
            }),
            { numRuns: 25 },
          )
        }))
    })

    describe('delivery tokens', () => {
      it('resolve to their device until it is revoked', () =>
        withStorage(async (s) => {
          const [d0, d1] = await registerUser(s, 'alice', 2)
          const t = hash()
          await s.putDeliveryToken(t, d0!)
          await s.putDeliveryToken(t, d0!)
          await rejectsWith(s.putDeliveryToken(t, d1!), 'already-exists')
          await rejectsWith(s.putDeliveryToken(hash(), 'missing'), 'not-found')
          assert.equal(await s.resolveDeliveryToken(t), d0)
          assert.equal(await s.resolveDeliveryToken(hash()), null)
          await s.revokeDevice(d0!, T0)
          assert.equal(await s.resolveDeliveryToken(t), null)
          await rejectsWith(s.putDeliveryToken(hash(), d0!), 'device-revoked')
        }))
    })

    describe('revoked devices', () => {
      it('lose their mailbox and key packages, are skipped by claims, and revoking twice is harmless', () =>
        withStorage(async (s, h) => {
          const [d0, d1] = await registerUser(s, 'alice', 2)
          await s.uploadKeyPackages({
            deviceId: d0!,
            oneTime: [kp('a')],
            lastResort: kp('l0', true),
            maxOneTime: 5,
          })
          await s.uploadKeyPackages({
            deviceId: d1!,
            oneTime: [kp('b')],
            lastResort: kp('l1', true),
            maxOneTime: 5,
          })
          await s.enqueue([envelope([d0!, d1!], 'shared'), envelope([d0!], 'only d0')], T0)
          await s.revokeDevice(d0!, T0 + 1)
          await s.revokeDevice(d0!, T0 + 2)
          await rejectsWith(s.revokeDevice('missing', T0), 'not-found')
          assert.equal((await s.getDevice(d0!))?.revokedAt, T0 + 1)
          assert.equal((await s.fetchMailbox(d0!, 0n, 10, T0)).length, 0)
          assert.equal(await s.countKeyPackages(d0!), 0)
          // The payload shared with d1 stays; the one only d0 had is gone.
          await h.releaseAcknowledged()
          assert.equal(await s.countRows('payloads'), 1)
          assert.equal(textOf((await s.fetchMailbox(d1!, 0n, 10, T0))[0]!.payload), 'shared')
          const claims = await s.claimKeyPackages('alice')
          assert.deepEqual(
            claims.map((c) => c.deviceId),
            [d1],
          )
          await rejectsWith(
            s.uploadKeyPackages({ deviceId: d0!, oneTime: [kp('c')], lastResort: null, maxOneTime: 5 }),
            'device-revoked',
          )
          await rejectsWith(s.enqueue([envelope([d0!], 'late')], T0), 'device-revoked')
          assert.equal(await s.ack(d0!, [1n]), 0)
        }))
    })

    describe('group ordering', () => {
      it('accepts the first commit per epoch and refuses the rest with the current epoch', () =>
        withStorage(async (s) => {
          const [d0, d1, d2] = await registerUser(s, 'alice', 3)
          const group = hash()
          assert.equal(await s.getGroupEpoch(group), null)
          const commit = (epoch: bigint, text: string, welcomeTo: string[] | null = null) =>
            s.submitCommit(
              {
                groupId: group,
                epoch,
                commit: envelope([d0!, d1!], text),
                welcome: welcomeTo ? envelope(welcomeTo, `welcome ${text}`) : null,
              },
              T0,
            )
          assert.deepEqual(await commit(0n, 'c0', [d2!]), { kind: 'accepted', epoch: 1n })
          assert.equal(await s.getGroupEpoch(group), 1n)
          assert.deepEqual(await commit(0n, 'late', [d2!]), { kind: 'conflict', currentEpoch: 1n })
          assert.deepEqual(await commit(5n, 'ahead'), { kind: 'conflict', currentEpoch: 1n })
          assert.deepEqual(await commit(1n, 'c1'), { kind: 'accepted', epoch: 2n })
          // Nothing of a refused commit or its Welcome was stored.
          const texts = async (id: string) =>
            (await s.fetchMailbox(id, 0n, 10, T0)).map((e) => textOf(e.payload))
          assert.deepEqual(await texts(d0!), ['c0', 'c1'])
          assert.deepEqual(await texts(d2!), ['welcome c0'])
          assert.equal(await s.countRows('payloads'), 3)
        }))

      it('a commit whose Welcome cannot be stored is refused whole, epoch unchanged', () =>
        withStorage(async (s) => {
          const [d0] = await registerUser(s, 'alice')
          const group = hash()
          await rejectsWith(
            s.submitCommit(
              {
                groupId: group,
                epoch: 3n,
                commit: envelope([d0!], 'c'),
                welcome: envelope(['missing'], 'w'),
              },
              T0,
            ),
            'not-found',
          )
          assert.equal(await s.getGroupEpoch(group), null)
          assert.equal(await s.countRows('mailbox'), 0)
          assert.equal(await s.countRows('payloads'), 0)
          assert.deepEqual(
            await s.submitCommit(
              { groupId: group, epoch: 3n, commit: envelope([d0!], 'c'), welcome: null },
              T0,
            ),
            { kind: 'accepted', epoch: 4n },
          )
        }))

      it('concurrent commits for one epoch: exactly one is accepted', () =>
        withStorage(async (s, h) => {
          const [d0] = await registerUser(s, 'alice')
          const group = hash()
          await s.submitCommit(
            { groupId: group, epoch: 7n, commit: envelope([d0!], 'base'), welcome: null },
            T0,
          )
          const other = await h.openAnother()
          try {
            const outcomes = await Promise.all(
              Array.from({ length: 20 }, (_, i) =>
                (i % 2 ? other : s).submitCommit(
                  { groupId: group, epoch: 8n, commit: envelope([d0!], `c${i}`), welcome: null },
                  T0,
                ),
              ),
            )
            assert.equal(outcomes.filter((o) => o.kind === 'accepted').length, 1)
            for (const o of outcomes) if (o.kind === 'conflict') assert.equal(o.currentEpoch, 9n)
            assert.equal(await s.getGroupEpoch(group), 9n)
            assert.equal((await s.fetchMailbox(d0!, 0n, 100, T0)).length, 2)
          } finally {
            await other.close()
          }
        }))
    })

    describe('blobs', () => {
      it('uploads in chunks, resumes at the stored offset, reads ranges across chunks', () =>
        withStorage(async (s) => {
          await registerUser(s, 'alice')
          const data = new Uint8Array(randomBytes(1000))
          const info = await s.createBlob({
            blobId: 'b1',
            owner: 'alice',
            declaredSize: 1000,
            now: T0,
            expiresAt: T0 + HOUR,
            quotaBytes: 10_000,
          })
          assert.deepEqual([info.receivedSize, info.complete], [0, false])
          await s.appendBlob('b1', 0, data.subarray(0, 300))
          await rejectsWith(s.appendBlob('b1', 0, data.subarray(0, 300)), 'offset-mismatch')
          await rejectsWith(s.appendBlob('b1', 400, data.subarray(400, 500)), 'offset-mismatch')
          // "Interrupted": the client asks where the upload stands and resumes there.
          const stand = await s.getBlob('b1', T0)
          assert.equal(stand?.receivedSize, 300)
          await rejectsWith(s.readBlob('b1', 0, 100), 'not-found')
          await s.appendBlob('b1', 300, data.subarray(300, 650))
          await rejectsWith(s.appendBlob('b1', 650, new Uint8Array(351)), 'limit-exceeded')
          const done = await s.appendBlob('b1', 650, data.subarray(650))
          assert.deepEqual([done.receivedSize, done.complete], [1000, true])
          assert.equal(await s.countRows('blob_chunks'), 3)
          assert.deepEqual(await s.readBlob('b1', 0, 1000), data)
          assert.deepEqual(await s.readBlob('b1', 299, 301), data.subarray(299, 301))
          assert.deepEqual(await s.readBlob('b1', 250, 700), data.subarray(250, 700))
          assert.deepEqual(await s.readBlob('b1', 999, 1000), data.subarray(999))
          await rejectsWith(s.readBlob('b1', 900, 1001), 'invalid-argument')
          await rejectsWith(s.readBlob('b1', 10, 10), 'invalid-argument')
          await s.deleteBlob('b1')
          assert.equal(await s.getBlob('b1', T0), null)
          assert.equal(await s.countRows('blob_chunks'), 0)
          await rejectsWith(s.deleteBlob('b1'), 'not-found')
          await rejectsWith(s.appendBlob('b1', 0, data), 'not-found')
        }))

      it('enforces quotas per account, refuses duplicates and unknown owners', () =>
        withStorage(async (s) => {
          await registerUser(s, 'alice')
          await registerUser(s, 'bob')
          const create = (blobId: string, owner: string, size: number, expiresAt = T0 + HOUR, now = T0) =>
            s.createBlob({ blobId, owner, declaredSize: size, now, expiresAt, quotaBytes: 1000 })
          await create('a1', 'alice', 600, T0 + 10)
          await rejectsWith(create('a2', 'alice', 401), 'limit-exceeded')
          await create('b1', 'bob', 1000)
          await create('a2', 'alice', 400)
          await rejectsWith(create('a2', 'alice', 1), 'already-exists')
          await rejectsWith(create('x', 'nobody', 1), 'not-found')
          // Expired blobs no longer count against the quota.
          await create('a3', 'alice', 600, T0 + HOUR, T0 + 10)
        }))

      it('expires by `now` and is swept with its chunks', () =>
        withStorage(async (s) => {
          await registerUser(s, 'alice')
          await s.createBlob({
            blobId: 'b',
            owner: 'alice',
            declaredSize: 4,
            now: T0,
            expiresAt: T0 + 10,
            quotaBytes: 100,
          })
          await s.appendBlob('b', 0, bytesOf('ab'), T0 + 1)
          await rejectsWith(s.appendBlob('b', 2, bytesOf('cd'), T0 + 10), 'not-found')
          await s.appendBlob('b', 2, bytesOf('cd'), T0 + 9)
          assert.equal(textOf(await s.readBlob('b', 0, 4, T0 + 9)), 'abcd')
          await rejectsWith(s.readBlob('b', 0, 4, T0 + 10), 'not-found')
          assert.equal(await s.getBlob('b', T0 + 10), null)
          assert.deepEqual(await s.sweepExpired(T0 + 10), { envelopes: 0, blobs: 1, sessions: 0 })
          assert.equal(await s.countRows('blob_chunks'), 0)
        }))
    })

    it('refuses every call once closed (unavailable)', async () => {
      const h = await open()
      const s = h.storage
      await s.close()
      await rejectsWith(s.getAccount('alice'), 'unavailable')
      await rejectsWith(s.enqueue([envelope(['x'], 'late')], T0), 'unavailable')
      await h.close()
    })
  })
}
