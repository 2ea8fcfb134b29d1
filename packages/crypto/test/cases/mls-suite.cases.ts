import { type CaseGroup, check, checkBytes, checkEqual } from '../../../../tests/harness/cases.ts'
import type { CryptoBackend } from '../../src/backend.ts'
import { concatBytes, hexToBytes, utf8 } from '../../src/bytes.ts'
import { CryptoError } from '../../src/errors.ts'
import { createMlsSuiteCrypto, type MlsSuiteCrypto } from '../../src/mls-suite.ts'
import { MLS_SUITES } from '../../src/suites.ts'
import { expectCryptoError } from './_wycheproof.ts'

/**
 * Properties of `createMlsSuiteCrypto` that ts-mls relies on (shapes of ts-mls 1.6.4's
 * CiphersuiteImpl): key and output lengths, HPKE handle round trips, seal/open and
 * exportSecret/importSecret agreement, typed failures, and no unsupported suite slipping through.
 */

const EXPECTED: Readonly<
  Record<number, { kdfSize: number; keyLength: number; signKey: number; hpkeSk: number }>
> = {
  1: { kdfSize: 32, keyLength: 16, signKey: 32, hpkeSk: 32 },
  2: { kdfSize: 32, keyLength: 16, signKey: 32, hpkeSk: 32 },
  3: { kdfSize: 32, keyLength: 32, signKey: 32, hpkeSk: 32 },
  4: { kdfSize: 64, keyLength: 32, signKey: 57, hpkeSk: 56 },
  5: { kdfSize: 64, keyLength: 32, signKey: 66, hpkeSk: 66 },
  6: { kdfSize: 64, keyLength: 32, signKey: 57, hpkeSk: 56 },
  7: { kdfSize: 48, keyLength: 32, signKey: 48, hpkeSk: 48 },
  83: { kdfSize: 64, keyLength: 32, signKey: 32, hpkeSk: 32 },
}

async function checkSuite(cs: MlsSuiteCrypto, id: number): Promise<void> {
  const want = EXPECTED[id]
  check(want !== undefined, `expectations for suite ${id}`)
  checkEqual(cs.kdf.size, want.kdfSize, `${cs.name} kdf.size`)
  checkEqual(cs.hpke.keyLength, want.keyLength, `${cs.name} keyLength`)
  checkEqual(cs.hpke.nonceLength, 12, `${cs.name} nonceLength`)
  checkEqual(cs.rng.randomBytes(17).length, 17, 'rng')

  const { publicKey, signKey } = await cs.signature.keygen()
  checkEqual(signKey.length, want.signKey, `${cs.name} signKey length`)
  const msg = utf8.encode('content')
  check(
    await cs.signature.verify(publicKey, msg, await cs.signature.sign(signKey, msg)),
    `${cs.name} sign/verify`,
  )

  const kp = await cs.hpke.generateKeyPair()
  const sk = await cs.hpke.exportPrivateKey(kp.privateKey)
  const pk = await cs.hpke.exportPublicKey(kp.publicKey)
  checkEqual(sk.length, want.hpkeSk, `${cs.name} HPKE private key length`)
  // Handles hold no key bytes: printing or serialising one reveals nothing.
  check(!Object.values(kp.privateKey).some((v) => v instanceof Uint8Array), 'private handle carries no bytes')
  const priv2 = await cs.hpke.importPrivateKey(sk)
  const pub2 = await cs.hpke.importPublicKey(pk)
  checkBytes(await cs.hpke.exportPublicKey(pub2), pk, 'public round trip')
  const info = utf8.encode('info')
  const sealed = await cs.hpke.seal(pub2, msg, info)
  checkBytes(await cs.hpke.open(priv2, sealed.enc, sealed.ct, info), msg, `${cs.name} HPKE seal/open`)
  checkBytes(
    await cs.hpke.open(kp.privateKey, sealed.enc, sealed.ct, info, new Uint8Array()),
    msg,
    'aad absent = empty',
  )
  await expectCryptoError(
    () => cs.hpke.open(priv2, sealed.enc, sealed.ct, utf8.encode('other')),
    ['aead-auth-failed'],
  )
  const exp = await cs.hpke.exportSecret(kp.publicKey, utf8.encode('ctx'), 32, info)
  checkBytes(
    await cs.hpke.importSecret(priv2, utf8.encode('ctx'), exp.enc, 32, info),
    exp.secret,
    'export secret',
  )

  const ikm = hexToBytes('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f')
  const d1 = await cs.hpke.deriveKeyPair(ikm)
  const d2 = await cs.hpke.deriveKeyPair(ikm)
  checkBytes(
    await cs.hpke.exportPublicKey(d1.publicKey),
    await cs.hpke.exportPublicKey(d2.publicKey),
    'derive is deterministic',
  )
  await expectCryptoError(() => cs.hpke.deriveKeyPair(ikm.subarray(1)), ['invalid-length'])

  const key = cs.rng.randomBytes(cs.hpke.keyLength)
  const nonce = cs.rng.randomBytes(cs.hpke.nonceLength)
  const ct = await cs.hpke.encryptAead(key, nonce, undefined, msg)
  checkBytes(await cs.hpke.decryptAead(key, nonce, new Uint8Array(), ct), msg, 'raw AEAD')
  await expectCryptoError(() => cs.hpke.decryptAead(key, nonce, utf8.encode('x'), ct), ['aead-auth-failed'])

  await expectCryptoError(() => cs.hpke.importPublicKey(pk.subarray(1)), ['invalid-length'])
  const mac = await cs.hash.mac(key, msg)
  // In every suite of the table the MLS hash is the KDF's hash.
  checkEqual(mac.length, want.kdfSize, 'mac length')
  check(await cs.hash.verifyMac(key, mac, msg), 'verifyMac')
  check(!(await cs.hash.verifyMac(key, mac.subarray(1), msg)), 'verifyMac rejects a short MAC')
}

