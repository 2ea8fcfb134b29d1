/**
 * Builds the web client (`packages/web`, Vite) into a temporary folder for a test or benchmark,
 * so runs never race over `packages/web/dist`. The server is then started with `--web-dir`.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REPO_ROOT } from '../../e2e/support/server.ts'

/** A production build on a loaded two-core machine. */
export const BUILD_TIMEOUT_MS = 180_000
const VITE = join(REPO_ROOT, 'node_modules/vite/bin/vite.js')

export interface WebBuild {
  readonly dir: string
  remove(): void
}

export async function buildWebApp(): Promise<WebBuild> {
  const dir = mkdtempSync(join(tmpdir(), 'tacit-web-dist-'))
  const child = spawn(
    process.execPath,
    [VITE, 'build', 'packages/web', '--outDir', dir, '--emptyOutDir', '--logLevel', 'warn'],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-8192)
  }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  const timer = setTimeout(() => child.kill('SIGKILL'), BUILD_TIMEOUT_MS)
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
  clearTimeout(timer)
  if (code !== 0 || !existsSync(join(dir, 'index.html'))) {
    rmSync(dir, { recursive: true, force: true })
    throw new Error(`the web build failed (exit ${code}): ${output}`)
  }
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}
