#!/usr/bin/env node
// Builds the web client into packages/web/dist (`npm run build:web`). With --if-stale it builds
// only when dist is missing or was built from other sources: `npm start` and the browser tests
// call it that way. "Other sources" is decided by content, not timestamps: a SHA-256 over the
// path and bytes of every input (the web package, the client, protocol and crypto sources, the
// lock file) is kept in dist/.build-stamp (a dot file: the server never serves it).
//
// The build goes to a fresh folder under .tmp/ and is renamed into place, so a server running
// meanwhile never serves half a build and two concurrent builds cannot mix their files.
import { createHash } from 'node:crypto'
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const webRoot = join(dirname(fileURLToPath(import.meta.url)), '..')
const repoRoot = join(webRoot, '..', '..')
const dist = join(webRoot, 'dist')
const STAMP = '.build-stamp'

/** Files and folders whose content goes into the bundle. */
const INPUTS = [
  'packages/web/index.html',
  'packages/web/vite.config.ts',
  'packages/web/package.json',
  'packages/web/src',
  'packages/web/public',
  'packages/client/src',
  'packages/protocol/src',
  'packages/crypto/src',
  'package-lock.json',
]

function collect(path, out) {
  let info
  try {
    info = statSync(path)
  } catch {
    return
  }
  if (info.isDirectory()) {
    for (const name of readdirSync(path).sort()) {
      if (name === 'node_modules' || name.startsWith('.')) continue
      collect(join(path, name), out)
    }
  } else if (info.isFile()) {
    out.push(path)
  }
}

export function sourceHash() {
  const files = []
  for (const input of INPUTS) collect(join(repoRoot, input), files)
  const hash = createHash('sha256')
  for (const file of files) {
    hash.update(relative(repoRoot, file))
    hash.update('\0')
    hash.update(readFileSync(file))
    hash.update('\0')
  }
  return hash.digest('hex')
}

export function isFresh(hash = sourceHash()) {
  try {
    return existsSync(join(dist, 'index.html')) && readFileSync(join(dist, STAMP), 'utf8').trim() === hash
  } catch {
    return false
  }
}

export async function buildWeb() {
  const hash = sourceHash()
  const { build } = await import('vite')
  // Under the repository's git-ignored .tmp/ (same file system as dist, so rename works; out of
  // the linter's and git's way).
  const scratch = join(repoRoot, '.tmp')
  mkdirSync(scratch, { recursive: true })
  const tmp = join(scratch, `web-dist-${process.pid}`)
  const old = join(scratch, `web-dist-old-${process.pid}`)
  rmSync(tmp, { recursive: true, force: true })
  try {
    await build({
      configFile: join(webRoot, 'vite.config.ts'),
      build: { outDir: tmp, emptyOutDir: true },
    })
    writeFileSync(join(tmp, STAMP), `${hash}\n`)
    if (existsSync(dist)) renameSync(dist, old)
    renameSync(tmp, dist)
  } finally {
    rmSync(tmp, { recursive: true, force: true })
    rmSync(old, { recursive: true, force: true })
  }
}

async function main() {
  const ifStale = process.argv.includes('--if-stale')
  if (ifStale && process.env.TACIT_SKIP_WEB_BUILD === '1') return
  if (ifStale && isFresh()) return
  process.stderr.write(`building the web client into ${relative(process.cwd(), dist) || dist} …\n`)
  await buildWeb()
  process.stderr.write('web client built\n')
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error) => {
    process.stderr.write(
      `building the web client failed: ${error instanceof Error ? error.message : String(error)}\n`,
    )
    process.exit(1)
  })
}
