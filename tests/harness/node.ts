import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import type { CaseGroup, TestEnv } from './cases.ts'

/** `../shared/vectors` from the repository root; TACIT_VECTORS overrides it. */
export const VECTORS_DIR =
  process.env.TACIT_VECTORS ?? join(new URL('../..', import.meta.url).pathname, '..', 'shared', 'vectors')

export const nodeEnv: TestEnv = {
  runtime: 'node',
  readVector: (path) => readFile(join(VECTORS_DIR, path), 'utf8'),
  log: (line) => console.log(line),
}

/** Registers runtime-neutral case groups with node:test. */
export function registerCaseGroups(groups: readonly CaseGroup[]): void {
  for (const group of groups) {
    describe(group.name, () => {
      for (const c of group.cases) test(c.name, () => c.run(nodeEnv))
    })
  }
}
