/**
 * The passphrase that unlocks the profile's encrypted store: from the environment variable
 * TACIT_PASSPHRASE (for scripts), or typed at a hidden prompt on the terminal. It is never echoed,
 * logged or put in an error message.
 */
import { CliError } from './errors.ts'
import { MAX_PASSPHRASE_BYTES } from './limits.ts'

export const PASSPHRASE_ENV = 'TACIT_PASSPHRASE'
/** A new store's passphrase: short ones fall to a guessing attack on a stolen store file. */
export const MIN_NEW_PASSPHRASE_CHARS = 8

export interface PromptStreams {
  readonly stdin: NodeJS.ReadStream
  readonly stderr: NodeJS.WriteStream | (NodeJS.WritableStream & { isTTY?: boolean })
}

export async function readPassphrase(
  env: NodeJS.ProcessEnv,
  streams: PromptStreams,
  options: { readonly confirm?: boolean; readonly purpose?: string } = {},
): Promise<string> {
  const fromEnv = env[PASSPHRASE_ENV]
  let passphrase: string
  if (fromEnv !== undefined && fromEnv !== '') {
    passphrase = fromEnv
  } else {
    if (!streams.stdin.isTTY) {
      throw new CliError('auth', `no passphrase: set ${PASSPHRASE_ENV} or run in a terminal to be asked`)
    }
    passphrase = await promptHidden(streams, `${options.purpose ?? 'Passphrase'}: `)
    if (options.confirm) {
      const again = await promptHidden(streams, 'Repeat it: ')
      if (again !== passphrase) throw new CliError('auth', 'the two passphrases differ')
    }
  }
  checkPassphrase(passphrase, options.confirm === true)
  return passphrase
}

export function checkPassphrase(passphrase: string, isNew: boolean): void {
  if (passphrase.length === 0) throw new CliError('auth', 'the passphrase is empty')
  if (Buffer.byteLength(passphrase, 'utf8') > MAX_PASSPHRASE_BYTES) {
    throw new CliError('usage', `the passphrase is longer than ${MAX_PASSPHRASE_BYTES} bytes`)
  }
  if (isNew && [...passphrase].length < MIN_NEW_PASSPHRASE_CHARS) {
    throw new CliError('auth', `choose a passphrase of at least ${MIN_NEW_PASSPHRASE_CHARS} characters`)
  }
}

/** Reads one line in raw mode without echo. Ctrl-C and Ctrl-D abandon it. */
function promptHidden(streams: PromptStreams, prompt: string): Promise<string> {
  const { stdin, stderr } = streams
  return new Promise((resolve, reject) => {
    let value = ''
    const wasRaw = stdin.isRaw
    stderr.write(prompt)
    stdin.setRawMode(true)
    stdin.resume()
    stdin.setEncoding('utf8')
    const finish = (error: CliError | undefined) => {
      stdin.off('data', onData)
      stdin.setRawMode(wasRaw)
      stdin.pause()
      stderr.write('\n')
      if (error) reject(error)
      else resolve(value)
    }
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return finish(undefined)
        if (ch === '\u0003') return finish(new CliError('interrupted', 'interrupted'))
        if (ch === '\u0004') return finish(new CliError('auth', 'no passphrase given'))
        if (ch === '\u007f' || ch === '\b') {
          value = [...value].slice(0, -1).join('')
          continue
        }
        if (ch < ' ') continue
        value += ch
        if (Buffer.byteLength(value, 'utf8') > MAX_PASSPHRASE_BYTES) {
          return finish(new CliError('usage', `the passphrase is longer than ${MAX_PASSPHRASE_BYTES} bytes`))
        }
      }
    }
    stdin.on('data', onData)
  })
}
