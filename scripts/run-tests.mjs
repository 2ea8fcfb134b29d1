#!/usr/bin/env node
// Runs every test file of the workspace in node's test runner (with tsx for TypeScript) and ends
// with the line "N passed, N failed" that CI reads. Node 20's `--test` takes no globs, so the
// files are listed here: packages/*/test/**/*.test.ts and tests/**/*.test.ts.
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

const root = new URL('..', import.meta.url).pathname

function collect(dir, out) {
  let entries
  try {
    entries = readdirSync(dir)
  } catch {
    return out
  }
  for (const name of entries) {
    if (name === 'node_modules' || name.startsWith('.')) continue
    const path = join(dir, name)
    if (statSync(path).isDirectory()) collect(path, out)
    else if (name.endsWith('.test.ts')) out.push(relative(root, path))
  }
  return out
}

const only = process.argv.slice(2)
const files = []
for (const pkg of readdirSync(join(root, 'packages'))) collect(join(root, 'packages', pkg, 'test'), files)
collect(join(root, 'tests'), files)
files.sort()
const selected = only.length ? files.filter((f) => only.some((o) => f.includes(o))) : files
if (selected.length === 0) {
  console.error('no test files found')
  process.exit(1)
}

const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    `--test-reporter=${join(root, 'scripts/summary-reporter.mjs')}`,
    '--test-reporter-destination=stdout',
    ...selected,
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, TACIT_REPO_ROOT: root } },
)
process.exit(result.status ?? 1)
