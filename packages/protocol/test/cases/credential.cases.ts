import type { CryptoBackend } from '@tacit/crypto/backend'
import { type CaseGroup, check, checkEqual, checkRejects } from '../../../../tests/harness/cases.ts'
import { checkMlsCredential, createAuthenticationService } from '../../src/authentication.ts'
import type { TacitSuiteName } from '../../src/cipher-suite.ts'
import {
  decodeCredential,
  encodeCredential,
  generateIdentityKeyPair,
  issueCredential,
} from '../../src/credential.ts'
import { ProtocolError } from '../../src/errors.ts'
import { createCommit, processMessage } from '../../src/group.ts'
import { createKeyPackage, generateSignatureKeyPair } from '../../src/key-package.ts'
import { Conversation } from './conversation.ts'
import { createWorld } from './world.ts'

export function credentialCases(backend: CryptoBackend, suite: TacitSuiteName): CaseGroup {
  return {
    name: `protocol credentials and authentication [${backend.name}, ${suite}]`,
    cases: [
      {
        name: 'a credential round-trips and verifies; every rejection reason is reported',
        async run() {
          const world = await createWorld(backend, suite)
          const identity = await world.user('alice')
          const sig = await generateSignatureKeyPair(world.suite)
          const c = await issueCredential(backend, identity, {
            handle: 'alice',
            deviceId: 'laptop',
            signatureKey: sig.publicKey,
          })
          const bytes = encodeCredential(c)
          const back = decodeCredential(bytes)
          checkEqual(back.handle, 'alice', 'handle')
          checkEqual(back.deviceId, 'laptop', 'device')
          const resolve = (h: string) => world.directory.get(h) ?? null
          const basic = (identityBytes: Uint8Array) => ({
            credentialType: 'basic' as const,
            identity: identityBytes,
          })
          checkEqual(
            (await checkMlsCredential(backend, resolve, basic(bytes), sig.publicKey)).ok,
            true,
            'valid',
          )

          const other = await generateSignatureKeyPair(world.suite)
          checkEqual(
            (await checkMlsCredential(backend, resolve, basic(bytes), other.publicKey)).reason,
            'signature-key-mismatch',
            'leaf key differs',
          )
          const tampered = bytes.slice()
          tampered[tampered.length - 1] = tampered[tampered.length - 1]! ^ 1
          checkEqual(
            (await checkMlsCredential(backend, resolve, basic(tampered), sig.publicKey)).reason,
            'bad-identity-signature',
            'tampered signature',
          )
          checkEqual(
            (await checkMlsCredential(backend, () => null, basic(bytes), sig.publicKey)).reason,
            'unknown-handle',
            'unknown handle',
          )
          const impostor = await generateIdentityKeyPair(backend)
          checkEqual(
            (await checkMlsCredential(backend, () => impostor.publicKey, basic(bytes), sig.publicKey)).reason,
            'identity-key-mismatch',
            'server substituted the identity key',
          )
          checkEqual(
            (
              await checkMlsCredential(
                backend,
                resolve,
                { credentialType: 'x509', certificates: [] },
                sig.publicKey,
              )
            ).reason,
            'not-basic',
            'x509',
          )
          checkEqual(
            (await checkMlsCredential(backend, resolve, basic(bytes.subarray(0, 10)), sig.publicKey)).reason,
            'malformed',
            'truncated',
          )
          await checkRejects(
            () =>
              issueCredential(backend, identity, {
                handle: 'Alice!',
                deviceId: 'x',
                signatureKey: sig.publicKey,
              }),
            (e) => ProtocolError.is(e, 'malformed'),
            'invalid handle',
          )
        },
      },
      {
        name: 'a KeyPackage whose credential is signed by an identity the directory does not know is refused',
        async run() {
          const world = await createWorld(backend, suite)
          const alice = await world.device('alice')
          const convo = await Conversation.start(alice)
          // eve signs a credential claiming "bob" with her own identity key.
          await world.user('bob')
          const eveIdentity = await generateIdentityKeyPair(backend)
          const sig = await generateSignatureKeyPair(world.suite)
          const forged = await issueCredential(backend, eveIdentity, {
            handle: 'bob',
            deviceId: 'x',
            signatureKey: sig.publicKey,
          })
          const kp = await createKeyPackage({
            suite: world.suite,
            credential: forged,
            signatureKeyPair: sig,
            lastResort: false,
            now: Math.floor(Date.now() / 1000),
          })
          const rejected: string[] = []
          const auth = createAuthenticationService({
            backend,
            identityOf: (h) => world.directory.get(h) ?? null,
            onReject: (handle, reason) => rejected.push(`${handle}:${reason}`),
          })
          await checkRejects(
            () => createCommit(convo.member('alice').group, { ...alice.config, auth }, { add: [kp.encoded] }),
            (e) => ProtocolError.is(e, 'credential-rejected'),
            'forged KeyPackage',
          )
          check(rejected.includes('bob:identity-key-mismatch'), 'the alert names the handle and the reason')
        },
      },
      {
        name: 'a member processing a commit that adds several people prefetches their handles at once, first',
        async run() {
          const world = await createWorld(backend, suite)
          const alice = await world.device('alice')
          const convo = await Conversation.start(alice)
          await convo.add(convo.member('alice'), [await world.device('bob')])
          const bob = convo.member('bob')
          const newcomers = [
            await world.device('carol'),
            await world.device('dave'),
            await world.device('erin'),
          ]
          const kps = await Promise.all(newcomers.map((d) => d.keyPackage()))
          const r = await createCommit(convo.member('alice').group, alice.config, {
            add: kps.map((k) => k.encoded),
          })
          // bob's directory: what it was asked, in order.
          const asked: string[] = []
          const auth = createAuthenticationService({
            backend,
            identityOf: (h) => {
              asked.push(`one:${h}`)
              return world.directory.get(h) ?? null
            },
            prefetch: async (handles) => {
              asked.push(`many:${[...handles].sort().join(',')}`)
            },
          })
          const got = await processMessage(bob.group, { ...bob.device.config, auth }, r.commit)
          checkEqual(got.kind, 'commit', 'processed')
          checkEqual(
            asked[0],
            'many:carol,dave,erin',
            'the three added handles, in one prefetch, before any check',
          )
          checkEqual(asked.filter((a) => a.startsWith('many:')).length, 1, 'one prefetch')
          // A prefetch that fails changes nothing: the checks still run and decide.
          const failing = createAuthenticationService({
            backend,
            identityOf: (h) => world.directory.get(h) ?? null,
            prefetch: async () => {
              throw new Error('the directory is unreachable')
            },
          })
          const again = await processMessage(bob.group, { ...bob.device.config, auth: failing }, r.commit)
          checkEqual(again.kind, 'commit', 'processed despite the failed prefetch')
        },
      },
    ],
  }
}
