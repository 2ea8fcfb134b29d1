/**
 * The SFU with three werift participants on loopback: each publishes synthetic audio and video,
 * each receives the other two's packets with payloads byte-identical to what was sent; a ninth
 * participant is refused; leaving removes the participant's m-lines from everyone else's session
 * and an empty room is deleted.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, test } from 'node:test'
import { PictureLossIndication, RtcpPayloadSpecificFeedback } from 'werift'
import { SfuError } from '../src/errors.ts'
import { MAX_PARTICIPANTS, MIN_KEY_FRAME_REQUEST_INTERVAL_MS } from '../src/limits.ts'
import type { ServerMessage } from '../src/messages.ts'
import { type ParticipantHandle, Sfu } from '../src/sfu.ts'
import { TestParticipant } from './werift-client.ts'

const sfu = new Sfu({ address: '127.0.0.1' })
after(() => sfu.close())

async function until(what: string, check: () => boolean, limitMs = 30_000): Promise<void> {
  const start = Date.now()
  while (!check()) {
    if (Date.now() - start > limitMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  if (process.env.SFU_DEBUG) console.log(what, Date.now() - start)
}

interface Joined {
  readonly client: TestParticipant
  readonly handle: ParticipantHandle
  readonly dropped: string[]
}

/** Joins a test participant; `onAnswered` runs each time the SFU has applied one of its answers. */
function joinRoom(room: string, onAnswered?: () => void): Joined {
  const dropped: string[] = []
  let handle: ParticipantHandle | null = null
  const client = new TestParticipant((message) => {
    if (message.type !== 'answer') return
    handle!
      .answer(message.sdp)
      .then(() => onAnswered?.())
      .catch((e) => dropped.push(String(e)))
  })
  handle = sfu.join(room, `device-${randomBytes(4).toString('hex')}`, {
    send: (m: ServerMessage) => client.handle(m),
    dropped: (code) => dropped.push(code),
  })
  return { client, handle, dropped }
}

async function leaveAll(people: readonly Joined[]): Promise<void> {
  for (const p of people) {
    p.handle.leave()
    await p.client.close()
  }
}

function payloadKeys(buffers: readonly Buffer[]): Set<string> {
  return new Set(buffers.map((b) => b.toString('base64')))
}

test('three participants each receive the other two, payloads byte-identical', async () => {
  const room = randomBytes(16).toString('base64url')
  const people = [joinRoom(room), joinRoom(room), joinRoom(room)]
  try {
    await until('everyone knows all three', () => people.every((p) => p.client.participants.length === 3))
    await until('connections up', () => people.every((p) => p.client.pc.connectionState === 'connected'))
    for (const p of people) p.client.startPublishing()
    await until('packets from both others, audio and video, at everyone', () =>
      people.every((p) =>
        people
          .filter((o) => o !== p)
          .every((o) =>
            (['audio', 'video'] as const).every(
              (kind) =>
                p.client.received.filter((r) => r.from === o.handle.id && r.kind === kind).length >= 20,
            ),
          ),
      ),
    )
    for (const p of people) p.client.stopPublishing()
    for (const p of people) {
      const fromSelf = p.client.received.filter((r) => r.from === p.handle.id)
      assert.equal(fromSelf.length, 0, 'nobody receives their own media back')
      for (const o of people.filter((x) => x !== p)) {
        for (const kind of ['audio', 'video'] as const) {
          const sent = payloadKeys(o.client.sent.get(kind)!)
          const got = p.client.received.filter((r) => r.from === o.handle.id && r.kind === kind)
          for (const r of got)
            assert.ok(sent.has(r.payload.toString('base64')), `a ${kind} payload was altered`)
        }
      }
      assert.deepEqual(p.dropped, [])
    }
    assert.equal(sfu.stats().rooms >= 1, true)
  } finally {
    await leaveAll(people)
  }
  assert.equal(sfu.rooms.has(room), false, 'an empty room is deleted')
})

test(`a participant beyond ${MAX_PARTICIPANTS} is refused with room-full and changes nothing`, async () => {
  const room = randomBytes(16).toString('base64url')
  const people: Joined[] = []
  try {
    for (let i = 0; i < MAX_PARTICIPANTS; i++) people.push(joinRoom(room))
    await until('all eight connected', () => people.every((p) => p.client.pc.connectionState === 'connected'))
    const before = sfu.rooms.get(room)!.ids()
    assert.equal(before.length, MAX_PARTICIPANTS)
    assert.throws(
      () => joinRoom(room),
      (e: unknown) => SfuError.is(e, 'room-full'),
    )
    assert.deepEqual(sfu.rooms.get(room)!.ids(), before)
  } finally {
    await leaveAll(people)
  }
  assert.equal(sfu.rooms.has(room), false)
})

