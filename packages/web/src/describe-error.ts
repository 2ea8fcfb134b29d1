/**
 * User-facing text for what the SDK and the store throw. Codes, not messages: messages are for
 * logs and may change; codes are stable (`ClientError`, `StoreError`).
 */
import { ClientError } from '@tacit/client/errors'
import { StoreError } from '@tacit/client/store/errors'

const SERVER_CODES: Readonly<Record<string, string>> = {
  'invite-invalid': 'This invite is not valid (used, expired or mistyped). Ask for a new one.',
  'already-exists': 'This handle is taken. Choose another.',
  'invalid-field': 'The server refused a field: check the handle (2–32 of a–z, 0–9, ".", "_", "-").',
  'rate-limited': 'Too many attempts. Wait a moment and try again.',
  unavailable: 'The server is unavailable. Try again shortly.',
}

export function describeError(error: unknown): string {
  if (StoreError.is(error)) {
    switch (error.code) {
      case 'wrong-passphrase':
        return 'Wrong passphrase.'
      case 'not-initialized':
        return 'There is no account in this browser yet.'
      case 'limit-exceeded':
        return 'The passphrase is too long.'
      case 'invalid-argument':
        return 'Enter a passphrase.'
      case 'io':
        return 'The browser refused to store data (private mode, or storage full?).'
      default:
        return `The local store failed (${error.code}).`
    }
  }
  if (ClientError.is(error)) {
    if (error.code === 'server' && error.serverCode !== undefined) {
      return SERVER_CODES[error.serverCode] ?? `The server refused this (${error.serverCode}).`
    }
    switch (error.code) {
      case 'network':
        return 'The server cannot be reached. Check the connection and try again.'
      case 'timeout':
        return 'The server took too long to answer. Try again.'
      case 'usage':
        return error.message.replace(/^usage: /, '')
      default:
        return `Something failed (${error.code}).`
    }
  }
  return 'Something unexpected failed. Reload the page and try again.'
}
