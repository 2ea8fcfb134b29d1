/**
 * The SFU as the Tacit server runs it: `/v1/sfu` on the real server (in this process, real
 * sockets), authenticated with a device session. Two werift participants call each other through
 * it; a bad token, a malformed message and a binary frame each end the session with their code;
 * `--no-sfu` leaves the path unserved.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import WebSocket from 'ws'
import { newInvite, startTestServer, type TestServer } from '../../server/test/support/test-server.ts'
import type { ClientMessage, ServerMessage } from '../src/messages.ts'
import { SfuCloseCode } from '../src/session.ts'
import { TestParticipant } from './werift-client.ts'

async function until(what: string, check: () => boolean, limitMs = 30_000): Promise<void> {
  const start = Date.now()
  while (!check()) {
    if (Date.now() - start > limitMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

interface Connection {
  readonly ws: WebSocket
  readonly messages: ServerMessage[]
  readonly closed: Promise<{ code: number; reason: string }>
  send(message: ClientMessage | string | Buffer): void
}

async function connect(t: TestServer): Promise<Connection> {
  const ws = new WebSocket(`${t.server.url.replace('http', 'ws')}/v1/sfu`)
  const messages: ServerMessage[] = []
  const listeners: ((m: ServerMessage) => void)[] = []
  ws.on('message', (data) => {
    const m = JSON.parse(String(data)) as ServerMessage
    messages.push(m)
    for (const l of listeners) l(m)
  })
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  )
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  return {
    ws,
    messages,
    closed,
    send: (message) =>
      ws.send(typeof message === 'object' && !Buffer.isBuffer(message) ? JSON.stringify(message) : message),
  }
}

async function participant(
  t: TestServer,
  token: string,
  room: string,
): Promise<{ conn: Connection; client: TestParticipant }> {
  const conn = await connect(t)
  const client = new TestParticipant((m) => conn.send(m))
  conn.ws.on('message', (data) => client.handle(JSON.parse(String(data)) as ServerMessage))
  conn.send({ type: 'auth', token })
  conn.send({ type: 'join', room })
  return { conn, client }
}

test('two devices call through /v1/sfu on the real server', async () => {
  const t = await startTestServer(['--sfu-address', '127.0.0.1'])
  try {
    const alice = await t.api.register(t.invite, 'alice')
    const bob = await t.api.register(await newInvite(t), 'bob')
    const room = randomBytes(16).toString('base64url')
    const a = await participant(t, alice.token, room)
    const b = await participant(t, bob.token, room)
    await until('both connected', () => [a, b].every((p) => p.client.pc.connectionState === 'connected'))
    a.client.startPublishing()
    b.client.startPublishing()
    await until('media both ways', () =>
      [a, b].every((p) => p.client.received.filter((r) => r.kind === 'video').length >= 10),
    )
    const sentByA = new Set(a.client.sent.get('video')!.map((x) => x.toString('base64')))
    for (const r of b.client.received.filter((x) => x.kind === 'video'))
      assert.ok(sentByA.has(r.payload.toString('base64')), 'payload forwarded unchanged')
    const metrics = async () => (await fetch(`${t.server.url}/metrics`)).text()
    assert.match(await metrics(), /^tacit_sfu_participants 2$/m)
    assert.match(await metrics(), /^tacit_sfu_rooms 1$/m)
    a.conn.send({ type: 'leave' })
    assert.equal((await a.conn.closed).code, SfuCloseCode.normal)
    await until('bob sees one participant', () => b.client.participants.length === 1)
    b.conn.ws.close()
    await b.conn.closed
    await a.client.close()
    await b.client.close()
    let text = await metrics()
    for (let i = 0; i < 100 && !/^tacit_sfu_rooms 0$/m.test(text); i++) {
      await new Promise((r) => setTimeout(r, 50))
      text = await metrics()
    }
    assert.match(text, /^tacit_sfu_rooms 0$/m, 'the room is deleted when both left')
    assert.match(text, /^tacit_sfu_participants 0$/m)
  } finally {
    await t.stop()
  }
})

test('bad token, malformed message, binary frame: each ends the session with its code', async () => {
  const t = await startTestServer([])
  try {
    const alice = await t.api.register(t.invite, 'alice')
    const cases: { send: (c: Connection) => void; code: string; close: number }[] = [
      { send: (c) => c.send({ type: 'auth', token: 'A'.repeat(43) }), code: 'unauthenticated', close: 4401 },
      { send: (c) => c.send({ type: 'join', room: 'x'.repeat(22) }), code: 'unauthenticated', close: 4401 },
      { send: (c) => c.send('{"type":"auth","token":"abc","extra":1}'), code: 'bad-message', close: 4400 },
      { send: (c) => c.send('not json'), code: 'bad-message', close: 4400 },
      { send: (c) => c.send(Buffer.from([1, 2, 3])), code: 'bad-message', close: 4400 },
      {
        send: (c) => {
          c.send({ type: 'auth', token: alice.token })
          c.send({ type: 'join', room: 'too-short' })
        },
        code: 'bad-message',
        close: 4400,
      },
      {
        send: (c) => {
          c.send({ type: 'auth', token: alice.token })
          c.send({ type: 'answer', sdp: 'v=0' })
        },
        code: 'not-joined',
        close: 4400,
      },
    ]
    for (const c of cases) {
      const conn = await connect(t)
      c.send(conn)
      const closed = await conn.closed
      const error = conn.messages.find((m) => m.type === 'error')
      assert.equal(error?.type === 'error' ? error.code : undefined, c.code)
      assert.equal(closed.code, c.close)
    }
  } finally {
    await t.stop()
  }
})

test('--no-sfu: /v1/sfu is not served', async () => {
  const t = await startTestServer(['--no-sfu'])
  try {
    const ws = new WebSocket(`${t.server.url.replace('http', 'ws')}/v1/sfu`)
    const status = await new Promise<number>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
      ws.on('error', () => resolve(-1))
    })
    assert.equal(status, 404)
  } finally {
    await t.stop()
  }
})
