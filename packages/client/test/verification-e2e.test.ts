/**
 * Verification through the SDK end to end (docs/protocol/verification.md): the real server
 * process on 127.0.0.1, real accounts. Safety numbers must agree on both sides; a QR code or the
 * digits mark a contact verified only when they match; a verified contact's new device and a
 * substituted identity key (a man in the middle in the key directory) raise alerts.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { nodeBackend } from '@tacit/crypto/node/backend'
import { bytesToBase64url } from '@tacit/protocol/wire/encoding'
import { ClientError, TacitClient } from '../src/client.ts'
import { nodeTransport } from '../src/node/ws-transport.ts'
import { createAccount, newStore } from './support/clients.ts'
import { mitmTransport, substituteIdentityKey } from './support/mitm.ts'
import { type ServerProcess, startServer, waitFor } from './support/server.ts'

describe('verification through the SDK', () => {
  let server: ServerProcess
  const clients: TacitClient[] = []
  type Account = Awaited<ReturnType<typeof createAccount>>
  let alice: Account
  let bob: Account
  let carol: Account
  const bobMitm = mitmTransport()

  before(async () => {
    server = await startServer()
    alice = await createAccount(server.url, await server.invite(), 'alice')
    bob = await createAccount(server.url, await server.invite(), 'bob', undefined, { transport: bobMitm })
    carol = await createAccount(server.url, await server.invite(), 'carol')
    clients.push(alice.client, bob.client, carol.client)
  })

  after(async () => {
    await Promise.all(clients.map((c) => c.close()))
    await server.stop()
  })

  it('both sides compute the same safety number; each shows its own code', async () => {
    const fromAlice = await alice.client.safetyNumber('bob')
    const fromBob = await bob.client.safetyNumber('alice')
    assert.match(fromAlice.digits, /^\d{60}$/)
    assert.equal(fromAlice.digits, fromBob.digits)
    assert.deepEqual(fromAlice.groups, fromBob.groups)
    assert.equal(fromAlice.qrPayload.length, 69)
    assert.notDeepEqual(fromAlice.qrPayload, fromBob.qrPayload)
    assert.equal(fromAlice.qrText, Buffer.from(fromAlice.qrPayload).toString('hex'))
    assert.deepEqual(fromAlice.identityKey, bob.client.identityKey)
    // Another pair, another number.
    assert.notEqual((await alice.client.safetyNumber('carol')).digits, fromAlice.digits)
    await assert.rejects(alice.client.safetyNumber('alice'), (e) => ClientError.is(e, 'usage'))
    await assert.rejects(alice.client.safetyNumber('nobody'), (e) => ClientError.is(e, 'unknown-handle'))
  })

  it('a wrong code or wrong digits do not verify; the right QR code does', async () => {
    const aliceShows = await alice.client.safetyNumber('bob')
    const bobShows = await bob.client.safetyNumber('alice')
    const carolShows = await carol.client.safetyNumber('bob')
    const flipped = aliceShows.qrPayload.slice()
    flipped[20]! ^= 0x01
    for (const wrong of [flipped, carolShows.qrPayload, bobShows.qrPayload]) {
      await assert.rejects(bob.client.verifyContact('alice', wrong), (e) =>
        ClientError.is(e, 'verification-failed'),
      )
    }
    const wrongDigits = `${aliceShows.digits.slice(0, 59)}${(Number(aliceShows.digits[59]) + 1) % 10}`
    await assert.rejects(bob.client.verifyContact('alice', wrongDigits), (e) =>
      ClientError.is(e, 'verification-failed'),
    )
    await assert.rejects(bob.client.verifyContact('alice', 'not a code'), (e) =>
      ClientError.is(e, 'malformed'),
    )
    assert.equal((await bob.client.contact('alice')).verified, false, 'nothing was marked')

    const contact = await bob.client.verifyContact('alice', aliceShows.qrText)
    assert.equal(contact.verified, true)
    assert.equal(typeof contact.verifiedAt, 'number')
    const listed = await bob.client.contacts()
    assert.ok(!listed.some((c) => c.handle === 'bob'), 'the user is not their own contact')
    assert.deepEqual(
      listed.filter((c) => c.verified).map((c) => c.handle),
      ['alice'],
    )
    // The typed digits work the same way (spaces allowed).
    const spaced = aliceShows.groups.join(' ')
    assert.equal((await alice.client.verifyContact('bob', spaced)).verified, true)
  })

  it('the verified state is kept in the store', async () => {
    const again = await TacitClient.open({
      store: bob.store,
      backend: nodeBackend,
      transport: nodeTransport(),
    })
    clients.push(again)
    const alice2 = (await again.contacts()).find((c) => c.handle === 'alice')
    assert.equal(alice2?.verified, true)
    await again.close()
  })

  it("a verified contact's new device raises an alert once; the verification stands", async () => {
    const id = await alice.client.createConversation({ members: ['bob'] })
    await bob.client.sync()
    const laptopStore = await newStore()
    const { code } = await TacitClient.beginDeviceLink({
      serverUrl: server.url,
      store: laptopStore,
      backend: nodeBackend,
    })
    const answer = await alice.client.approveDeviceLink(code)
    const laptop = await TacitClient.completeDeviceLink({
      answer,
      store: laptopStore,
      backend: nodeBackend,
      transport: nodeTransport(),
    })
    clients.push(laptop)
    await bob.client.sync() // the commit that adds alice's laptop to the conversation
    await waitFor(
      () => bob.recorder.events.alert.some((a) => a.kind === 'device-added' && a.handle === 'alice'),
      "bob's device-added alert",
    )
    const added = bob.recorder.events.alert.filter((a) => a.kind === 'device-added')
    assert.equal(added.length, 1)
    assert.equal((await bob.client.contact('alice')).verified, true)
    assert.deepEqual(await bob.client.checkContacts(), [], 'told once, not on every lookup')
    // Carol never verified alice: she is not told about alice's devices.
    assert.ok(!carol.recorder.events.alert.some((a) => a.kind === 'device-added'))
    assert.ok((await bob.client.listConversations()).some((c) => c.id === id))
  })

  it('a substituted identity key in the directory raises an alert and voids the verification', async () => {
    const before = (await bob.client.safetyNumber('alice')).digits
    const forged = new Uint8Array(32).fill(7)
    bobMitm.set(substituteIdentityKey('alice', bytesToBase64url(forged)))
    let alerts: Awaited<ReturnType<TacitClient['checkContacts']>>
    try {
      alerts = await bob.client.checkContacts()
    } finally {
      bobMitm.set(null)
    }
    assert.deepEqual(alerts, [{ kind: 'identity-changed', handle: 'alice', wasVerified: true }])
    assert.ok(
      bob.recorder.events.alert.some(
        (a) => a.kind === 'identity-changed' && a.handle === 'alice' && a.wasVerified,
      ),
    )
    const contact = await bob.client.contact('alice')
    assert.equal(contact.verified, false, 'the verification is void')
    assert.deepEqual(contact.identityKey, alice.client.identityKey, 'the forged key was not adopted')
    assert.equal((await bob.client.safetyNumber('alice')).digits, before)
    // Verifying again is possible once the directory serves the real key again.
    const code = (await alice.client.safetyNumber('bob')).qrPayload
    assert.equal((await bob.client.verifyContact('alice', code)).verified, true)
  })
})
