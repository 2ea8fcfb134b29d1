import { useState } from 'preact/hooks'
import type { UnlockProps } from '../screens-contract.ts'
import { useSubmit } from './use-submit.ts'

/** The shell's plain unlock screen. */
export function Unlock({ onSubmit, onForget }: UnlockProps) {
  const [passphrase, setPassphrase] = useState('')
  const { busy, error, run } = useSubmit(onSubmit)
  const forget = useSubmit(onForget)

  const submit = (event: Event) => {
    event.preventDefault()
    void run(passphrase)
  }
  const confirmForget = () => {
    const sure = window.confirm(
      'Delete this account and all its messages from this browser? Without another device or a backup they are lost.',
    )
    if (sure) void forget.run()
  }

  return (
    <main class="shell centered">
      <form class="card" data-screen="unlock" onSubmit={submit} aria-busy={busy}>
        <h1>Unlock Tacit</h1>
        <label>
          Passphrase
          <input
            name="passphrase"
            type="password"
            value={passphrase}
            onInput={(e) => setPassphrase(e.currentTarget.value)}
            required
            autocomplete="current-password"
            autofocus
          />
        </label>
        {error !== null && <p role="alert">{error}</p>}
        <button type="submit" disabled={busy}>
          {busy ? 'Unlocking…' : 'Unlock'}
        </button>
        {busy && (
          <output class="muted block">
            Deriving the key from your passphrase: this takes a few seconds.
          </output>
        )}
        <button type="button" class="link" onClick={confirmForget} disabled={busy || forget.busy}>
          Remove this account from this browser
        </button>
        {forget.error !== null && <p role="alert">{forget.error}</p>}
      </form>
    </main>
  )
}
