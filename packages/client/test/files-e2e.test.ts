/**
 * Files through the SDK end to end: the real server process on 127.0.0.1 (SQLite, then
 * PostgreSQL in a fresh schema dropped after), real uploads and Range downloads, the encrypted
 * store. Files are generated on the fly from the CSPRNG and compared by SHA-256. Interruptions
 * and tampering come from a man in the middle in the client's transport, and from editing the
 * server's own blob storage.
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import {
  closeSync,
  createReadStream,
  createWriteStream,
  existsSync,
  mkdtempSync,
  openSync,
  rmSync,
  statSync,
  utimesSync,
  writeSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { nodeBackend } from '@tacit/crypto/node/backend'
import { decodeFileDescriptor } from '@tacit/protocol/files/descriptor'
import { fileLayout } from '@tacit/protocol/files/format'
import Database from 'better-sqlite3'
import { ClientError, TacitClient } from '../src/client.ts'
import { MAX_UPLOAD_REQUEST_BYTES } from '../src/limits.ts'
import { nodeFiles } from '../src/node/node-files.ts'
import { createAccount } from './support/clients.ts'
import { cutBody, isBlobAppend, isBlobDownload, mitmTransport } from './support/mitm.ts'
import { dropSchema, POSTGRES_URL, type ServerProcess, startServer } from './support/server.ts'

const MiB = 1024 * 1024

/** Writes `size` random bytes to a new file and returns its path and SHA-256. */
async function makeFile(dir: string, name: string, size: number): Promise<{ path: string; sha256: string }> {
  const path = join(dir, name)
  const hash = createHash('sha256')
  const out = createWriteStream(path)
  for (let written = 0; written < size; ) {
    const piece = randomBytes(Math.min(MiB, size - written))
    hash.update(piece)
    written += piece.length
    if (!out.write(piece)) await new Promise<void>((r) => out.once('drain', () => r()))
  }
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())))
  return { path, sha256: hash.digest('hex') }
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const piece of createReadStream(path)) hash.update(piece as Buffer)
  return hash.digest('hex')
}

