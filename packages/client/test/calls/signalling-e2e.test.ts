/**
 * `client.calls` end to end: a real server process, two SDK clients in a 1:1 conversation. A
 * signal arrives as sent, attributed to the MLS-authenticated sender device; a signal that does
 * not decode is reported and kept out of the history; both sides derive the same exporter secret
 * in the same epoch, a commit raises an epoch event on both and changes the secret; a server
 * without TURN hands out no ICE servers; the call log a device records survives a restart and is
 * bounded.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { nodeBackend } from '@tacit/crypto/node/backend'
import {
  type CallEpochEvent,
  type CallSignalEvent,
  MAX_CALL_LOG_ENTRIES,
  MAX_CALL_LOG_TEXT_CHARS,
} from '../../src/calls/call-signalling.ts'
import { TacitClient } from '../../src/client.ts'
import { ClientError } from '../../src/errors.ts'
import { nodeTransport } from '../../src/node/ws-transport.ts'
import { createAccount } from '../support/clients.ts'
import { type ServerProcess, startServer, waitFor } from '../support/server.ts'

const LABEL = 'SFrame 1.0 Base Key'

describe('call signalling over MLS', () => {
  let server: ServerProcess
  const clients: TacitClient[] = []
  let alice: TacitClient
  let bob: TacitClient
  let id = ''

  before(async () => {
    server = await startServer()
    alice = (await createAccount(server.url, await server.invite(), 'alice')).client
    bob = (await createAccount(server.url, await server.invite(), 'bob')).client
    clients.push(alice, bob)
    id = await alice.createConversation({ members: ['bob'] })
    await bob.sync()
  })

  after(async () => {
    await Promise.all(clients.map((c) => c.close()))
    await server?.stop()
  })

  it('delivers a signal to the other member, from the authenticated sender device', async () => {
    const got: CallSignalEvent[] = []
    const off = bob.calls.on('signal', (e) => got.push(e))
    const callId = alice.calls.newCallId()
    const invite = { kind: 'invite', callId, to: null, media: { audio: true, video: true } } as const
    await alice.calls.send(id, invite)
    await waitFor(async () => {
      await bob.sync()
      return got.length > 0
    }, 'the invite')
    off()
    const [e] = got
    assert.equal(e!.conversationId, id)
    assert.deepEqual(e!.signal, invite)
    assert.deepEqual(e!.from, alice.calls.self)
    assert.equal(e!.from.handle, 'alice')
    assert.equal(e!.stale, false)
    // Signals are not messages: nothing was added to the history on either side.
    assert.equal((await bob.history(id)).length, 0)
    assert.equal((await alice.history(id)).length, 0)
  })

  it('reports a signal that does not decode, and nothing else happens', async () => {
    const errors: string[] = []
    const signals: CallSignalEvent[] = []
    const offs = [
      bob.calls.on('signal-error', (e) => errors.push(e.code)),
      bob.calls.on('signal', (e) => signals.push(e)),
    ]
    await alice.calls.sendEncoded(id, Uint8Array.of(9, 1, ...new Uint8Array(16), 0, 3))
    await waitFor(async () => {
      await bob.sync()
      return errors.length > 0
    }, 'the signal error')
    for (const off of offs) off()
    assert.deepEqual(errors, ['unknown-version'])
    assert.equal(signals.length, 0)
  })

  it('gives both sides the same exporter secret per epoch, and a new one after a commit', async () => {
    const context = Uint8Array.of(1, 2, 3)
    const a1 = await alice.calls.keyMaterial(id, LABEL, context, 32)
    const b1 = await bob.calls.keyMaterial(id, LABEL, context, 32)
    assert.equal(a1.epoch, b1.epoch)
    assert.deepEqual(a1.secret, b1.secret)
    assert.equal(a1.secret.length, 32)
    assert.notEqual(a1.ownLeafIndex, b1.ownLeafIndex)
    assert.deepEqual(
      a1.members.map((m) => [m.handle, m.memberId, m.leafIndex]).sort(),
      b1.members.map((m) => [m.handle, m.memberId, m.leafIndex]).sort(),
    )
    assert.equal(a1.members.find((m) => m.memberId === bob.calls.self.memberId)?.leafIndex, b1.ownLeafIndex)
    // Another context gives another secret (each call its own keys).
    const other = await alice.calls.keyMaterial(id, LABEL, Uint8Array.of(1, 2, 4), 32)
    assert.notDeepEqual(other.secret, a1.secret)

    const aliceEpochs: CallEpochEvent[] = []
    const bobEpochs: CallEpochEvent[] = []
    const offs = [
      alice.calls.on('epoch', (e) => aliceEpochs.push(e)),
      bob.calls.on('epoch', (e) => bobEpochs.push(e)),
    ]
    await bob.updateOwnLeaf(id)
    await waitFor(async () => {
      await alice.sync()
      return aliceEpochs.length > 0
    }, 'alice sees the new epoch')
    for (const off of offs) off()
    assert.deepEqual(bobEpochs, [{ conversationId: id, epoch: a1.epoch + 1n }])
    assert.deepEqual(aliceEpochs, [{ conversationId: id, epoch: a1.epoch + 1n }])
    const a2 = await alice.calls.keyMaterial(id, LABEL, context, 32)
    const b2 = await bob.calls.keyMaterial(id, LABEL, context, 32)
    assert.equal(a2.epoch, a1.epoch + 1n)
    assert.deepEqual(a2.secret, b2.secret)
    assert.notDeepEqual(a2.secret, a1.secret)
  })

  it('hands out no ICE servers when the server has no TURN', async () => {
    assert.deepEqual(await alice.calls.turnCredentials(), { iceServers: [], expiresAt: 0 })
  })

  it('keeps the call log on the device: in order, across a restart, per conversation, bounded', async () => {
    const other = await bob.createConversation({ members: ['alice'] })
    const missed = await bob.calls.record(id, 'missed', 'Missed call from alice')
    const ended = await bob.calls.record(id, 'ended', 'Call ended (0:42)')
    await bob.calls.record(other, 'declined', 'You declined')
    assert.match(missed.id, /^[0-9a-f]{16}$/)
    assert.equal(missed.conversationId, id)
    assert.ok(ended.at >= missed.at)

    // The log is this device's own: nothing reached alice, and nothing became a message.
    assert.deepEqual(await alice.calls.log(id), [])
    assert.equal((await bob.history(id)).length, 0)

    // Bad input changes nothing.
    for (const [kind, text] of [
      ['rang', 'x'],
      ['missed', 'x'.repeat(MAX_CALL_LOG_TEXT_CHARS + 1)],
    ] as const) {
      await assert.rejects(bob.calls.record(id, kind as 'missed', text), (e: unknown) =>
        ClientError.is(e, 'usage'),
      )
    }
    await assert.rejects(bob.calls.record('no-such-conversation', 'missed', 'x'), (e: unknown) =>
      ClientError.is(e, 'usage'),
    )

    // Bob's device restarts: the log is read back from its encrypted store.
    const store = (bob as unknown as { store: never }).store
    await bob.close()
    bob = await TacitClient.open({ store, backend: nodeBackend, transport: nodeTransport() })
    clients.push(bob)
    assert.deepEqual(await bob.calls.log(id), [missed, ended])
    assert.deepEqual(
      (await bob.calls.log(other)).map((e) => [e.kind, e.text]),
      [['declined', 'You declined']],
    )

    // Past the bound the oldest entries go.
    for (let i = 0; i < MAX_CALL_LOG_ENTRIES; i++) await bob.calls.record(other, 'no-answer', `call ${i}`)
    const bounded = await bob.calls.log(other)
    assert.equal(bounded.length, MAX_CALL_LOG_ENTRIES)
    assert.deepEqual([bounded[0]!.text, bounded.at(-1)!.text], ['call 0', `call ${MAX_CALL_LOG_ENTRIES - 1}`])
  })
})
