import type { CryptoBackend } from '@tacit/crypto/backend'
import { bytesToHex, hexToBytes } from '@tacit/crypto/bytes'
import { type CaseGroup, check, checkEqual, checkRejects } from '../../../../tests/harness/cases.ts'
import {
  type ContactIdentity,
  detectContactChanges,
  MAX_CONTACT_DEVICES,
  markContactVerified,
} from '../../src/verification/contact-changes.ts'
import { VerificationError, type VerificationErrorReason } from '../../src/verification/errors.ts'
import {
  checkScannedVerificationCode,
  compareScannedVerificationCode,
  createVerificationCode,
  decodeVerificationCode,
  encodeVerificationCode,
  MAX_SCANNED_CODE_BYTES,
  VERIFICATION_CODE_BYTES,
} from '../../src/verification/qr-payload.ts'
import {
  combineFingerprints,
  computeFingerprint,
  computeSafetyNumber,
  fingerprintDigits,
  type VerifiableIdentity,
} from '../../src/verification/safety-number.ts'
import vectorsJson from '../vectors/verification-v1.json' with { type: 'json' }

interface VerificationVectors {
  readonly iterations: number
  readonly fingerprints: readonly {
    handle: string
    identityKey: string
    fingerprint: string
    digits: string
  }[]
  readonly pairs: readonly {
    a: string
    b: string
    safetyNumber: string
    codeShownByA: string
    codeShownByB: string
  }[]
}
const vectors = vectorsJson as VerificationVectors
/** Counts in docs/protocol/verification.md §5. */
const FINGERPRINT_VECTORS = 5
const PAIR_VECTORS = 3

function isReason(reason: VerificationErrorReason, code?: string) {
  return (e: unknown) => VerificationError.isReason(e, reason) && (code === undefined || e.code === code)
}

function identityOf(handle: string): VerifiableIdentity {
  const v = vectors.fingerprints.find((f) => f.handle === handle)
  if (v === undefined) throw new Error(`no vector for ${handle}`)
  return { handle, identityKey: hexToBytes(v.identityKey) }
}

const key = (fill: number) => new Uint8Array(32).fill(fill)

