import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { LoopbackOptions, TacitMediaApi } from './media/loopback.page.ts'
import { type MediaBrowser, openMediaPage } from './media/media-browser.ts'

/**
 * The media path in headless Chromium: two RTCPeerConnections in one page (loopback), fake camera
 * and microphone, VP8 + Opus, every frame through the SFrame worker. Waits are bounded only to
 * end hangs; the assertions are about what was decoded, never about how fast.
 */

const CASE_TIMEOUT_MS = 90_000
const WAIT_MS = 45_000
const RIGHT: LoopbackOptions = { e2ee: true, width: 640, height: 360, frameRate: 30, secret: 1 }

let media: MediaBrowser | undefined

/** Calls one method of the page's `tacitMedia` API with one JSON argument. */
function api<K extends keyof TacitMediaApi>(
  method: K,
  ...args: Parameters<TacitMediaApi[K]>
): Promise<Awaited<ReturnType<TacitMediaApi[K]>>> {
  if (media === undefined) throw new Error('Chromium did not start')
  return media.page.evaluate(
    ([name, argument]) => {
      const tacit = (globalThis as unknown as { tacitMedia: Record<string, (arg?: unknown) => unknown> })
        .tacitMedia
      return tacit[name]!(argument)
    },
    [method, args[0]] as const,
  ) as Promise<Awaited<ReturnType<TacitMediaApi[K]>>>
}

