/**
 * One CLI user (`packages/cli/bin/tacit.mjs`) in its own profile folder, driven with `--json`.
 * Every command is a separate process with a bounded run time; the profile is deleted by `remove`.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REPO_ROOT } from '../../e2e/support/server.ts'

const TACIT = join(REPO_ROOT, 'packages/cli/bin/tacit.mjs')
/** One command, on a loaded machine (each process compiles through tsx). */
export const CLI_TIMEOUT_MS = 90_000
/** Bound on `account link` from its start until the answer was typed and the account arrived. */
export const LINK_TIMEOUT_MS = 5 * 60_000
/** Output kept from one command: JSON documents here are small. */
const MAX_OUTPUT_CHARS = 1 << 20

export class CliError extends Error {
  constructor(
    readonly exitCode: number | null,
    readonly stderr: string,
    args: readonly string[],
  ) {
    super(`tacit ${args[0] ?? ''} exited ${exitCode}: ${stderr.slice(-2000)}`)
    this.name = 'CliError'
  }
}

export class CliUser {
  readonly profile: string

  constructor(
    readonly handle: string,
    private readonly serverUrl: string,
    private readonly passphrase = 'cli passphrase for tests',
  ) {
    this.profile = mkdtempSync(join(tmpdir(), `tacit-web-cli-${handle}-`))
  }

  /** Runs `tacit --json … args` and parses its one JSON document. */
  async run<T = Record<string, unknown>>(args: readonly string[]): Promise<T> {
    const full = ['--profile', this.profile, '--server', this.serverUrl, '--json', ...args]
    const child = spawn(process.execPath, [TACIT, ...full], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TACIT_PASSPHRASE: this.passphrase, TACIT_INSECURE_FAST_KDF: '1' },
    })
    let stdout = ''
    let stderr = ''
    child.stdout!.on('data', (d: Buffer) => {
      stdout = (stdout + d.toString()).slice(-MAX_OUTPUT_CHARS)
    })
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-8192)
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), CLI_TIMEOUT_MS)
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
    clearTimeout(timer)
    if (code !== 0) throw new CliError(code, stderr, args)
    const last = stdout.trim().split('\n').at(-1) ?? ''
    return JSON.parse(last) as T
  }

  /**
   * New device, step 1 (`tacit account link --json` in this profile): resolves with the link code
   * once shown; `complete(answer)` types the approving device's answer at its prompt and resolves
   * with the account it linked to (step 3).
   */
  async beginLink(): Promise<{ code: string; complete(answer: string): Promise<{ handle: string }> }> {
    const args = ['--profile', this.profile, '--server', this.serverUrl, '--json', 'account', 'link']
    const child = spawn(process.execPath, [TACIT, ...args], {
      cwd: REPO_ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, TACIT_PASSPHRASE: this.passphrase, TACIT_INSECURE_FAST_KDF: '1' },
    })
    let stdout = ''
    let stderr = ''
    let onLine: () => void = () => {}
    child.stdout!.on('data', (d: Buffer) => {
      stdout = (stdout + d.toString()).slice(-MAX_OUTPUT_CHARS)
      onLine()
    })
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-8192)
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), LINK_TIMEOUT_MS)
    const closed = new Promise<number | null>((resolve) => child.once('close', resolve)).finally(() =>
      clearTimeout(timer),
    )
    const firstLine = await Promise.race([
      new Promise<string>((resolve) => {
        onLine = () => {
          if (stdout.includes('\n')) resolve(stdout.split('\n')[0]!)
        }
        onLine()
      }),
      closed.then((code) => {
        throw new CliError(code, stderr, ['account', 'link'])
      }),
    ])
    const { code } = JSON.parse(firstLine) as { event: string; code: string }
    return {
      code,
      complete: async (answer: string) => {
        child.stdin!.end(`${answer}\n`)
        const exit = await closed
        if (exit !== 0) throw new CliError(exit, stderr, ['account', 'link'])
        const linked = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as {
          event: string
          account: { handle: string }
        }
        if (linked.event !== 'linked') throw new Error(`account link ended with ${linked.event}`)
        return linked.account
      },
    }
  }

  remove(): void {
    rmSync(this.profile, { recursive: true, force: true })
  }
}