export function verificationCases(backend: CryptoBackend): CaseGroup {
  return {
    name: `protocol verification [${backend.name}]`,
    cases: [
      {
        name: 'fingerprints, safety numbers and codes reproduce the committed vectors',
        async run() {
          checkEqual(vectors.iterations, 5200, 'iterations')
          checkEqual(vectors.fingerprints.length, FINGERPRINT_VECTORS, 'fingerprint vector count')
          // Each fingerprint is 5200 hashes: compute each once, then check the pure combinations.
          const fingerprints = new Map<string, Uint8Array>()
          for (const f of vectors.fingerprints) {
            const fp = await computeFingerprint(backend, identityOf(f.handle))
            checkEqual(bytesToHex(fp), f.fingerprint, `${f.handle} fingerprint`)
            checkEqual(fingerprintDigits(fp), f.digits, `${f.handle} digits`)
            check(/^\d{30}$/.test(f.digits), `${f.handle} has 30 digits`)
            fingerprints.set(f.handle, fp)
          }
          checkEqual(vectors.pairs.length, PAIR_VECTORS, 'pair vector count')
          for (const p of vectors.pairs) {
            const fa = fingerprints.get(p.a)!
            const fb = fingerprints.get(p.b)!
            const ab = combineFingerprints(fa, fb)
            checkEqual(ab.digits, p.safetyNumber, `${p.a}/${p.b} safety number`)
            checkEqual(
              combineFingerprints(fb, fa).digits,
              p.safetyNumber,
              `${p.b}/${p.a} the same the other way`,
            )
            checkEqual(ab.groups.length, 12, 'twelve groups')
            checkEqual(ab.groups.join(''), ab.digits, 'groups spell the digits')
            const codeA = encodeVerificationCode({ presenterFingerprint: fa, scannerFingerprint: fb })
            const codeB = encodeVerificationCode({ presenterFingerprint: fb, scannerFingerprint: fa })
            checkEqual(bytesToHex(codeA), p.codeShownByA, 'code shown by A')
            checkEqual(bytesToHex(codeB), p.codeShownByB, 'code shown by B')
            // Each side accepts the other's code.
            compareScannedVerificationCode({ own: fb, peer: fa }, codeA)
            compareScannedVerificationCode({ own: fa, peer: fb }, codeB)
          }
          // The wrappers that hash, once.
          const [first] = vectors.pairs
          const a = identityOf(first!.a)
          const b = identityOf(first!.b)
          checkEqual(
            (await computeSafetyNumber(backend, b, a)).digits,
            first!.safetyNumber,
            'computeSafetyNumber',
          )
          checkEqual(
            bytesToHex(await createVerificationCode(backend, { own: a, peer: b })),
            first!.codeShownByA,
            'code',
          )
          await checkScannedVerificationCode(backend, { own: b, peer: a }, hexToBytes(first!.codeShownByA))
          const alice = vectors.fingerprints.find((f) => f.handle === 'alice')!
          const renamed = vectors.fingerprints.find((f) => f.handle === 'alice2')!
          checkEqual(renamed.identityKey, alice.identityKey, 'same key, other handle')
          check(renamed.digits !== alice.digits, 'the handle is part of the fingerprint')
        },
      },
      {
        name: 'a substituted key, our own code and malformed codes are refused with typed errors',
        async run() {
          const alice = identityOf('alice')
          const bob = identityOf('bob')
          const fa = hexToBytes(vectors.fingerprints.find((f) => f.handle === 'alice')!.fingerprint)
          const fb = hexToBytes(vectors.fingerprints.find((f) => f.handle === 'bob')!.fingerprint)
          const fMallory = await computeFingerprint(backend, { handle: 'bob', identityKey: key(7) })
          const fromBob = hexToBytes(
            vectors.pairs.find((p) => p.a === 'alice' && p.b === 'bob')!.codeShownByB,
          )
          // Alice was handed Mallory's key for bob by the server: Bob's screen does not match.
          await checkRejects(
            () => compareScannedVerificationCode({ own: fa, peer: fMallory }, fromBob),
            isReason('fingerprint-mismatch', 'verification-failed'),
            'substituted peer key',
          )
          // Bob was handed Mallory's key for alice: his code names it, and Alice refuses it.
          const fromConfusedBob = encodeVerificationCode({
            presenterFingerprint: fb,
            scannerFingerprint: fMallory,
          })
          await checkRejects(
            () => compareScannedVerificationCode({ own: fa, peer: fb }, fromConfusedBob),
            isReason('fingerprint-mismatch'),
            'peer holds a wrong key for us',
          )
          const own = encodeVerificationCode({ presenterFingerprint: fa, scannerFingerprint: fb })
          await checkRejects(
            () => compareScannedVerificationCode({ own: fa, peer: fb }, own),
            isReason('scanned-own-code', 'verification-failed'),
            'own code',
          )
          const version2 = own.slice()
          version2[4] = 2
          const cases: [string, Uint8Array, VerificationErrorReason][] = [
            ['empty', new Uint8Array(0), 'malformed-payload'],
            ['wrong magic', Uint8Array.of(0, ...own.subarray(1)), 'malformed-payload'],
            ['version 2', version2, 'unsupported-version'],
            ['short', own.subarray(0, VERIFICATION_CODE_BYTES - 1), 'malformed-payload'],
            ['long', Uint8Array.of(...own, 0), 'malformed-payload'],
            ['huge', new Uint8Array(MAX_SCANNED_CODE_BYTES + 1), 'too-large'],
          ]
          for (const [label, bytes, reason] of cases) {
            await checkRejects(() => decodeVerificationCode(bytes), isReason(reason), label)
            await checkRejects(
              () => checkScannedVerificationCode(backend, { own: bob, peer: alice }, bytes),
              isReason(reason),
              `${label} when scanned`,
            )
          }
          await checkRejects(
            () => computeFingerprint(backend, { handle: 'Alice!', identityKey: key(1) }),
            isReason('invalid-identity', 'usage'),
            'bad handle',
          )
          await checkRejects(
            () => computeFingerprint(backend, { handle: 'alice', identityKey: new Uint8Array(31) }),
            isReason('invalid-identity'),
            'short key',
          )
        },
      },
      {
        name: 'contact changes: identity key voids verification, device changes alert in a fixed order',
        run() {
          const device = (id: string, fill: number) => ({
            deviceId: id,
            signatureKey: new Uint8Array(32).fill(fill),
          })
          const current: ContactIdentity = {
            handle: 'bob',
            identityKey: key(1),
            devices: [device('phone', 1), device('laptop', 2)],
          }
          const record = markContactVerified(current)
          ;(current.identityKey as Uint8Array)[0] = 99
          checkEqual(record.identityKey[0], 1, 'the record is a copy')
          ;(current.identityKey as Uint8Array)[0] = 1
          const same = detectContactChanges(record, current)
          checkEqual(same.stillVerified, true, 'unchanged stays verified')
          checkEqual(same.alerts.length, 0, 'no alerts')
          const reordered = detectContactChanges(record, {
            ...current,
            devices: [...current.devices].reverse(),
          })
          checkEqual(reordered.alerts.length, 0, 'device order does not matter')

          const changed = detectContactChanges(record, {
            handle: 'bob',
            identityKey: key(2),
            devices: [device('tablet', 5), device('laptop', 3), device('desk', 4)],
          })
          checkEqual(changed.stillVerified, false, 'a new identity key voids the verification')
          checkEqual(
            JSON.stringify(changed.alerts.map((a) => [a.kind, 'deviceId' in a ? a.deviceId : a.handle])),
            JSON.stringify([
              ['identity-key-changed', 'bob'],
              ['device-added', 'desk'],
              ['device-added', 'tablet'],
              ['device-removed', 'phone'],
              ['device-key-changed', 'laptop'],
            ]),
            'alerts',
          )
          const added = detectContactChanges(record, {
            ...current,
            devices: [...current.devices, device('new', 9)],
          })
          checkEqual(added.stillVerified, true, 'a new device keeps the verification')
          checkEqual(added.alerts.length, 1, 'but raises one alert')

          const invalid: [string, () => unknown, VerificationErrorReason][] = [
            [
              'other handle',
              () => detectContactChanges(record, { ...current, handle: 'carol' }),
              'invalid-contact',
            ],
            [
              'duplicate device',
              () => detectContactChanges(record, { ...current, devices: [device('a', 1), device('a', 2)] }),
              'invalid-contact',
            ],
            [
              'too many devices',
              () =>
                detectContactChanges(record, {
                  ...current,
                  devices: Array.from({ length: MAX_CONTACT_DEVICES + 1 }, (_, i) => device(`d${i}`, 1)),
                }),
              'too-large',
            ],
            [
              'short identity key',
              () => markContactVerified({ ...current, identityKey: key(1).subarray(1) }),
              'invalid-contact',
            ],
          ]
          for (const [label, fn, reason] of invalid) {
            let thrown: unknown
            try {
              fn()
            } catch (error) {
              thrown = error
            }
            check(isReason(reason)(thrown), `${label}: ${String(thrown)}`)
          }
        },
      },
    ],
  }
}
