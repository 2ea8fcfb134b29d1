/**
 * 1:1 calls in the web client, end to end: the real server process, Debian's Chromium with a
 * fake camera and microphone, two browser users (alice, bob) in a 1:1 conversation. Signalling
 * travels as MLS application messages; media is SFrame-encrypted on every frame with keys from
 * the conversation's MLS exporter.
 *
 * - a video call: bob's remote video decodes (framesDecoded rises, a canvas sample is not black),
 *   audio decodes (samples received, few concealed), VP8 and Opus, frames went through SFrame;
 * - mute and camera off take effect on the other side; hang up ends the call on both;
 * - an unanswered call and a declined call leave notices in the conversation;
 * - a peer whose signed signal names another DTLS fingerprint than its connection's is refused;
 * - a participant with a wrong SFrame key decodes nothing (and the peer decodes nothing of it);
 * - with coturn installed: a call forced through TURN (`iceTransportPolicy: 'relay'`) against a
 *   real turnserver on loopback, with credentials from the server's /v1/turn-credentials.
 *
 * Every wait is event- or poll-based with a generous guard that only bounds a hang.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import type { BrowserContext, Page } from 'playwright-core'
import type { LaunchedChromium } from '../browser/launch-chromium.ts'
import { type E2eServer, startE2eServer } from '../e2e/support/server.ts'
import {
  ensureTurnserver,
  growth,
  INSTALL_CALL_HOOKS,
  inboundStats,
  launchCallChromium,
  remoteVideoBrightness,
  selectedCandidateType,
  setCallHook,
  sframeCounters,
  startTurnServer,
  type TurnServer,
  until,
} from './support/calls-browser.ts'
import {
  conversationButton,
  conversationsShown,
  DESKTOP,
  openConversation,
  PHONE,
  register,
  STEP_TIMEOUT_MS,
  sendText,
  startConversation,
  unlock,
  unlockShown,
} from './support/pages.ts'
import { buildWebApp, type WebBuild } from './support/web-build.ts'

const SUITE_TIMEOUT_MS = 20 * 60_000
const TEST_TIMEOUT_MS = 4 * 60_000
const LAUNCH_TIMEOUT_MS = 60_000
/** Bounds a wait for media to flow or stop on a loaded machine (not a timing assertion). */
const MEDIA_GUARD_MS = 60_000
/** A window over which a counter must grow (or not). */
const WINDOW_MS = 2_000
/** The ring of the missed-call test (the real one is 45 s: RING_MS). */
const SHORT_RING_MS = 4_000

interface Users {
  readonly alice: Page
  readonly bob: Page
}

async function setUpPair(
  chromium: LaunchedChromium,
  server: E2eServer,
  contexts: BrowserContext[],
  pageErrors: string[],
  names: { alice: string; bob: string },
): Promise<Users> {
  const newPage = async () => {
    const context = await chromium.browser.newContext({ viewport: DESKTOP })
    contexts.push(context)
    await context.addInitScript(INSTALL_CALL_HOOKS)
    const page = await context.newPage()
    page.setDefaultTimeout(STEP_TIMEOUT_MS)
    page.on('pageerror', (e) => pageErrors.push(e.message))
    return page
  }
  const alice = await newPage()
  const bob = await newPage()
  await register(alice, {
    url: server.url,
    invite: await server.invite(),
    handle: names.alice,
    passphrase: 'alice calls 123',
  })
  await register(bob, {
    url: server.url,
    invite: await server.invite(),
    handle: names.bob,
    passphrase: 'bob answers 456',
  })
  await startConversation(alice, names.bob)
  await sendText(alice, 'call me')
  await conversationButton(bob, names.alice).first().waitFor({ timeout: STEP_TIMEOUT_MS })
  await openConversation(bob, names.alice)
  return { alice, bob }
}

function panel(page: Page) {
  return page.locator('section.tc-call')
}

