import { isAbsolute, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root (this file is `tests/browser/paths.ts`). */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '')

/** `../shared/vectors` from the repository root; TACIT_VECTORS overrides it (as in `harness/node.ts`). */
export function resolveVectorsDir(): string {
  const override = process.env.TACIT_VECTORS
  if (override !== undefined && override !== '') return isAbsolute(override) ? override : resolve(override)
  return join(REPO_ROOT, '..', 'shared', 'vectors')
}

/** Debian's Chromium; TACIT_CHROMIUM points elsewhere on other machines. */
export function resolveChromiumPath(): string {
  const override = process.env.TACIT_CHROMIUM
  return override !== undefined && override !== '' ? override : '/usr/bin/chromium'
}
