import { type CaseGroup, check, checkBytes, checkEqual } from '../../../../tests/harness/cases.ts'
import type { CryptoBackend } from '../../src/backend.ts'
import { hexToBytes } from '../../src/bytes.ts'
import { CryptoError } from '../../src/errors.ts'
import {
  aeadNameOf,
  createHpkeSuite,
  type HpkeSuite,
  kdfNameOf,
  keySchedule,
  openBase,
  receiveExportBase,
  sealBase,
  sendExportBase,
  setupRecipient,
  setupSender,
} from '../../src/hpke/hpke.ts'
import { kemNameOf } from '../../src/hpke/kem.ts'
import { expectCryptoError } from './_wycheproof.ts'

/**
 * RFC 9180 Appendix A vectors (trimmed to seq 0, 1 and 256). Modes base (0) and psk (1) run;
 * auth (2) and auth_psk (3) are excluded — 64 of 128 — because MLS (RFC 9420 §5.1.3) uses base
 * mode only and we do not offer AuthEncap. A suite the backend does not offer must throw
 * `unsupported-algorithm` (asserted, and counted separately).
 */

interface HpkeVector {
  mode: number
  kem_id: number
  kdf_id: number
  aead_id: number
  info: string
  ikmR: string
  ikmE: string
  skRm: string
  pkRm: string
  pkEm: string
  enc: string
  shared_secret: string
  key: string
  base_nonce: string
  exporter_secret: string
  psk?: string
  psk_id?: string
  encryptions: { aad: string; ct: string; nonce: string; pt: string; seq: number }[]
  exports: { exporter_context: string; L: number; exported_value: string }[]
}

const TOTAL_VECTORS = 128
const AUTH_MODE_VECTORS = 64

async function runVector(suite: HpkeSuite, v: HpkeVector): Promise<void> {
  const h = hexToBytes
  const recipient = await suite.kem.deriveKeyPair(h(v.ikmR))
  checkBytes(recipient.privateKey, h(v.skRm), 'skRm')
  checkBytes(recipient.publicKey, h(v.pkRm), 'pkRm')
  const ephemeral = await suite.kem.deriveKeyPair(h(v.ikmE))
  checkBytes(ephemeral.publicKey, h(v.pkEm), 'pkEm')
  const encap = await suite.kem.encap(recipient.publicKey, h(v.ikmE))
  checkBytes(encap.enc, h(v.enc), 'enc')
  checkBytes(encap.sharedSecret, h(v.shared_secret), 'shared_secret')
  const decap = await suite.kem.decap(h(v.enc), recipient.privateKey, recipient.publicKey)
  checkBytes(decap, h(v.shared_secret), 'decap shared_secret')
  const psk = v.mode === 1 ? { psk: h(v.psk ?? ''), pskId: h(v.psk_id ?? '') } : undefined
  const schedule = await keySchedule(suite, encap.sharedSecret, h(v.info), psk)
  checkBytes(schedule.key, h(v.key), 'key')
  checkBytes(schedule.baseNonce, h(v.base_nonce), 'base_nonce')
  checkBytes(schedule.exporterSecret, h(v.exporter_secret), 'exporter_secret')

  const sender = await setupSender(suite, recipient.publicKey, h(v.info), { psk, ephemeral: h(v.ikmE) })
  const receiver = await setupRecipient(
    suite,
    sender.enc,
    recipient.privateKey,
    recipient.publicKey,
    h(v.info),
    {
      psk,
    },
  )
  for (const e of v.encryptions) {
    if (suite.params.aead === 'Export-only') {
      await expectCryptoError(() => sender.context.seal(h(e.aad), h(e.pt)), ['unsupported-algorithm'])
      continue
    }
    sender.context.skipTo(e.seq)
    receiver.skipTo(e.seq)
    checkBytes(await sender.context.seal(h(e.aad), h(e.pt)), h(e.ct), `ct seq ${e.seq}`)
    checkBytes(await receiver.open(h(e.aad), h(e.ct)), h(e.pt), `pt seq ${e.seq}`)
  }
  for (const x of v.exports) {
    checkBytes(
      await sender.context.export(h(x.exporter_context), x.L),
      h(x.exported_value),
      'export (sender)',
    )
    checkBytes(await receiver.export(h(x.exporter_context), x.L), h(x.exported_value), 'export (recipient)')
  }
}

