import {
  type CaseGroup,
  check,
  checkBytes,
  checkEqual,
  checkRejects,
} from '../../../../tests/harness/cases.ts'
import { CallsError, type CallsErrorCode } from '../../src/errors.ts'
import {
  AES_128_CTR_HMAC_SHA256_32,
  AES_128_GCM_SHA256_128,
  decodeSFrameHeader,
  encodeSFrameHeader,
  MAX_SFRAME_CANDIDATE_KEYS,
  ReplayWindow,
  SFRAME_REPLAY_WINDOW,
  SFrameContext,
  TACIT_SFRAME_SUITE,
} from '../../src/sframe.ts'

/** SFrame context behaviour beyond the vectors: key usage, counters, replay, bad input. */

const BASE = new Uint8Array(32).fill(0x11)
const OTHER = new Uint8Array(32).fill(0x22)
const isCode = (code: CallsErrorCode) => (error: unknown) => CallsError.is(error, code)

export function sframeContextCaseGroups(): CaseGroup[] {
  return [
    {
      name: 'SFrame context',
      cases: [
        {
          name: 'Tacit uses AES_256_GCM_SHA512_128, registry value 0x0005',
          run() {
            const context = new SFrameContext()
            checkEqual(TACIT_SFRAME_SUITE, 0x0005, 'suite id')
            checkEqual(context.suite.name, 'AES_256_GCM_SHA512_128', 'suite name')
            checkEqual(context.suite.nk, 32, 'Nk')
            checkEqual(context.suite.nt, 16, 'Nt')
          },
        },
        {
          name: 'headers that are truncated or not minimal are refused',
          run() {
            let refused = 0
            for (const bad of [
              '',
              '98',
              '9901',
              '880001',
              '8001',
              '0800',
              '0907',
              '090012',
              '0f00ffffffffffffff',
            ]) {
              try {
                decodeSFrameHeader(
                  new Uint8Array((bad.match(/../g) ?? []).map((x) => Number.parseInt(x, 16))),
                )
              } catch (error) {
                if (CallsError.is(error, 'invalid-header')) refused++
              }
            }
            checkEqual(refused, 9, 'every bad header refused with invalid-header')
            let usage = 0
            for (const bad of [() => encodeSFrameHeader(-1n, 0n), () => encodeSFrameHeader(0n, 1n << 64n)]) {
              try {
                bad()
              } catch (error) {
                if (CallsError.is(error, 'usage')) usage++
              }
            }
            checkEqual(usage, 2, 'out-of-range values refused')
          },
        },
        {
          name: 'a KID is for sending or receiving, never both (RFC 9605 §4.4.1)',
          async run() {
            const context = new SFrameContext()
            await context.addSendKey(5n, BASE)
            await checkRejects(
              () => context.addReceiveKey(5n, BASE),
              isCode('key-usage'),
              'receive on a send KID',
            )
            await context.addReceiveKey(6n, BASE)
            await checkRejects(
              () => context.addSendKey(6n, BASE),
              isCode('key-usage'),
              'send on a receive KID',
            )
            await checkRejects(
              () => context.addSendKey(7n, new Uint8Array(8)),
              isCode('invalid-key'),
              'short base key',
            )
          },
        },
        {
          name: 'counters increase per KID, also under concurrent encryption',
          async run() {
            const context = new SFrameContext()
            await context.addSendKey(1n, BASE)
            await context.addSendKey(2n, OTHER)
            const frames = await Promise.all(
              Array.from({ length: 20 }, (_, i) =>
                context.encrypt(i % 2 === 0 ? 1n : 2n, new Uint8Array([i])),
              ),
            )
            const seen = new Set(
              frames.map((f) => {
                const h = decodeSFrameHeader(f)
                return `${h.kid}:${h.ctr}`
              }),
            )
            checkEqual(seen.size, 20, 'no (KID, CTR) pair used twice')
            checkEqual(context.nextCounter(1n), 10, 'KID 1 counter')
            // Re-adding a send KID keeps its counter: a (key, nonce) pair is never reused.
            await context.addSendKey(1n, BASE)
            checkEqual(
              decodeSFrameHeader(await context.encrypt(1n, new Uint8Array(1))).ctr,
              10n,
              'counter kept',
            )
            await checkRejects(
              () => context.encrypt(3n, new Uint8Array(1)),
              isCode('unknown-kid'),
              'unknown send KID',
            )
          },
        },
        {
          name: 'replay window: duplicates, reordering inside the window, too-old outside',
          run() {
            const window = new ReplayWindow()
            checkEqual(window.check(5), 'fresh', 'first')
            window.mark(5)
            checkEqual(window.check(5), 'duplicate', 'same counter')
            checkEqual(window.check(3), 'fresh', 'older, inside the window')
            window.mark(3)
            checkEqual(window.check(3), 'duplicate', 'older, marked')
            const far = 5 + SFRAME_REPLAY_WINDOW + 10
            window.mark(far)
            checkEqual(window.check(far - SFRAME_REPLAY_WINDOW), 'too-old', 'at the window edge')
            checkEqual(window.check(far - SFRAME_REPLAY_WINDOW + 1), 'fresh', 'just inside the window')
            checkEqual(window.check(5), 'too-old', 'long gone')
            // A slot reused after the window moved is fresh again, not a stale duplicate.
            checkEqual(window.check(far - 1), 'fresh', 'skipped counter inside the new window')
          },
        },
        {
          name: 'unknown KIDs are derived on demand and kept only once they authenticate',
          async run() {
            let resolved = 0
            const receiver = new SFrameContext(TACIT_SFRAME_SUITE, {
              resolveReceiveKey: (kid) => {
                resolved++
                return kid < 100n ? BASE : undefined
              },
            })
            const sender = new SFrameContext()
            await sender.addSendKey(42n, BASE)
            const frame = await sender.encrypt(42n, new Uint8Array([1, 2, 3]))
            const forged = Uint8Array.from(frame)
            forged[forged.length - 1]! ^= 1
            await checkRejects(() => receiver.decrypt(forged), isCode('auth-failed'), 'forgery')
            checkEqual(receiver.receiveKids().length, 0, 'a forgery does not install the key')
            const opened = await receiver.decrypt(frame)
            check(opened.kind === 'plaintext', 'the real frame decrypts')
            checkEqual(receiver.receiveKids().join(','), '42', 'installed after authenticating')
            check((await receiver.decrypt(frame)).kind === 'replay', 'and now has a replay window')
            const outsider = new SFrameContext()
            await outsider.addSendKey(500n, BASE)
            await checkRejects(
              async () => receiver.decrypt(await outsider.encrypt(500n, new Uint8Array(1))),
              isCode('unknown-kid'),
              'resolver said no',
            )
            check(resolved <= 3, 'resolver asked once per new KID')
            // Junk KIDs cannot grow the candidate cache beyond its bound.
            const junk = new SFrameContext()
            for (let kid = 0n; kid < BigInt(MAX_SFRAME_CANDIDATE_KEYS + 8); kid++) {
              await junk.addSendKey(kid + 1000n, OTHER)
              await receiver
                .decrypt(await junk.encrypt(kid + 1000n, new Uint8Array(1)))
                .catch(() => undefined)
            }
            checkEqual(receiver.receiveKids().length, 1, 'only the authenticated KID is installed')
          },
        },
        {
          name: 'other suites round-trip through the context; wrong metadata fails',
          async run() {
            for (const suite of [AES_128_GCM_SHA256_128, AES_128_CTR_HMAC_SHA256_32] as const) {
              const sender = new SFrameContext(suite)
              const receiver = new SFrameContext(suite)
              await sender.addSendKey(300n, BASE)
              await receiver.addReceiveKey(300n, BASE)
              const plaintext = new Uint8Array(1000).map((_, i) => i & 0xff)
              const sealed = await sender.encrypt(300n, plaintext, new Uint8Array([7]))
              const opened = await receiver.decrypt(sealed, new Uint8Array([7]))
              check(opened.kind === 'plaintext', `suite ${suite}: decrypts`)
              checkBytes(opened.plaintext, plaintext, `suite ${suite}: plaintext`)
              const next = await sender.encrypt(300n, plaintext, new Uint8Array([7]))
              await checkRejects(
                () => receiver.decrypt(next, new Uint8Array([8])),
                isCode('auth-failed'),
                `suite ${suite}: metadata`,
              )
              await checkRejects(
                () => receiver.decrypt(next.subarray(0, 3)),
                isCode('auth-failed'),
                `suite ${suite}: truncated`,
              )
            }
          },
        },
      ],
    },
  ]
}