export function mlsSuiteCases(backend: CryptoBackend): CaseGroup {
  return {
    name: `createMlsSuiteCrypto properties (${backend.name})`,
    cases: [
      {
        name: 'every suite in the table: lengths, key handles, HPKE and signature round trips',
        run: async (env) => {
          let ran = 0
          let unsupported = 0
          for (const suite of MLS_SUITES) {
            let cs: MlsSuiteCrypto
            try {
              cs = createMlsSuiteCrypto(backend, suite.id)
            } catch (error) {
              check(CryptoError.is(error, 'unsupported-algorithm'), `${suite.name}: ${String(error)}`)
              unsupported++
              continue
            }
            checkEqual(cs.name, suite.name, 'name')
            checkEqual(createMlsSuiteCrypto(backend, suite.name).name, suite.name, 'lookup by name')
            await checkSuite(cs, suite.id)
            ran++
          }
          env.log(`mls suites: ran ${ran}, unsupported by ${backend.name} ${unsupported} (asserted)`)
          check(ran > 0, 'at least one suite runs')
        },
      },
      {
        name: 'unknown or unimplemented suites throw unsupported-algorithm',
        run: async () => {
          for (const id of [0, 8, 77, 79, 84, 87, 0xf00d]) {
            await expectCryptoError(() => createMlsSuiteCrypto(backend, id), ['unsupported-algorithm'])
          }
          await expectCryptoError(
            () => createMlsSuiteCrypto(backend, 'MLS_NOT_A_SUITE'),
            ['unsupported-algorithm'],
          )
        },
      },
      {
        name: 'handles from another suite are refused; P-521 keys are left-padded; PKCS#8 Ed25519 keys sign',
        run: async () => {
          let a: MlsSuiteCrypto
          let b: MlsSuiteCrypto
          try {
            a = createMlsSuiteCrypto(backend, 1)
            b = createMlsSuiteCrypto(backend, 5)
          } catch (error) {
            check(CryptoError.is(error, 'unsupported-algorithm'), String(error))
            return
          }
          const kp = await a.hpke.generateKeyPair()
          await expectCryptoError(
            () => b.hpke.seal(kp.publicKey, new Uint8Array(1), new Uint8Array()),
            ['invalid-key'],
          )

          // P-521: a 65-byte scalar (leading zero dropped) imports as its 66-byte form.
          const p = await b.hpke.generateKeyPair()
          const sk = await b.hpke.exportPrivateKey(p.privateKey)
          const padded = concatBytes(new Uint8Array(1), sk.subarray(1))
          const short = padded.subarray(1)
          const imported = await b.hpke.importPrivateKey(short)
          checkBytes(await b.hpke.exportPrivateKey(imported), padded, 'P-521 private key padded to 66 bytes')
          await expectCryptoError(() => b.hpke.importPrivateKey(padded.subarray(3)), ['invalid-length'])

          // The same for a P-521 signature key given without its leading zero byte.
          const s = await b.signature.keygen()
          const sPadded = concatBytes(new Uint8Array(1), s.signKey.subarray(1))
          const sig = await b.signature.sign(sPadded.subarray(1), utf8.encode('m'))
          if (s.signKey[0] === 0)
            check(await b.signature.verify(s.publicKey, utf8.encode('m'), sig), 'short P-521 key signs')
          check(
            await b.signature.verify(
              await backend.signature.publicKeyOf('P-521', sPadded),
              utf8.encode('m'),
              sig,
            ),
            'a 65-byte P-521 signature key is read as the 66-byte scalar',
          )
          await expectCryptoError(
            () => b.signature.sign(sPadded.subarray(3), utf8.encode('m')),
            ['invalid-length'],
          )

          // ts-mls's default provider stores Ed25519 keys as PKCS#8 (RFC 8410) on WebCrypto.
          const { publicKey, signKey } = await a.signature.keygen()
          const pkcs8 = concatBytes(hexToBytes('302e020100300506032b657004220420'), signKey)
          const msg = utf8.encode('m')
          checkBytes(
            await a.signature.sign(pkcs8, msg),
            await a.signature.sign(signKey, msg),
            'PKCS#8 and raw seed sign alike',
          )
          check(await a.signature.verify(publicKey, msg, await a.signature.sign(pkcs8, msg)), 'verifies')
        },
      },
    ],
  }
}
