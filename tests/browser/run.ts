// `npm run test:browser`: every test that drives Chromium — the harness's own tests
// (tests/browser/**) and each package's `browser.test.ts` — through the workspace test runner.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { REPO_ROOT } from './paths.ts'

const result = spawnSync(
  process.execPath,
  [
    join(REPO_ROOT, 'scripts', 'run-tests.mjs'),
    'tests/browser/',
    '/browser.test.ts',
    ...process.argv.slice(2),
  ],
  { cwd: REPO_ROOT, stdio: 'inherit' },
)
process.exit(result.status ?? 1)