async function waitUntil(what: string, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + WAIT_MS
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${WAIT_MS} ms`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

const inbound = () => api('inbound')
const e2ee = () => api('e2eeStats')

describe('[chromium] call media through the SFrame worker', { timeout: 6 * CASE_TIMEOUT_MS }, () => {
  before(async () => {
    media = await openMediaPage(new URL('./media/loopback.page.ts', import.meta.url), (line) =>
      console.log(line),
    )
    console.log(`[chromium] ${media.version}`)
  })
  after(async () => {
    await media?.close()
  })

  test(
    'with the right keys the receiver decodes VP8 video and Opus audio',
    { timeout: CASE_TIMEOUT_MS },
    async () => {
      const started = await api('start', RIGHT)
      assert.equal(started.mode, 'script-transform', 'Chromium 156 has RTCRtpScriptTransform')
      await waitUntil('30 decoded video frames', async () => (await inbound()).framesDecoded >= 30)
      await waitUntil('decoded audio with sound in it', async () => {
        const { audioSamples, audioPeak } = await inbound()
        return audioSamples > 48_000 && audioPeak > 0.05
      })
      const stats = await inbound()
      assert.ok(stats.codecs.includes('video/VP8'), `video codec: ${stats.codecs.join(', ')}`)
      assert.ok(stats.codecs.includes('audio/opus'), `audio codec: ${stats.codecs.join(', ')}`)
      // WebRTC may scale the resolution down when the machine is busy; never up.
      assert.ok(stats.frameWidth > 0 && stats.frameWidth <= 640, `frame width ${stats.frameWidth}`)
      assert.ok(stats.frameHeight > 0 && stats.frameHeight <= 360, `frame height ${stats.frameHeight}`)
      assert.ok(stats.concealedSamples < stats.audioSamples / 2, 'audio mostly decoded, not concealed')
      // The answer's a=ptime (withAudioPacketTime) set Alice's Opus encoder to 40 ms packets:
      // 1,920 decoded samples a packet at 48 kHz, where WebRTC's default 20 ms gives 960.
      const samplesPerPacket = (stats.audioSamples - stats.concealedSamples) / stats.audioPackets
      assert.ok(samplesPerPacket > 1_440, `40 ms audio packets (${samplesPerPacket.toFixed(0)} samples each)`)
      const sample = await api('sampleVideo')
      assert.ok(
        sample.litFraction > 0.5,
        `received video is not black (lit ${sample.litFraction.toFixed(3)})`,
      )
      const counters = await e2ee()
      assert.ok((counters.alice?.encrypted ?? 0) >= 30, 'Alice encrypted frames')
      assert.ok((counters.bob?.decrypted ?? 0) >= 30, 'Bob decrypted frames')
      assert.equal(
        counters.bob?.dropped,
        0,
        `no frame failed to decrypt: ${JSON.stringify(counters.bob?.reasons)}`,
      )
      console.log(`right keys: ${JSON.stringify({ stats, sample, counters })}`)
      await api('close')
    },
  )

  test(
    'with a wrong key nothing decodes and every frame is dropped',
    { timeout: CASE_TIMEOUT_MS },
    async () => {
      await api('start', { ...RIGHT, bobSecret: 2 })
      await waitUntil('200 frames dropped at Bob', async () => ((await e2ee()).bob?.dropped ?? 0) >= 200)
      const stats = await inbound()
      const counters = await e2ee()
      console.log(`wrong key: ${JSON.stringify({ stats, counters })}`)
      assert.equal(stats.framesDecoded, 0, 'no video frame decoded')
      assert.equal(stats.audioPeak, 0, 'no sound played out')
      assert.equal(counters.bob?.decrypted, 0, 'no frame decrypted')
      assert.equal(counters.bob?.reasons['auth-failed'], counters.bob?.dropped, 'all dropped as auth-failed')
      assert.ok((counters.alice?.encrypted ?? 0) >= 100, 'Alice kept sending')
      await api('close')
    },
  )

  test('a key rotation mid-call does not freeze the video', { timeout: CASE_TIMEOUT_MS }, async () => {
    await api('start', RIGHT)
    await waitUntil('30 decoded video frames', async () => (await inbound()).framesDecoded >= 30)
    const before = await inbound()
    const beforeCounters = await e2ee()
    await api('rotate', { epoch: 2, secret: 3 })
    await waitUntil('60 more decoded frames after the rotation', async () => {
      return (await inbound()).framesDecoded >= before.framesDecoded + 60
    })
    const afterCounters = await e2ee()
    const decryptedAfter = (afterCounters.bob?.decrypted ?? 0) - (beforeCounters.bob?.decrypted ?? 0)
    assert.ok(decryptedAfter >= 60, 'frames decrypted under the new epoch')
    const sample = await api('sampleVideo')
    assert.ok(sample.litFraction > 0.5, 'video still not black after the rotation')
    const mid = await inbound()
    await api('rotate', { epoch: 3, secret: 4 })
    await waitUntil('60 more decoded frames after a second rotation', async () => {
      return (await inbound()).framesDecoded >= mid.framesDecoded + 60
    })
    console.log(`rotation: ${JSON.stringify({ before, after: await inbound(), counters: await e2ee() })}`)
    await api('close')
  })

  test('the createEncodedStreams fallback protects the media too', { timeout: CASE_TIMEOUT_MS }, async () => {
    const started = await api('start', { ...RIGHT, mode: 'encoded-streams' })
    assert.equal(started.mode, 'encoded-streams')
    await waitUntil('30 decoded video frames', async () => (await inbound()).framesDecoded >= 30)
    const counters = await e2ee()
    assert.ok((counters.bob?.decrypted ?? 0) >= 30, 'Bob decrypted frames')
    assert.equal(
      counters.bob?.dropped,
      0,
      `no frame failed to decrypt: ${JSON.stringify(counters.bob?.reasons)}`,
    )
    const sample = await api('sampleVideo')
    assert.ok(sample.litFraction > 0.5, 'received video is not black')
    await api('close')
    await api('start', { ...RIGHT, mode: 'encoded-streams', bobSecret: 2 })
    await waitUntil('100 frames dropped at Bob', async () => ((await e2ee()).bob?.dropped ?? 0) >= 100)
    assert.equal((await inbound()).framesDecoded, 0, 'a wrong key decodes nothing in this mode either')
    await api('close')
  })
})