/** Alice calls bob (video or audio), bob accepts, both reach the verified, active phase. */
async function connectCall(u: Users, peer: string, video: boolean, callee = 'alice'): Promise<void> {
  await u.alice.getByRole('button', { name: `${video ? 'Video' : 'Audio'} call ${peer}` }).click()
  const ringing = u.bob.getByRole('alertdialog', {
    name: `Incoming ${video ? 'video' : 'audio'} call from ${callee}`,
  })
  await ringing.waitFor({ timeout: STEP_TIMEOUT_MS })
  await ringing.getByRole('button', { name: 'Accept' }).click()
}

async function active(page: Page): Promise<void> {
  await page.locator('section.tc-call[data-phase="active"]').waitFor({ timeout: MEDIA_GUARD_MS })
}

async function callGone(page: Page): Promise<void> {
  await panel(page).waitFor({ state: 'detached', timeout: MEDIA_GUARD_MS })
}

/** A toggle button of the call panel shows as pressed (the screen re-renders on its own time). */
async function pressed(page: Page, name: string): Promise<void> {
  await page.locator('.tc-call-controls button[aria-pressed="true"]', { hasText: name }).waitFor()
}

function notice(page: Page, text: string) {
  return page.locator('li.tc-call-notice', { hasText: text }).first()
}

