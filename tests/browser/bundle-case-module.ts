import { fileURLToPath } from 'node:url'
import { build, formatMessages, type Message } from 'esbuild'
import { REPO_ROOT } from './paths.ts'

/**
 * Bundles a runtime-neutral case module for the page: one ES module holding the page runner and
 * the case module with everything it imports (`.ts` files, `@tacit/*` workspace packages through
 * their node_modules symlinks, @noble/*). A `node:` import fails the bundle, which is the point:
 * a case module that needs Node is not runtime-neutral.
 */

/** The largest bundle we serve; the crypto and protocol case modules are far below it. */
export const MAX_BUNDLE_BYTES = 32 * 1024 * 1024

export class BundleError extends Error {
  override readonly name = 'BundleError'
}

function toPath(entry: string | URL): string {
  return entry instanceof URL ? fileURLToPath(entry) : entry
}

async function describeMessages(messages: Message[]): Promise<string> {
  const lines = await formatMessages(messages.slice(0, 10), { kind: 'error', color: false })
  return lines.join('\n')
}

/** Returns the bundled JavaScript for `entry`'s `exportName`. */
export async function bundleCaseModule(entry: string | URL, exportName: string): Promise<string> {
  const entryPath = toPath(entry)
  const runnerPath = fileURLToPath(new URL('./page-runner.ts', import.meta.url))
  const contents = [
    `import { installPageRunner } from ${JSON.stringify(runnerPath)}`,
    `installPageRunner(() => import(${JSON.stringify(entryPath)}), ${JSON.stringify(exportName)})`,
  ].join('\n')
  let result: Awaited<ReturnType<typeof build>>
  try {
    result = await build({
      stdin: { contents, resolveDir: REPO_ROOT, sourcefile: 'tacit-browser-entry.ts', loader: 'ts' },
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      tsconfig: `${REPO_ROOT}/tsconfig.json`,
      logLevel: 'silent',
      legalComments: 'none',
    })
  } catch (error) {
    const messages = (error as { errors?: Message[] }).errors
    const detail = messages === undefined ? String(error) : await describeMessages(messages)
    throw new BundleError(`could not bundle ${entryPath} for the browser:\n${detail}`, { cause: error })
  }
  const output = result.outputFiles?.[0]
  if (output === undefined) throw new BundleError(`esbuild produced no output for ${entryPath}`)
  if (output.contents.length > MAX_BUNDLE_BYTES) {
    throw new BundleError(
      `bundle of ${entryPath} is ${output.contents.length} bytes, above ${MAX_BUNDLE_BYTES}`,
    )
  }
  return output.text
}