function suite(backend: 'sqlite' | 'postgres'): void {
  describe(`files through the SDK on ${backend}`, () => {
    const schema = `client_files_${Date.now()}_${process.pid}`
    let server: ServerProcess
    let dir: string
    const clients: TacitClient[] = []
    type Account = Awaited<ReturnType<typeof createAccount>>
    let alice: Account
    let bob: Account
    let conversation: string
    const aliceMitm = mitmTransport()
    const bobMitm = mitmTransport()

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'tacit-files-e2e-'))
      server = await startServer(backend === 'postgres' ? { postgresSchema: schema } : {})
      alice = await createAccount(server.url, await server.invite(), 'alice', undefined, {
        transport: aliceMitm,
      })
      bob = await createAccount(server.url, await server.invite(), 'bob', undefined, { transport: bobMitm })
      clients.push(alice.client, bob.client)
      conversation = await alice.client.createConversation({ members: ['bob'], name: 'files' })
      await bob.client.sync()
    })

    after(async () => {
      await Promise.all(clients.map((c) => c.close()))
      await server.stop()
      if (backend === 'postgres') await dropSchema(schema)
      rmSync(dir, { recursive: true, force: true })
    })

    /** Bob's copy of the newest file message. */
    async function receivedFile() {
      await bob.client.sync()
      const m = (await bob.client.history(conversation)).filter((x) => x.kind === 'file').at(-1)
      assert.ok(m?.file, 'bob has the file message')
      return m
    }

    /** Flips one byte of the blob inside the server's own storage. */
    async function tamperStoredBlob(blobId: string): Promise<void> {
      if (backend === 'sqlite') {
        const db = new Database(join(server.dataDir, 'tacit.sqlite'))
        db.pragma('busy_timeout = 5000')
        const row = db
          .prepare('SELECT id, data FROM blob_chunks WHERE blob_id = ? ORDER BY chunk_start LIMIT 1')
          .get(blobId) as { id: number; data: Buffer }
        const data = Buffer.from(row.data)
        data[Math.min(100_000, data.length - 1)]! ^= 0x01
        db.prepare('UPDATE blob_chunks SET data = ? WHERE id = ?').run(data, row.id)
        db.close()
        return
      }
      const pg = (await import('pg')).default
      const client = new pg.Client({ connectionString: POSTGRES_URL })
      await client.connect()
      try {
        const r = await client.query(
          `SELECT id, data FROM "${schema}".blob_chunks WHERE blob_id = $1 ORDER BY chunk_start LIMIT 1`,
          [blobId],
        )
        const data = Buffer.from(r.rows[0].data as Buffer)
        data[Math.min(100_000, data.length - 1)]! ^= 0x01
        await client.query(`UPDATE "${schema}".blob_chunks SET data = $1 WHERE id = $2`, [data, r.rows[0].id])
      } finally {
        await client.end()
      }
    }

    it('a 3 MB file round-trips, with progress, and shows in both histories', async () => {
      const file = await makeFile(dir, 'report.pdf', 3 * MiB + 12345)
      const sentProgress: [number, number][] = []
      const sent = await alice.client.sendFile(conversation, file.path, {
        type: 'application/pdf',
        onProgress: (d, t) => sentProgress.push([d, t]),
      })
      assert.equal(sent.name, 'report.pdf')
      assert.equal(sent.size, 3 * MiB + 12345)
      assert.equal(sent.resumedFrom, 0)
      assert.deepEqual(sentProgress.at(-1), [sent.size, sent.size])
      assert.ok(sentProgress.every(([d], i) => i === 0 || d >= sentProgress[i - 1]![0]))
      const mine = (await alice.client.history(conversation)).find((m) => m.id === sent.id)
      assert.deepEqual(mine?.fileInfo, { name: 'report.pdf', mediaType: 'application/pdf', size: sent.size })

      const m = await receivedFile()
      assert.equal(m.id, sent.id)
      assert.deepEqual(m.fileInfo, { name: 'report.pdf', mediaType: 'application/pdf', size: sent.size })
      const destination = join(dir, 'bob-report.pdf')
      const got: [number, number][] = []
      const result = await bob.client.downloadFile(conversation, m.id, destination, {
        onProgress: (d, t) => got.push([d, t]),
      })
      assert.deepEqual(result, {
        path: destination,
        name: 'report.pdf',
        mediaType: 'application/pdf',
        size: sent.size,
      })
      assert.equal(await sha256Of(destination), file.sha256)
      assert.deepEqual(got.at(-1), [sent.size, sent.size])
      assert.ok(!existsSync(`${destination}.tacit-part`))
    })

    it('a 100 MB file round-trips, checked by digest', { timeout: 240_000 }, async () => {
      const size = 100 * 1000 * 1000
      const file = await makeFile(dir, 'big.bin', size)
      const before = aliceMitm.log.length
      const sent = await alice.client.sendFile(conversation, file.path)
      const patches = aliceMitm.log.slice(before).filter((e) => e.method === 'PATCH')
      const uploaded = patches.reduce((n, e) => n + e.bytes, 0)
      // Exactly the padded blob went up, in requests within the server's limit.
      assert.equal(uploaded, fileLayout(size).ciphertextSize)
      assert.ok(patches.every((e) => e.bytes <= MAX_UPLOAD_REQUEST_BYTES))
      const m = await receivedFile()
      assert.equal(m.id, sent.id)
      const destination = join(dir, 'bob-big.bin')
      await bob.client.downloadFile(conversation, m.id, destination)
      assert.equal(await sha256Of(destination), file.sha256)
      rmSync(destination)
      rmSync(file.path)
    })

    it('an upload cut after the server stored a request whose answer was lost resumes from a new client on the same store', async () => {
      const file = await makeFile(dir, 'resume-up.bin', 20 * MiB)
      const stop = new AbortController()
      let patches = 0
      const from = aliceMitm.log.length
      aliceMitm.set(async (request, forward) => {
        if (!isBlobAppend(request)) return forward(request)
        patches++
        const answer = await forward(request)
        if (patches < 3) return answer
        // The third request reached the server; its answer is lost and the process "dies".
        stop.abort()
        throw new TypeError('connection reset')
      })
      const first = alice.client.sendFile(conversation, file.path, { signal: stop.signal })
      await assert.rejects(first)
      aliceMitm.set(null)
      assert.equal(patches, 3)
      await alice.client.close()

      const counting = mitmTransport()
      const again = await TacitClient.open({
        store: alice.store,
        backend: nodeBackend,
        transport: counting,
        files: nodeFiles(),
      })
      clients.push(again)
      const progress: number[] = []
      const sent = await again.sendFile(conversation, file.path, { onProgress: (d) => progress.push(d) })
      const layout = fileLayout(20 * MiB)
      const resentBytes = counting.log.filter((e) => e.method === 'PATCH').reduce((n, e) => n + e.bytes, 0)
      const storedBytes = aliceMitm.log
        .slice(from)
        .filter((e) => e.method === 'PATCH')
        .reduce((n, e) => n + e.bytes, 0)
      // Three requests were on the server (the third beyond the stored checkpoint): only the rest went up.
      assert.ok(sent.resumedFrom > 0, 'the upload resumed')
      assert.ok(storedBytes > 2 * MAX_UPLOAD_REQUEST_BYTES * 0.9)
      assert.equal(resentBytes, layout.ciphertextSize - storedBytes)
      assert.ok(progress[0]! > 0, 'progress starts where the upload stood')
      alice = { ...alice, client: again }

      const m = await receivedFile()
      assert.equal(m.id, sent.id)
      const files = (await bob.client.history(conversation)).filter(
        (x) => x.fileInfo?.name === 'resume-up.bin',
      )
      assert.equal(files.length, 1, 'one message for the file, not two')
      const destination = join(dir, 'bob-resume-up.bin')
      await bob.client.downloadFile(conversation, m.id, destination)
      assert.equal(await sha256Of(destination), file.sha256)
    })

    it('a file changed in place since the interruption is sent again under a new key, not resumed', async () => {
      const file = await makeFile(dir, 'changed.bin', 10 * MiB)
      const stop = new AbortController()
      let patches = 0
      const transport = (alice.client as unknown as { transport: ReturnType<typeof mitmTransport> }).transport
      transport.set(async (request, forward) => {
        if (!isBlobAppend(request)) return forward(request)
        if (++patches === 2) stop.abort()
        return forward(request)
      })
      await assert.rejects(alice.client.sendFile(conversation, file.path, { signal: stop.signal }))
      transport.set(null)
      // Same size, same inode, same modification time: only the bytes differ.
      const { mtime, atime } = statSync(file.path)
      const handle = openSync(file.path, 'r+')
      writeSync(handle, Buffer.from('changed'), 0, 7, 100)
      closeSync(handle)
      utimesSync(file.path, atime, mtime)
      const from = transport.log.length
      const sent = await alice.client.sendFile(conversation, file.path)
      assert.equal(sent.resumedFrom, 0, 'the stored checkpoint no longer matches the file')
      assert.equal(
        transport.log.slice(from).filter((e) => e.method === 'POST' && e.path === '/v1/blobs').length,
        1,
      )
      const m = await receivedFile()
      const destination = join(dir, 'bob-changed.bin')
      await bob.client.downloadFile(conversation, m.id, destination)
      assert.equal(await sha256Of(destination), await sha256Of(file.path))
      assert.notEqual(await sha256Of(destination), file.sha256)
    })

    it('after a lost answer or a dropped request the client asks the server’s offset: what landed is not sent twice, what did not is', async () => {
      const file = await makeFile(dir, 'lost-answer.bin', 10 * MiB)
      const transport = (alice.client as unknown as { transport: ReturnType<typeof mitmTransport> }).transport
      let patches = 0
      let dropped = 0
      let lost = 0
      transport.set(async (request, forward) => {
        if (!isBlobAppend(request)) return forward(request)
        patches++
        // The first request never reaches the server; the second lands but its answer is lost.
        if (patches === 1) {
          dropped = Number(request.headers.get('upload-offset'))
          throw new TypeError('connection refused')
        }
        const answer = await forward(request)
        if (patches === 3) {
          lost = Number(request.headers.get('upload-offset'))
          throw new TypeError('connection reset')
        }
        return answer
      })
      const from = transport.log.length
      const sent = await alice.client.sendFile(conversation, file.path)
      transport.set(null)
      const requests = transport.log.slice(from)
      const uploaded = requests.filter((e) => e.method === 'PATCH')
      const statusChecks = requests.filter((e) => e.method === 'GET' && e.path.endsWith('/upload'))
      assert.equal(dropped, 0)
      assert.ok(lost > 0, 'a later request lost its answer')
      // Four requests went out for three bodies: the dropped one twice, the landed one once.
      assert.equal(uploaded.length, 4)
      assert.equal(uploaded[0]!.bytes, uploaded[1]!.bytes)
      assert.equal(
        uploaded.slice(1).reduce((n, e) => n + e.bytes, 0),
        fileLayout(10 * MiB).ciphertextSize,
      )
      assert.equal(statusChecks.length, 2, 'one status check after each failure')
      const m = await receivedFile()
      assert.equal(m.id, sent.id)
      const destination = join(dir, 'bob-lost-answer.bin')
      await bob.client.downloadFile(conversation, m.id, destination)
      assert.equal(await sha256Of(destination), file.sha256)
    })

    it('a download cut mid-way continues with a range request from the byte reached', async () => {
      const file = await makeFile(dir, 'cut-once.bin', 8 * MiB)
      await alice.client.sendFile(conversation, file.path)
      const m = await receivedFile()
      let cuts = 0
      bobMitm.set(async (request, forward) => {
        const answer = await forward(request)
        if (!isBlobDownload(request) || cuts > 0) return answer
        cuts++
        return cutBody(answer, 3 * MiB, 'error')
      })
      const from = bobMitm.log.length
      const destination = join(dir, 'bob-cut-once.bin')
      await bob.client.downloadFile(conversation, m.id, destination)
      bobMitm.set(null)
      const gets = bobMitm.log
        .slice(from)
        .filter((e) => e.method === 'GET' && e.path.startsWith('/v1/blobs/'))
      assert.deepEqual(
        gets.map((g) => g.range),
        [null, `bytes=${3 * MiB}-`],
      )
      assert.equal(await sha256Of(destination), file.sha256)
    })

    it('a download interrupted and called again resumes from the verified part on disk', async () => {
      const file = await makeFile(dir, 'resume-down.bin', 12 * MiB)
      await alice.client.sendFile(conversation, file.path)
      const m = await receivedFile()
      const destination = join(dir, 'bob-resume-down.bin')
      const stop = new AbortController()
      bobMitm.set(async (request, forward) => {
        const answer = await forward(request)
        if (!isBlobDownload(request)) return answer
        return cutBody(answer, 5 * MiB, 'error', () => stop.abort())
      })
      await assert.rejects(bob.client.downloadFile(conversation, m.id, destination, { signal: stop.signal }))
      bobMitm.set(null)
      assert.ok(!existsSync(destination), 'nothing at the destination after an interruption')
      assert.ok(existsSync(`${destination}.tacit-part`), 'the verified part is kept beside it')

      const from = bobMitm.log.length
      const progress: number[] = []
      await bob.client.downloadFile(conversation, m.id, destination, { onProgress: (d) => progress.push(d) })
      const ranged = bobMitm.log.slice(from).filter((e) => e.method === 'GET' && e.range !== null)
      assert.equal(ranged.length, 1)
      const start = Number(/^bytes=(\d+)-$/.exec(ranged[0]!.range!)?.[1])
      // Not a restart: from the last whole chunk written before the cut at 5 MiB.
      assert.ok(start > 2 * MiB && start <= 5 * MiB, `resumed at ${start}`)
      assert.ok(progress[0]! > 2 * MiB, 'progress continues from the part already there')
      assert.equal(await sha256Of(destination), file.sha256)
      assert.ok(!existsSync(`${destination}.tacit-part`))
    })

    it('a blob modified in the server’s storage is rejected with a typed error, nothing at the final path', async () => {
      const file = await makeFile(dir, 'tamper.bin', 2 * MiB)
      await alice.client.sendFile(conversation, file.path)
      const m = await receivedFile()
      const { blobId } = decodeFileDescriptor(Buffer.from(m.file!, 'base64url'))
      await tamperStoredBlob(blobId)
      const destination = join(dir, 'bob-tamper.bin')
      await assert.rejects(bob.client.downloadFile(conversation, m.id, destination), (e) => {
        assert.ok(ClientError.is(e, 'file-tampered'), String(e))
        return true
      })
      assert.ok(!existsSync(destination))
      assert.ok(!existsSync(`${destination}.tacit-part`))
    })

    it('a blob cut short by a man in the middle is rejected the same way', async () => {
      const file = await makeFile(dir, 'truncate.bin', 1 * MiB)
      await alice.client.sendFile(conversation, file.path)
      const m = await receivedFile()
      bobMitm.set(async (request, forward) => {
        const answer = await forward(request)
        return isBlobDownload(request) ? cutBody(answer, 512 * 1024, 'end') : answer
      })
      const destination = join(dir, 'bob-truncate.bin')
      try {
        await assert.rejects(bob.client.downloadFile(conversation, m.id, destination), (e) =>
          ClientError.is(e, 'file-tampered'),
        )
      } finally {
        bobMitm.set(null)
      }
      assert.ok(!existsSync(destination))
      assert.ok(!existsSync(`${destination}.tacit-part`))
    })
  })
}

suite('sqlite')
if (process.env.TACIT_TEST_POSTGRES !== '0') suite('postgres')