describe('1:1 calls in Chromium', { timeout: SUITE_TIMEOUT_MS }, () => {
  let build: WebBuild | null = null
  let server: E2eServer | null = null
  let turn: TurnServer | null = null
  let chromium: LaunchedChromium | null = null
  const contexts: BrowserContext[] = []
  const pageErrors: string[] = []
  let u: Users
  const turnSecret = randomBytes(24).toString('base64url')

  before(async () => {
    build = await buildWebApp()
    // With coturn installed the server hands out TURN credentials for a real turnserver; the
    // direct calls below still go peer to peer (ICE prefers host candidates).
    if (ensureTurnserver()) turn = await startTurnServer(turnSecret, STEP_TIMEOUT_MS)
    server = await startE2eServer({
      extraArgs: [
        '--web-dir',
        build.dir,
        ...(turn ? ['--turn-url', turn.url, '--turn-secret-file', turn.secretFile] : []),
      ],
    })
    chromium = await launchCallChromium(LAUNCH_TIMEOUT_MS)
    u = await setUpPair(chromium, server, contexts, pageErrors, { alice: 'alice', bob: 'bob' })
  })

  after(async () => {
    for (const c of contexts) await c.close().catch(() => undefined)
    await chromium?.close()
    await server?.stop()
    await turn?.stop()
    build?.remove()
  })

  it(
    'video call: bob decodes alice’s video and audio, through SFrame, VP8 and Opus',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      await connectCall(u, 'bob', true)
      await active(u.alice)
      await active(u.bob)
      const video = await until(
        'bob decodes video',
        () => inboundStats(u.bob, 'video'),
        (s) => s !== null && s.framesDecoded > 10,
        MEDIA_GUARD_MS,
      )
      assert.equal(video!.mimeType.toLowerCase(), 'video/vp8')
      // Still rising: decoding goes on.
      const more = await until(
        'bob keeps decoding',
        () => inboundStats(u.bob, 'video'),
        (s) => s !== null && s.framesDecoded > video!.framesDecoded,
        MEDIA_GUARD_MS,
      )
      assert.ok(more!.framesDecoded > video!.framesDecoded)
      const picture = await until(
        'a non-black frame on bob’s screen',
        () => remoteVideoBrightness(u.bob),
        (b) => b !== null && b.max > 60,
        MEDIA_GUARD_MS,
      )
      assert.ok(picture!.mean > 10, `the remote video is not black (mean ${picture!.mean})`)
      const audio = await until(
        'bob decodes audio',
        () => inboundStats(u.bob, 'audio'),
        (s) => s !== null && s.totalSamplesReceived > 48_000,
        MEDIA_GUARD_MS,
      )
      assert.equal(audio!.mimeType.toLowerCase(), 'audio/opus')
      assert.ok(
        audio!.concealedSamples / audio!.totalSamplesReceived < 0.5,
        `most audio decoded (${audio!.concealedSamples} of ${audio!.totalSamplesReceived} concealed)`,
      )
      // Alice's audio comes in 40 ms packets (decision 0015): 1,920 decoded samples each at 48 kHz,
      // where WebRTC's default of 20 ms gives 960.
      const samplesPerPacket =
        (audio!.totalSamplesReceived - audio!.concealedSamples) / audio!.packetsReceived
      assert.ok(samplesPerPacket > 1_440, `40 ms audio packets (${samplesPerPacket.toFixed(0)} samples each)`)
      // Every frame went through the SFrame worker on both sides, and decrypted.
      for (const page of [u.alice, u.bob]) {
        const c = await until(
          'SFrame counters',
          () => sframeCounters(page),
          (s) => s !== null && s.encrypted > 50 && s.decrypted > 50,
          MEDIA_GUARD_MS,
        )
        assert.ok(c!.encrypted > 50 && c!.decrypted > 50)
      }
      // Alice also decodes bob.
      await until(
        'alice decodes video',
        () => inboundStats(u.alice, 'video'),
        (s) => s !== null && s.framesDecoded > 10,
        MEDIA_GUARD_MS,
      )
    },
  )

  it('mute and camera off take effect on the other side', { timeout: TEST_TIMEOUT_MS }, async () => {
    const energy = async () => (await inboundStats(u.bob, 'audio'))?.totalAudioEnergy ?? 0
    const frames = async () => (await inboundStats(u.bob, 'video'))?.framesDecoded ?? 0
    // Control: sound and pictures arrive while nothing is muted.
    await until(
      'bob hears alice',
      () => growth(energy, WINDOW_MS),
      (g) => g > 0,
      MEDIA_GUARD_MS,
    )
    await until(
      'bob sees alice',
      () => growth(frames, WINDOW_MS),
      (g) => g > 0,
      MEDIA_GUARD_MS,
    )
    const mute = u.alice.getByRole('button', { name: 'Mute', exact: true })
    await mute.click()
    await pressed(u.alice, 'Mute')
    await until(
      'bob hears silence',
      () => growth(energy, WINDOW_MS),
      (g) => g < 1e-6,
      MEDIA_GUARD_MS,
    )
    const camera = u.alice.getByRole('button', { name: 'Camera off', exact: true })
    await camera.click()
    await pressed(u.alice, 'Camera off')
    await until(
      'bob’s picture stops',
      () => growth(frames, WINDOW_MS),
      (g) => g === 0,
      MEDIA_GUARD_MS,
    )
    // Both come back.
    await mute.click()
    await camera.click()
    await until(
      'bob hears alice again',
      () => growth(energy, WINDOW_MS),
      (g) => g > 0,
      MEDIA_GUARD_MS,
    )
    await until(
      'bob sees alice again',
      () => growth(frames, WINDOW_MS),
      (g) => g > 0,
      MEDIA_GUARD_MS,
    )
  })

  it('re-keys on a new MLS epoch mid-call without a freeze', { timeout: TEST_TIMEOUT_MS }, async () => {
    const keys = async (page: Page) =>
      ((await page.evaluate('globalThis.__tacitCallTestHooks.trace')) as string[]).filter((e) =>
        e.startsWith('keys'),
      )
    const epochOf = (line: string | undefined) => Number(/epoch (\d+)/.exec(line ?? '')?.[1] ?? -1)
    const before = epochOf((await keys(u.bob)).at(-1))
    assert.ok(before >= 1)
    // Alice commits a self-update: a new epoch, so a new exporter secret and new SFrame keys.
    await u.alice.evaluate('globalThis.__tacitCallTestHooks.updateOwnLeaf()')
    for (const page of [u.alice, u.bob]) {
      await until(
        'the next epoch’s keys installed',
        async () => epochOf((await keys(page)).at(-1)),
        (e) => e === before + 1,
        MEDIA_GUARD_MS,
      )
    }
    // Media goes on under the new keys, both ways.
    const frames = (page: Page) => async () => (await inboundStats(page, 'video'))?.framesDecoded ?? 0
    const decrypted = (page: Page) => async () => (await sframeCounters(page))?.decrypted ?? 0
    for (const page of [u.alice, u.bob]) {
      await until(
        'video keeps decoding',
        () => growth(frames(page), WINDOW_MS),
        (g) => g > 0,
        MEDIA_GUARD_MS,
      )
      await until(
        'frames keep decrypting',
        () => growth(decrypted(page), WINDOW_MS),
        (g) => g > 0,
        MEDIA_GUARD_MS,
      )
    }
  })

  it('hang up ends the call on both sides', { timeout: TEST_TIMEOUT_MS }, async () => {
    await u.bob.getByRole('button', { name: 'Hang up' }).click()
    await callGone(u.bob)
    await callGone(u.alice)
    await notice(u.alice, 'Call with bob ended').waitFor({ timeout: STEP_TIMEOUT_MS })
    await notice(u.bob, 'Call with alice ended').waitFor({ timeout: STEP_TIMEOUT_MS })
    const pcState = await u.alice.evaluate(
      'globalThis.__tacitCallTestHooks.lastPeerConnection?.connectionState ?? null',
    )
    assert.equal(pcState, 'closed')
    // The call buttons are back.
    await u.alice.getByRole('button', { name: 'Video call bob' }).waitFor({ state: 'visible' })
    assert.equal(await u.alice.getByRole('button', { name: 'Video call bob' }).isEnabled(), true)
  })

  it(
    'an unanswered call leaves a missed-call notice; a declined one says so; both survive a reload',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      await setCallHook(u.alice, 'ringMs', SHORT_RING_MS)
      await setCallHook(u.bob, 'ringMs', SHORT_RING_MS)
      await u.alice.getByRole('button', { name: 'Audio call bob' }).click()
      await u.bob
        .getByRole('alertdialog', { name: 'Incoming audio call from alice' })
        .waitFor({ timeout: STEP_TIMEOUT_MS })
      // Nobody answers: the caller gives up after its ring, the callee's ringing stops.
      await notice(u.bob, 'Missed call from alice').waitFor({ timeout: MEDIA_GUARD_MS })
      await notice(u.alice, 'bob did not answer').waitFor({ timeout: MEDIA_GUARD_MS })
      await callGone(u.bob)
      await callGone(u.alice)
      // Declined.
      await u.alice.getByRole('button', { name: 'Audio call bob' }).click()
      const ringing = u.bob.getByRole('alertdialog', { name: 'Incoming audio call from alice' })
      await ringing.waitFor({ timeout: STEP_TIMEOUT_MS })
      // The Accept button has the focus: a keyboard user answers or tabs to Decline.
      assert.equal(await u.bob.evaluate('document.activeElement?.textContent?.trim()'), 'Accept')
      await u.bob.keyboard.press('Tab')
      await u.bob.keyboard.press('Enter')
      await notice(u.alice, 'bob declined the call').waitFor({ timeout: STEP_TIMEOUT_MS })
      await notice(u.bob, 'You declined a call from alice').waitFor({ timeout: STEP_TIMEOUT_MS })
      await callGone(u.alice)
      await setCallHook(u.alice, 'ringMs', null)
      await setCallHook(u.bob, 'ringMs', null)
      // The notices are the device's call log, in its encrypted store: after a reload and an
      // unlock, the conversation shows them again, once each.
      await u.bob.reload()
      await unlockShown(u.bob)
      await unlock(u.bob, 'bob answers 456')
      await conversationsShown(u.bob)
      await openConversation(u.bob, 'alice')
      await notice(u.bob, 'Missed call from alice').waitFor({ timeout: STEP_TIMEOUT_MS })
      await notice(u.bob, 'You declined a call from alice').waitFor({ timeout: STEP_TIMEOUT_MS })
      assert.equal(await u.bob.locator('li.tc-call-notice', { hasText: 'Missed call from alice' }).count(), 1)
    },
  )

  it(
    'refuses a peer whose signed DTLS fingerprint is not its connection’s',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      // Alice's offer carries, under her MLS signature, a fingerprint one bit off her certificate:
      // what bob sees when someone in the middle swapped the certificate but cannot sign.
      await setCallHook(u.alice, 'tamperFingerprint', true)
      await setCallHook(u.bob, 'trace', [])
      try {
        await connectCall(u, 'bob', true)
        const refusal = u.bob.getByRole('alert').filter({ hasText: 'Call refused: fingerprint mismatch' })
        await refusal.waitFor({ timeout: MEDIA_GUARD_MS })
        // Alice learns why (bob's signed "end" says so).
        await u.alice
          .getByRole('alert')
          .filter({ hasText: 'Call refused: fingerprint mismatch' })
          .waitFor({ timeout: MEDIA_GUARD_MS })
        await notice(u.bob, 'Call refused: fingerprint mismatch').waitFor()
        await callGone(u.bob)
        await callGone(u.alice)
        // The connection itself came up (so the refusal is the fingerprint check, not a network
        // failure), and bob refused it before any of the peer's media was shown.
        const trace = (await u.bob.evaluate('globalThis.__tacitCallTestHooks.trace')) as string[]
        assert.deepEqual(
          trace.filter((e) => ['connected', 'verified', 'refused'].includes(e)),
          ['connected', 'refused'],
        )
        const last = await u.bob.evaluate(
          'globalThis.__tacitCallTestHooks.lastPeerConnection?.connectionState ?? null',
        )
        assert.equal(last, 'closed')
      } finally {
        await setCallHook(u.alice, 'tamperFingerprint', false)
      }
      await u.bob.getByRole('button', { name: 'Dismiss call message' }).click()
      await u.alice.getByRole('button', { name: 'Dismiss call message' }).click()
    },
  )

  it('a participant with a wrong SFrame key decodes nothing', { timeout: TEST_TIMEOUT_MS }, async () => {
    await setCallHook(u.bob, 'wrongMediaKey', true)
    await setCallHook(u.alice, 'trace', [])
    await setCallHook(u.bob, 'trace', [])
    await connectCall(u, 'bob', true)
    await active(u.alice)
    await active(u.bob)
    // Packets arrive at bob, and keep arriving, yet not one frame decrypts or decodes.
    const arrived = await until(
      'packets reach bob',
      () => inboundStats(u.bob, 'video'),
      (s) => s !== null && s.packetsReceived > 100,
      MEDIA_GUARD_MS,
    )
    assert.equal(arrived!.framesDecoded, 0)
    const counters = await until(
      'bob drops frames',
      () => sframeCounters(u.bob),
      (c) => c !== null && c.dropped > 50,
      MEDIA_GUARD_MS,
    )
    assert.equal(counters!.decrypted, 0)
    const audio = await inboundStats(u.bob, 'audio')
    assert.ok(audio !== null && audio.packetsReceived > 0)
    // Nothing of bob's decodes at alice either: his keys are wrong for sending too.
    const aliceVideo = await inboundStats(u.alice, 'video')
    assert.ok(aliceVideo !== null && aliceVideo.packetsReceived > 0)
    assert.equal(aliceVideo.framesDecoded, 0)
    await u.alice.getByRole('button', { name: 'Hang up' }).click()
    await callGone(u.alice)
    await callGone(u.bob)
    await setCallHook(u.bob, 'wrongMediaKey', false)
  })

  it(
    'a call forced through TURN (coturn) connects by relay and decodes',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      if (turn === null) {
        t.skip('coturn is not installed (scripts/setup-machine.sh installs it as root)')
        return
      }
      await setCallHook(u.alice, 'relayOnly', true)
      await setCallHook(u.bob, 'relayOnly', true)
      await setCallHook(u.alice, 'trace', [])
      await setCallHook(u.bob, 'trace', [])
      try {
        await connectCall(u, 'bob', true)
        await active(u.alice).catch(async (e) => {
          const traces = await Promise.all(
            [u.alice, u.bob].map((p) => p.evaluate('JSON.stringify(globalThis.__tacitCallTestHooks.trace)')),
          )
          throw new Error(`${String(e)}\ntraces: ${traces.join('\n')}\nturnserver log:\n${turn!.log()}`)
        })
        await active(u.bob)
        // Each side sends from its TURN allocation (the peer's address it may first learn from a
        // connectivity check, as peer-reflexive, before the signalled relay candidate arrives).
        for (const page of [u.alice, u.bob]) {
          assert.match((await selectedCandidateType(page)) ?? '', /^relay\/(relay|prflx)$/)
        }
        await until(
          'bob decodes video through TURN',
          () => inboundStats(u.bob, 'video'),
          (s) => s !== null && s.framesDecoded > 10,
          MEDIA_GUARD_MS,
        )
        await u.alice.getByRole('button', { name: 'Hang up' }).click()
        await callGone(u.alice)
        await callGone(u.bob)
      } finally {
        await setCallHook(u.alice, 'relayOnly', false)
        await setCallHook(u.bob, 'relayOnly', false)
      }
    },
  )

  it(
    'a second caller hears busy while a call runs, and the call goes on',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const context = await chromium!.browser.newContext({ viewport: DESKTOP })
      contexts.push(context)
      await context.addInitScript(INSTALL_CALL_HOOKS)
      const carol = await context.newPage()
      carol.setDefaultTimeout(STEP_TIMEOUT_MS)
      carol.on('pageerror', (e) => pageErrors.push(e.message))
      await register(carol, {
        url: server!.url,
        invite: await server!.invite(),
        handle: 'carol',
        passphrase: 'carol calls too 789',
      })
      await startConversation(carol, 'bob')
      await sendText(carol, 'are you there?')
      await conversationButton(u.bob, 'carol').first().waitFor({ timeout: STEP_TIMEOUT_MS })
      await connectCall(u, 'bob', false)
      await active(u.alice)
      await active(u.bob)
      await carol.getByRole('button', { name: 'Audio call bob' }).click()
      await notice(carol, 'bob is busy').waitFor({ timeout: MEDIA_GUARD_MS })
      await callGone(carol)
      // Bob never rang; carol's attempt is a notice in their conversation.
      assert.equal(await u.bob.getByRole('alertdialog').count(), 0)
      await openConversation(u.bob, 'carol')
      await notice(u.bob, 'Missed call from carol (you were in a call)').waitFor({ timeout: STEP_TIMEOUT_MS })
      // The running call was not disturbed.
      await u.alice.locator('section.tc-call[data-phase="active"]').waitFor()
      await u.bob.locator('section.tc-call[data-phase="active"]').waitFor()
      await u.bob.getByRole('button', { name: 'Hang up' }).click()
      await callGone(u.alice)
      await callGone(u.bob)
      await openConversation(u.bob, 'alice')
    },
  )

  it(
    'keeps the chat title and the call buttons on a phone-width screen',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      await u.bob.setViewportSize(PHONE)
      try {
        await u.bob.getByRole('heading', { name: 'alice', level: 2 }).waitFor({ state: 'visible' })
        const title = await u.bob.getByRole('heading', { name: 'alice', level: 2 }).boundingBox()
        assert.ok(title !== null && title.width > 20, `the title has room (${JSON.stringify(title)})`)
        for (const name of ['Audio call alice', 'Video call alice']) {
          const box = await u.bob.getByRole('button', { name }).boundingBox()
          assert.ok(box !== null && box.x >= 0 && box.x + box.width <= PHONE.width, `${name} on screen`)
        }
      } finally {
        await u.bob.setViewportSize(DESKTOP)
      }
    },
  )

  it('raised no page errors', () => {
    assert.deepEqual(pageErrors, [])
  })
})