test('leaving: the others get an offer without the leaver, keep receiving each other, and reuse its m-lines', async () => {
  const room = randomBytes(16).toString('base64url')
  const [a, b, c] = [joinRoom(room), joinRoom(room), joinRoom(room)]
  const people = [a, b, c]
  try {
    await until('connections up', () => people.every((p) => p.client.pc.connectionState === 'connected'))
    for (const p of people) p.client.startPublishing()
    await until('c is heard by a and b', () =>
      [a, b].every((p) => p.client.received.filter((r) => r.from === c.handle.id).length >= 10),
    )
    const transceiversBefore = a.client.pc.getTransceivers().length
    const cMids = [...a.client.midOwners].filter(([, o]) => o.participant === c.handle.id).map(([mid]) => mid)
    assert.equal(cMids.length, 2, 'c had an audio and a video m-line at a')
    c.handle.leave()
    await c.client.close()
    await until('a and b see two participants', () => [a, b].every((p) => p.client.participants.length === 2))
    await until("c's m-lines at a are negotiated inactive", () =>
      a.client.pc
        .getTransceivers()
        .filter((t) => t.mid !== null && cMids.includes(t.mid))
        .every((t) => t.currentDirection === 'inactive'),
    )
    assert.ok([...a.client.midOwners.values()].every((o) => o.participant !== c.handle.id))
    const counts = () => ({ a: a.client.received.length, b: b.client.received.length })
    const mark = counts()
    await until('a and b keep receiving each other', () => {
      const now = counts()
      return now.a >= mark.a + 20 && now.b >= mark.b + 20
    })
    const fromC = (p: Joined) => p.client.received.filter((r) => r.from === c.handle.id).length
    const cMark = { a: fromC(a), b: fromC(b) }
    await new Promise((r) => setTimeout(r, 300))
    assert.deepEqual({ a: fromC(a), b: fromC(b) }, cMark, 'nothing more arrives from the leaver')

    // A newcomer takes over c's spare m-lines at a instead of adding new ones.
    const d = joinRoom(room)
    people.push(d)
    await until('d is connected', () => d.client.pc.connectionState === 'connected')
    d.client.startPublishing()
    await until('a receives d', () => a.client.received.filter((r) => r.from === d.handle.id).length >= 10)
    assert.equal(a.client.pc.getTransceivers().length, transceiversBefore, 'spare m-lines are reused')
    const sentByD = payloadKeys(d.client.sent.get('video')!)
    for (const r of a.client.received.filter((x) => x.from === d.handle.id && x.kind === 'video'))
      assert.ok(sentByD.has(r.payload.toString('base64')))
  } finally {
    await leaveAll(people)
  }
  assert.equal(sfu.rooms.has(room), false)
  assert.equal(sfu.stats().participants, 0)
})

test("a subscriber's key-frame request (PLI) reaches the publisher", async () => {
  const room = randomBytes(16).toString('base64url')
  const [a, b, c] = [joinRoom(room), joinRoom(room), joinRoom(room)]
  const people = [a, b, c]
  try {
    await until('connections up', () => people.every((p) => p.client.pc.connectionState === 'connected'))
    for (const p of people) p.client.startPublishing()
    await until('b receives a and c', () =>
      [a, c].every((o) => b.client.received.some((r) => r.from === o.handle.id && r.kind === 'video')),
    )
    // Let the connection-time key-frame requests pass the SFU's rate limit first.
    await new Promise((r) => setTimeout(r, 2 * MIN_KEY_FRAME_REQUEST_INTERVAL_MS))
    for (const publisher of [a, c]) {
      const videoSsrc = publisher.client.pc
        .getTransceivers()
        .find((t) => t.sender.track === publisher.client.tracks.video)!.sender.ssrc
      // werift (the test client) hands feedback to whichever of its objects the sender SSRC
      // names, so listen on all of them for a PLI about our video.
      let requests = 0
      const stops: (() => void)[] = []
      for (const t of publisher.client.pc.getTransceivers())
        for (const source of [t.sender.onRtcp, t.receiver.onRtcp])
          stops.push(
            source.subscribe((packet) => {
              if (
                packet instanceof RtcpPayloadSpecificFeedback &&
                packet.feedback instanceof PictureLossIndication &&
                packet.feedback.mediaSsrc === videoSsrc
              )
                requests++
            }).unSubscribe,
          )
      const mid = [...b.client.midOwners].find(
        ([, o]) => o.participant === publisher.handle.id && o.kind === 'video',
      )![0]
      const receiver = b.client.pc.getTransceivers().find((t) => t.mid === mid)!.receiver
      const before = sfu.stats().keyFrameRequests
      await receiver.sendRtcpPLI(receiver.tracks[0]!.ssrc!)
      await until('the SFU takes the request', () => sfu.stats().keyFrameRequests > before)
      await until(`${publisher === a ? 'a' : 'c'} gets a PLI for its video`, () => requests > 0)
      for (const stop of stops) stop()
    }
  } finally {
    await leaveAll(people)
  }
})

test("a join while an earlier participant's connection is still coming up waits for it: it connects, its ICE never goes back to checking, and it then gets the newcomer", async () => {
  const room = randomBytes(16).toString('base64url')
  const people: Joined[] = []
  try {
    // b joins the moment a's first answer is applied, while a's ICE checks are running.
    let answered = false
    const a = joinRoom(room, () => {
      if (!answered) people.push(joinRoom(room))
      answered = true
    })
    people.push(a)
    const iceStates: string[] = []
    sfu.rooms
      .get(room)!
      .get(a.handle.id)!
      .pc.iceConnectionStateChange.subscribe((s) => iceStates.push(s))
    await until('b joined', () => people.length === 2)
    const b = people[1]!
    await until('both connected', () => people.every((p) => p.client.pc.connectionState === 'connected'))
    for (const p of people) p.client.startPublishing()
    await until('a receives b', () => a.client.received.filter((r) => r.from === b.handle.id).length >= 10)
    await until('b receives a', () => b.client.received.filter((r) => r.from === a.handle.id).length >= 10)
    assert.equal(
      iceStates.slice(iceStates.indexOf('connected')).includes('checking'),
      false,
      `a's ICE went back to checking: ${iceStates.join(', ')}`,
    )
    assert.equal(sfu.rooms.get(room)!.get(a.handle.id)!.pc.connectionState, 'connected')
    for (const p of people) assert.deepEqual(p.dropped, [])
  } finally {
    await leaveAll(people)
  }
})
