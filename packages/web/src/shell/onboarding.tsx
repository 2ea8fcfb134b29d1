import { useState } from 'preact/hooks'
import type { OnboardingProps } from '../screens-contract.ts'
import { useSubmit } from './use-submit.ts'

/** Server handles: 2–32 of a–z, 0–9, ".", "_", "-", starting with a letter or digit. */
const HANDLE_PATTERN = '[a-z0-9][a-z0-9._\\-]{1,31}'
/** Below this, a passphrase protects the local store poorly even with Argon2id. */
export const MIN_PASSPHRASE_LENGTH = 8

/** The shell's plain onboarding: invite, handle, passphrase (twice). */
export function Onboarding({ serverUrl, initialInvite, onSubmit }: OnboardingProps) {
  const [invite, setInvite] = useState(initialInvite)
  const [handle, setHandle] = useState('')
  const [passphrase, setPassphrase] = useState('')
  const [repeat, setRepeat] = useState('')
  const [mismatch, setMismatch] = useState(false)
  const { busy, error, run } = useSubmit(onSubmit)

  const submit = (event: Event) => {
    event.preventDefault()
    if (passphrase !== repeat) {
      setMismatch(true)
      return
    }
    setMismatch(false)
    void run({ invite, handle, passphrase })
  }

  return (
    <main class="shell centered">
      <form class="card" data-screen="onboarding" onSubmit={submit} aria-busy={busy}>
        <h1>Create your Tacit account</h1>
        <p class="muted">
          Server: <span data-testid="server-url">{serverUrl}</span>
        </p>
        <label>
          Invite code
          <input
            name="invite"
            value={invite}
            onInput={(e) => setInvite(e.currentTarget.value)}
            required
            autocomplete="off"
            spellcheck={false}
          />
        </label>
        <label>
          Handle
          <input
            name="handle"
            value={handle}
            onInput={(e) => setHandle(e.currentTarget.value.toLowerCase())}
            required
            pattern={HANDLE_PATTERN}
            title="2–32 characters: a–z, 0–9, “.”, “_”, “-”"
            autocomplete="username"
            autocapitalize="none"
            spellcheck={false}
          />
        </label>
        <label>
          Passphrase
          <input
            name="passphrase"
            type="password"
            value={passphrase}
            onInput={(e) => setPassphrase(e.currentTarget.value)}
            required
            minLength={MIN_PASSPHRASE_LENGTH}
            autocomplete="new-password"
          />
        </label>
        <label>
          Passphrase again
          <input
            name="passphrase-repeat"
            type="password"
            value={repeat}
            onInput={(e) => setRepeat(e.currentTarget.value)}
            required
            autocomplete="new-password"
            aria-invalid={mismatch}
          />
        </label>
        <p class="muted">
          The passphrase encrypts everything this browser keeps. It never leaves this device and cannot be
          recovered.
        </p>
        {mismatch && <p role="alert">The passphrases differ.</p>}
        {error !== null && <p role="alert">{error}</p>}
        <button type="submit" disabled={busy}>
          {busy ? 'Creating the account…' : 'Create account'}
        </button>
        {busy && (
          <output class="muted block">
            Deriving the key from your passphrase and registering: this takes a few seconds.
          </output>
        )}
      </form>
    </main>
  )
}
