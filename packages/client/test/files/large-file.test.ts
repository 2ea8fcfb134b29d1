/**
 * Constant memory (issue #4 item 4): a large file is encrypted and decrypted with the process's
 * peak RSS under 200 MB. The suite runs 256 MiB (the 2 cores are shared); TACIT_FILES_2GIB=1
 * runs the full 2 GiB, whose measured numbers are in docs/decisions/0008.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileLayout } from '@tacit/protocol/files/format'

const MAX_RSS_BYTES = 200 * 1000 * 1000
const FULL = process.env.TACIT_FILES_2GIB === '1'
const SIZE = FULL ? 2 * 1024 ** 3 : 256 * 1024 ** 2

function runChild(size: number, folder: string): Promise<Record<string, unknown>> {
  const script = new URL('./large-file-child.ts', import.meta.url).pathname
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, String(size), folder], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let stdout = ''
    child.stdout.on('data', (d) => {
      stdout += d
    })
    // Bounded: a stuck child is killed rather than left to hold the suite.
    const timer = setTimeout(() => child.kill('SIGKILL'), FULL ? 900_000 : 300_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      if (code !== 0) return reject(new Error(`child exited with ${code}`))
      try {
        resolve(JSON.parse(stdout.trim().split('\n').at(-1)!))
      } catch (error) {
        reject(error)
      }
    })
  })
}

test(
  `a ${SIZE / 1024 ** 2} MiB file moves through encrypt and decrypt with peak RSS under 200 MB`,
  {
    timeout: FULL ? 1_000_000 : 400_000,
  },
  async () => {
    const folder = await mkdtemp(join(tmpdir(), 'tacit-large-'))
    try {
      const result = await runChild(SIZE, folder)
      console.log(`large file: ${JSON.stringify(result)}`)
      assert.equal(result.size, SIZE)
      assert.equal(result.outSize, SIZE)
      assert.equal(result.blobSize, fileLayout(SIZE).ciphertextSize)
      assert.equal(result.sameContent, true)
      assert.ok(
        typeof result.maxRssBytes === 'number' && result.maxRssBytes < MAX_RSS_BYTES,
        `peak RSS ${result.maxRssBytes} bytes`,
      )
      assert.deepEqual(await readdir(folder), [], 'the child left no files behind')
    } finally {
      await rm(folder, { recursive: true, force: true })
    }
  },
)
