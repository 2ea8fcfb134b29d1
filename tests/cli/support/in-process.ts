/** Runs `runCli` in this process with captured streams, against a fake client factory. */
import { PassThrough } from 'node:stream'
import { type CliIo, runCli } from '../../../packages/cli/src/cli.ts'
import type { ClientFactory } from '../../../packages/cli/src/client-api.ts'

export interface InProcessRun {
  readonly code: Promise<number>
  readonly stdin: PassThrough
  stdout(): string
  stderr(): string
  readonly abort: AbortController
}

export function startCli(
  argv: string[],
  factory: ClientFactory,
  env: Record<string, string> = {},
): InProcessRun {
  const stdin = new PassThrough()
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  let err = ''
  stdout.on('data', (d: Buffer) => {
    out += d.toString()
  })
  stderr.on('data', (d: Buffer) => {
    err += d.toString()
  })
  const abort = new AbortController()
  const io = { stdin, stdout, stderr } as unknown as CliIo
  const code = runCli({
    argv,
    env: { TACIT_PASSPHRASE: 'correct horse', ...env },
    io,
    factory,
    signal: abort.signal,
  })
  return { code, stdin, stdout: () => out, stderr: () => err, abort }
}

export async function runCliOnce(
  argv: string[],
  factory: ClientFactory,
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const run = startCli(argv, factory, env)
  run.stdin.end()
  const code = await run.code
  return { code, stdout: run.stdout(), stderr: run.stderr() }
}

/** Resolves once `predicate(read())` holds; rejects after `timeoutMs`. */
export async function waitFor(
  read: () => string,
  predicate: (s: string) => boolean,
  timeoutMs = 5000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs
  while (!predicate(read())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting; got:\n${read()}`)
    await new Promise((r) => setTimeout(r, 10))
  }
  return read()
}