export function hpkeCases(backend: CryptoBackend): CaseGroup {
  return {
    name: `HPKE RFC 9180 (${backend.name})`,
    cases: [
      {
        name: 'RFC 9180 vectors: modes base and psk for every KEM/KDF/AEAD the backend offers',
        run: async (env) => {
          const vectors = JSON.parse(
            await env.readVector('hpke/test-vectors.rfc9180-5f503c5.trimmed.json'),
          ) as HpkeVector[]
          checkEqual(vectors.length, TOTAL_VECTORS, 'vector count')
          let base = 0
          let psk = 0
          let auth = 0
          let unsupported = 0
          const failures: string[] = []
          for (const v of vectors) {
            if (v.mode === 2 || v.mode === 3) {
              auth++
              continue
            }
            const kem = kemNameOf(v.kem_id)
            const kdf = kdfNameOf(v.kdf_id)
            const aead = aeadNameOf(v.aead_id)
            check(
              kem !== undefined && kdf !== undefined && aead !== undefined,
              `unknown suite ${v.kem_id}/${v.kdf_id}/${v.aead_id}`,
            )
            let suite: HpkeSuite
            try {
              suite = createHpkeSuite(backend, { kem, kdf, aead })
            } catch (error) {
              check(CryptoError.is(error, 'unsupported-algorithm'), `${kem}/${kdf}/${aead}: ${String(error)}`)
              unsupported++
              continue
            }
            try {
              await runVector(suite, v)
            } catch (error) {
              failures.push(
                `mode ${v.mode} ${kem}/${kdf}/${aead}: ${error instanceof Error ? error.message : String(error)}`,
              )
            }
            if (v.mode === 0) base++
            else psk++
          }
          env.log(
            `hpke: ran ${base + psk} (base ${base}, psk ${psk}); excluded auth/auth_psk ${auth}; unsupported by ${backend.name} ${unsupported} (asserted unsupported-algorithm)`,
          )
          check(
            failures.length === 0,
            `${failures.length} HPKE vectors failed: ${failures.slice(0, 3).join(' | ')}`,
          )
          checkEqual(auth, AUTH_MODE_VECTORS, 'auth-mode exclusions')
          checkEqual(base + psk + unsupported + auth, TOTAL_VECTORS, 'vectors accounted for')
          check(base > 0, 'at least one base-mode vector ran')
        },
      },
      {
        name: 'single-shot seal/open and export round-trip for every KEM; tampering fails',
        run: async () => {
          for (const kem of [
            'DHKEM-X25519-HKDF-SHA256',
            'DHKEM-X448-HKDF-SHA512',
            'DHKEM-P256-HKDF-SHA256',
            'DHKEM-P384-HKDF-SHA384',
            'DHKEM-P521-HKDF-SHA512',
            'X-Wing',
          ] as const) {
            let suite: HpkeSuite
            try {
              suite = createHpkeSuite(backend, { kem, kdf: 'HKDF-SHA512', aead: 'AES-256-GCM' })
            } catch (error) {
              check(CryptoError.is(error, 'unsupported-algorithm'), `${kem}: ${String(error)}`)
              continue
            }
            const r = await suite.kem.generateKeyPair()
            const info = hexToBytes('696e666f')
            const aad = hexToBytes('01')
            const pt = backend.randomBytes(33)
            const { enc, ct } = await sealBase(suite, r.publicKey, info, aad, pt)
            checkEqual(enc.length, suite.kem.encLength, `${kem} enc length`)
            checkBytes(
              await openBase(suite, enc, r.privateKey, r.publicKey, info, aad, ct),
              pt,
              `${kem} round trip`,
            )
            const bad = ct.slice()
            bad[0]! ^= 1
            await expectCryptoError(
              () => openBase(suite, enc, r.privateKey, r.publicKey, info, aad, bad),
              ['aead-auth-failed'],
            )
            await expectCryptoError(
              () => openBase(suite, enc, r.privateKey, r.publicKey, hexToBytes('00'), aad, ct),
              ['aead-auth-failed'],
            )
            await expectCryptoError(
              () => openBase(suite, enc.subarray(1), r.privateKey, r.publicKey, info, aad, ct),
              ['invalid-length'],
            )
            const exp = await sendExportBase(suite, r.publicKey, info, hexToBytes('00'), 42)
            const got = await receiveExportBase(
              suite,
              exp.enc,
              r.privateKey,
              r.publicKey,
              info,
              hexToBytes('00'),
              42,
            )
            checkBytes(got, exp.secret, `${kem} export`)
            checkEqual(got.length, 42, `${kem} export length`)
          }
        },
      },
    ],
  }
}
