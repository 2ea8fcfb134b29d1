/**
 * The one file that knows the SDK (`@tacit/client`): it turns a `TacitClient` into the CLI's
 * `CliClient` (client-api.ts). The SDK is loaded on first use, so `--help` and argument errors
 * work (and stay fast) without loading the protocol stack.
 *
 * While the SDK is being written, an operation it does not provide yet fails with a
 * `not-available` CliError (exit code 6) naming the operation, never with a crash.
 */
import type { ClientFactory } from './client-api.ts'
import { CliError, notAvailable } from './errors.ts'

/** Held in a variable so that TypeScript does not resolve a module that may not exist yet. */
const SDK_MODULE = '@tacit/client/client'

async function loadSdk(): Promise<Record<string, unknown>> {
  try {
    return (await import(SDK_MODULE)) as Record<string, unknown>
  } catch (error) {
    const code = (error as { code?: unknown }).code
    if (code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes('client/src/client')) {
      throw notAvailable('the client SDK (@tacit/client/client)')
    }
    throw new CliError('internal', 'the client SDK failed to load (this is a bug, please report it)', {
      cause: error,
    })
  }
}

export const sdkClientFactory: ClientFactory = {
  async createAccount() {
    await loadSdk()
    throw notAvailable('account creation')
  },
  async openAccount() {
    await loadSdk()
    throw notAvailable('opening an account')
  },
  async linkDevice() {
    await loadSdk()
    throw notAvailable('device linking')
  },
}
