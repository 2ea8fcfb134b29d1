/**
 * Node-only interop check against the HPKE library ts-mls 1.6.4's default provider uses
 * (@hpke/core 1.9.0, @hpke/hybridkem-x-wing 0.7.0): same DeriveKeyPair output, and ciphertexts
 * and exported secrets that open on the other side, for the default suite's HPKE
 * (X-Wing, HKDF-SHA512, AES-256-GCM) and for DHKEM(X25519). Not a runtime-neutral case: it
 * imports the reference library, which the browser bundle does not need.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256, HkdfSha512 } from '@hpke/core'
import { XWing } from '@hpke/hybridkem-x-wing'
import { utf8 } from '../src/bytes.ts'
import { createHpkeSuite, openBase, receiveExportBase, sealBase, sendExportBase } from '../src/hpke/hpke.ts'
import { nodeBackend } from '../src/node/backend.ts'

const buf = (b: Uint8Array): ArrayBuffer => b.slice().buffer as ArrayBuffer

const CASES = [
  {
    name: 'X-Wing / HKDF-SHA512 / AES-256-GCM (suite 83)',
    ours: createHpkeSuite(nodeBackend, { kem: 'X-Wing', kdf: 'HKDF-SHA512', aead: 'AES-256-GCM' }),
    theirs: new CipherSuite({ kem: new XWing(), kdf: new HkdfSha512(), aead: new Aes256Gcm() }),
  },
  {
    name: 'DHKEM(X25519) / HKDF-SHA256 / AES-256-GCM',
    ours: createHpkeSuite(nodeBackend, {
      kem: 'DHKEM-X25519-HKDF-SHA256',
      kdf: 'HKDF-SHA256',
      aead: 'AES-256-GCM',
    }),
    theirs: new CipherSuite({
      kem: new DhkemX25519HkdfSha256(),
      kdf: new HkdfSha256(),
      aead: new Aes256Gcm(),
    }),
  },
] as const

describe('HPKE interop with @hpke (ts-mls 1.6.4 default provider)', () => {
  for (const { name, ours, theirs } of CASES) {
    test(`${name}: DeriveKeyPair, seal/open and export both ways`, async () => {
      const ikm = nodeBackend.randomBytes(32)
      const mine = await ours.kem.deriveKeyPair(ikm)
      const theirsKp = await theirs.kem.deriveKeyPair(buf(ikm))
      assert.deepEqual(
        new Uint8Array(await theirs.kem.serializePrivateKey(theirsKp.privateKey)),
        mine.privateKey,
      )
      assert.deepEqual(
        new Uint8Array(await theirs.kem.serializePublicKey(theirsKp.publicKey)),
        mine.publicKey,
      )

      const info = utf8.encode('MLS 1.0 interop')
      const aad = utf8.encode('aad')
      const pt = nodeBackend.randomBytes(100)

      // Theirs seals, ours opens.
      const sealed = await theirs.seal(
        { recipientPublicKey: theirsKp.publicKey, info: buf(info) },
        buf(pt),
        buf(aad),
      )
      const opened = await openBase(
        ours,
        new Uint8Array(sealed.enc),
        mine.privateKey,
        mine.publicKey,
        info,
        aad,
        new Uint8Array(sealed.ct),
      )
      assert.deepEqual(opened, pt)

      // Ours seals, theirs opens.
      const ourSealed = await sealBase(ours, mine.publicKey, info, aad, pt)
      const theirOpened = await theirs.open(
        { recipientKey: theirsKp.privateKey, enc: buf(ourSealed.enc), info: buf(info) },
        buf(ourSealed.ct),
        buf(aad),
      )
      assert.deepEqual(new Uint8Array(theirOpened), pt)

      // Secret export both ways (ts-mls exportSecret / importSecret).
      const ctx = utf8.encode('exporter context')
      const sender = await theirs.createSenderContext({
        recipientPublicKey: theirsKp.publicKey,
        info: buf(info),
      })
      const theirSecret = new Uint8Array(await sender.export(buf(ctx), 32))
      const ourSecret = await receiveExportBase(
        ours,
        new Uint8Array(sender.enc),
        mine.privateKey,
        mine.publicKey,
        info,
        ctx,
        32,
      )
      assert.deepEqual(ourSecret, theirSecret)
      const ourExport = await sendExportBase(ours, mine.publicKey, info, ctx, 32)
      const recipient = await theirs.createRecipientContext({
        recipientKey: theirsKp.privateKey,
        enc: buf(ourExport.enc),
        info: buf(info),
      })
      assert.deepEqual(new Uint8Array(await recipient.export(buf(ctx), 32)), ourExport.secret)
    })
  }
})
