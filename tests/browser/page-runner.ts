import type { CaseGroup, TestCase, TestEnv } from '../harness/cases.ts'
import {
  PAGE_RUNNER_GLOBAL,
  type PageCaseError,
  type PageCaseOutcome,
  type PageGroupListing,
  type PageRunner,
  VECTORS_URL_PREFIX,
} from './page-protocol.ts'

/**
 * The part of the harness that runs inside Chromium. It is bundled together with the case module
 * (see `bundle-case-module.ts`), resolves the module's export into case groups and answers
 * Node's `list()` and `run()` calls. Vectors are fetched from the harness's static server.
 */

function describeError(error: unknown): PageCaseError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    const message = `${error.name}: ${error.message}${typeof code === 'string' && !error.message.includes(code) ? ` (${code})` : ''}`
    return error.stack === undefined ? { message } : { message, stack: error.stack }
  }
  return { message: `non-Error thrown: ${String(error)}` }
}

function isCaseGroup(value: unknown): value is CaseGroup {
  const group = value as CaseGroup | null
  return typeof group?.name === 'string' && Array.isArray(group.cases)
}

/** An export may be groups, one group, or a (possibly async) function returning either. */
async function resolveGroups(
  moduleExports: Record<string, unknown>,
  exportName: string,
): Promise<CaseGroup[]> {
  if (!(exportName in moduleExports)) throw new Error(`the case module has no export named '${exportName}'`)
  let value = moduleExports[exportName]
  if (typeof value === 'function') value = await (value as () => unknown)()
  const groups = Array.isArray(value) ? value : [value]
  for (const group of groups) {
    if (!isCaseGroup(group)) throw new Error(`export '${exportName}' did not give CaseGroup values`)
  }
  return groups as CaseGroup[]
}

function readVector(path: string): Promise<string> {
  if (path.split('/').some((part) => part === '..' || part === '')) {
    return Promise.reject(new Error(`readVector: refusing path '${path}'`))
  }
  const url = VECTORS_URL_PREFIX + path.split('/').map(encodeURIComponent).join('/')
  return fetch(url).then((response) => {
    if (!response.ok) throw new Error(`readVector ${path}: HTTP ${response.status}`)
    return response.text()
  })
}

/**
 * Installs the runner global. `load` imports the case module (a dynamic import, so that an error
 * thrown while the module evaluates is reported as a load failure instead of a silent page).
 */
export function installPageRunner(load: () => Promise<Record<string, unknown>>, exportName: string): void {
  let groups: CaseGroup[] = []
  const runner: { -readonly [K in keyof PageRunner]: PageRunner[K] } = {
    state: 'loading',
    list: (): PageGroupListing[] => groups.map((g) => ({ name: g.name, cases: g.cases.map((c) => c.name) })),
    async run(group: number, index: number): Promise<PageCaseOutcome> {
      const testCase: TestCase | undefined = groups[group]?.cases[index]
      const logs: string[] = []
      if (testCase === undefined) {
        return { ok: false, logs, error: { message: `no case ${group}/${index} in the page` } }
      }
      const env: TestEnv = { runtime: 'browser', readVector, log: (line) => logs.push(line) }
      try {
        await testCase.run(env)
        return { ok: true, logs }
      } catch (error) {
        return { ok: false, logs, error: describeError(error) }
      }
    },
  }
  ;(globalThis as Record<string, unknown>)[PAGE_RUNNER_GLOBAL] = runner
  load()
    .then((moduleExports) => resolveGroups(moduleExports, exportName))
    .then(
      (resolved) => {
        groups = resolved
        runner.state = 'ready'
      },
      (error: unknown) => {
        runner.loadError = describeError(error)
        runner.state = 'failed'
      },
    )
}
