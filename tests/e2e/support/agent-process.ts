/**
 * Starts `client-agent.ts` as a child process and calls its commands. Every call has a bounded
 * wait; `kill` ends the process (SIGKILL after a grace period).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { REPO_ROOT } from './server.ts'

const AGENT = join(REPO_ROOT, 'tests/e2e/support/client-agent.ts')
export const AGENT_START_TIMEOUT_MS = 60_000
/** One command: sync barriers and commits on a loaded machine stay well inside this. */
export const CALL_TIMEOUT_MS = 90_000
const EXIT_GRACE_MS = 5_000

interface Reply {
  id: number
  ok: boolean
  result?: unknown
  error?: { code: string; message: string }
}

export class AgentError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
    this.name = 'AgentError'
  }
}

export class Agent {
  private nextId = 1
  private readonly waiting = new Map<number, (r: Reply) => void>()
  private stderr = ''
  private readonly exited: Promise<void>

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()))
    child.stderr!.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4096)
    })
    child.once('exit', (code, signal) => {
      for (const [, resolve] of this.waiting)
        resolve({
          id: -1,
          ok: false,
          error: { code: 'exited', message: `agent exited (${code ?? signal}): ${this.stderr}` },
        })
      this.waiting.clear()
    })
  }

  static async start(name: string): Promise<Agent> {
    const child = spawn(process.execPath, ['--import', 'tsx', AGENT], {
      cwd: REPO_ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    const agent = new Agent(name, child)
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${name}: agent did not start`)),
        AGENT_START_TIMEOUT_MS,
      )
      agent.waiting.set(0, (r) => {
        clearTimeout(timer)
        if (r.ok) resolve()
        else reject(new Error(`${name}: ${r.error?.message}`))
      })
    })
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let r: Reply
      try {
        r = JSON.parse(line) as Reply
      } catch {
        return // Not one of ours (a library writing to stdout).
      }
      const resolve = agent.waiting.get(r.id)
      agent.waiting.delete(r.id)
      resolve?.(r)
    })
    try {
      await ready
    } catch (error) {
      await agent.kill()
      throw error
    }
    return agent
  }

  call<T = unknown>(
    command: string,
    args: Record<string, unknown> = {},
    timeoutMs = CALL_TIMEOUT_MS,
  ): Promise<T> {
    const id = this.nextId++
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id)
        reject(new Error(`${this.name}: ${command} timed out`))
      }, timeoutMs)
      this.waiting.set(id, (r) => {
        clearTimeout(timer)
        if (r.ok) resolve(r.result as T)
        else reject(new AgentError(r.error?.code ?? 'error', `${this.name}: ${command}: ${r.error?.message}`))
      })
      this.child.stdin!.write(`${JSON.stringify({ id, command, args })}\n`)
    })
  }

  /** Closes the client and its store, then lets the process end (SIGKILL if it does not). */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    this.child.stdin!.end()
    const timer = setTimeout(() => this.child.kill('SIGKILL'), EXIT_GRACE_MS)
    await this.exited
    clearTimeout(timer)
  }

  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    this.child.kill('SIGKILL')
    await this.exited
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }
}

/** Resolves when `condition` holds; rejects after `ms` (tests fail, never hang). */
export async function waitFor(condition: () => Promise<boolean>, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}
