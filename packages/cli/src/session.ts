/**
 * What a command run needs beyond its arguments: the profile folder, the passphrase, and an open
 * client. Each is fetched on first use, so commands that need none of them (help) touch nothing,
 * and the client is closed once whatever the command did.
 */
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import type { CliClient, ClientFactory } from './client-api.ts'
import type { GlobalOptions } from './command.ts'
import { CliError } from './errors.ts'
import { type PromptStreams, readPassphrase } from './passphrase.ts'

export const DEFAULT_PROFILE_DIR = '.tacit'

export class Session {
  readonly #globals: GlobalOptions
  readonly #env: NodeJS.ProcessEnv
  readonly #streams: PromptStreams
  readonly #factory: ClientFactory
  #client: CliClient | undefined
  /** Kept between the two steps of linking within one run, so it is asked once. */
  #passphrase: string | undefined

  constructor(params: {
    globals: GlobalOptions
    env: NodeJS.ProcessEnv
    streams: PromptStreams
    factory: ClientFactory
  }) {
    this.#globals = params.globals
    this.#env = params.env
    this.#streams = params.streams
    this.#factory = params.factory
  }

  get profileDir(): string {
    return resolve(
      this.#globals.profile ?? join(this.#env.HOME ? this.#env.HOME : homedir(), DEFAULT_PROFILE_DIR),
    )
  }

  /** The server named by --server or TACIT_SERVER; required where the profile cannot say it. */
  requireServer(): string {
    const server = this.#globals.server
    if (server === undefined)
      throw new CliError('usage', 'no server: pass --server <url> or set TACIT_SERVER')
    return server
  }

  passphrase(options: { readonly confirm?: boolean } = {}): Promise<string> {
    return readPassphrase(this.#env, this.#streams, options)
  }

  /** Opens the profile's account and connects; the same client for the rest of the command. */
  async client(): Promise<CliClient> {
    if (this.#client) return this.#client
    const passphrase = await this.passphrase()
    this.#client = await this.#factory.openAccount({
      profileDir: this.profileDir,
      passphrase,
      server: this.#globals.server,
    })
    return this.#client
  }

  async createAccount(handle: string, invite: string): Promise<CliClient> {
    const server = this.requireServer()
    const passphrase = await this.passphrase({ confirm: true })
    this.#client = await this.#factory.createAccount({
      profileDir: this.profileDir,
      passphrase,
      server,
      handle,
      invite,
    })
    return this.#client
  }

  async beginLink(): Promise<string> {
    const server = this.requireServer()
    const passphrase = await this.passphrase({ confirm: true })
    this.#passphrase = passphrase
    const { code } = await this.#factory.beginLink({ profileDir: this.profileDir, passphrase, server })
    return code
  }

  async completeLink(answer: string): Promise<CliClient> {
    const passphrase = this.#passphrase ?? (await this.passphrase())
    this.#client = await this.#factory.completeLink({ profileDir: this.profileDir, passphrase, answer })
    return this.#client
  }

  async close(): Promise<void> {
    const client = this.#client
    this.#client = undefined
    if (client) await client.close()
  }
}
