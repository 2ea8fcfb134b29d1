/**
 * First run (invite, handle, passphrase) and unlock (passphrase). The passphrase never leaves
 * the page: it goes to Argon2id in this tab, whose key unwraps the store key (DESIGN.md §7).
 */
import type { TacitClient } from '@tacit/client/client'
import { useEffect, useRef, useState } from 'preact/hooks'
import {
  checkHandle,
  checkNewPassphrase,
  describeError,
  InputError,
  MIN_NEW_PASSPHRASE_CHARS,
} from './format.ts'
import type { WebSession } from './session.ts'
import { useAction } from './use-client.ts'

/** An invite code as the administrator hands it out (the server checks it; this only bounds it). */
export const MAX_INVITE_CHARS = 512

function FormError(props: { error: unknown; id: string }) {
  if (props.error === null || props.error === undefined) return null
  return (
    <p class="tc-error" id={props.id} role="alert">
      {describeError(props.error)}
    </p>
  )
}

/** The invite from the address (`/#invite=CODE`), so an invite link opens a filled form. */
function inviteFromLocation(): string {
  const hash = globalThis.location?.hash ?? ''
  const m = /(?:^#|&)invite=([^&]*)/.exec(hash)
  return m ? decodeURIComponent(m[1]!).slice(0, MAX_INVITE_CHARS) : ''
}

export function Onboarding(props: { session: WebSession; onReady: (c: TacitClient) => void }) {
  const [invite, setInvite] = useState(inviteFromLocation)
  const [handle, setHandle] = useState('')
  const [passphrase, setPassphrase] = useState('')
  const [confirmation, setConfirmation] = useState('')
  const action = useAction()
  const first = useRef<HTMLInputElement>(null)
  useEffect(() => first.current?.focus(), [])

  const submit = async (e: Event) => {
    e.preventDefault()
    const client = await action.run(async () => {
      const h = checkHandle(handle)
      const p = checkNewPassphrase(passphrase, confirmation)
      if (invite.trim() === '') throw new InputError('empty', 'Enter the invite code.')
      return props.session.createAccount({ invite: invite.trim(), handle: h, passphrase: p })
    })
    if (client) props.onReady(client)
  }

  return (
    <main class="tc-gate" id="main">
      <form class="tc-card" onSubmit={submit} aria-labelledby="onboarding-title" aria-busy={action.busy}>
        <h1 id="onboarding-title">Welcome to Tacit</h1>
        <p class="tc-lede">
          Messages and files are encrypted on this device. The server relays ciphertext only.
        </p>
        <label for="invite">Invite code</label>
        <input
          id="invite"
          ref={first}
          name="invite"
          autocomplete="off"
          spellcheck={false}
          maxLength={MAX_INVITE_CHARS}
          value={invite}
          onInput={(e) => setInvite(e.currentTarget.value)}
          required
        />
        <label for="handle">Your handle</label>
        <input
          id="handle"
          name="handle"
          autocomplete="username"
          autocapitalize="none"
          spellcheck={false}
          maxLength={33}
          aria-describedby="handle-hint"
          value={handle}
          onInput={(e) => setHandle(e.currentTarget.value)}
          required
        />
        <p class="tc-hint" id="handle-hint">
          2–32 characters: a–z, 0–9, dot, dash, underscore. Others find you by it.
        </p>
        <label for="new-passphrase">Passphrase</label>
        <input
          id="new-passphrase"
          type="password"
          autocomplete="new-password"
          aria-describedby="passphrase-hint"
          minLength={MIN_NEW_PASSPHRASE_CHARS}
          value={passphrase}
          onInput={(e) => setPassphrase(e.currentTarget.value)}
          required
        />
        <label for="confirm-passphrase">Passphrase again</label>
        <input
          id="confirm-passphrase"
          type="password"
          autocomplete="new-password"
          value={confirmation}
          onInput={(e) => setConfirmation(e.currentTarget.value)}
          required
        />
        <p class="tc-hint" id="passphrase-hint">
          At least {MIN_NEW_PASSPHRASE_CHARS} characters. It locks your keys and history in this browser;
          nobody can recover it for you.
        </p>
        <FormError error={action.error} id="onboarding-error" />
        <button type="submit" class="tc-primary" disabled={action.busy}>
          {action.busy ? 'Creating your keys…' : 'Create account'}
        </button>
      </form>
    </main>
  )
}

export function Unlock(props: { session: WebSession; onReady: (c: TacitClient) => void }) {
  const [passphrase, setPassphrase] = useState('')
  const action = useAction()
  const input = useRef<HTMLInputElement>(null)
  useEffect(() => input.current?.focus(), [])
  useEffect(() => {
    if (action.error !== null) input.current?.select()
  }, [action.error])

  const submit = async (e: Event) => {
    e.preventDefault()
    const client = await action.run(() => props.session.unlock(passphrase))
    if (client) {
      setPassphrase('')
      props.onReady(client)
    }
  }

  return (
    <main class="tc-gate" id="main">
      <form class="tc-card" onSubmit={submit} aria-labelledby="unlock-title" aria-busy={action.busy}>
        <h1 id="unlock-title">Unlock Tacit</h1>
        <p class="tc-lede">Your keys and history in this browser are locked under your passphrase.</p>
        <label for="unlock-passphrase">Passphrase</label>
        <input
          id="unlock-passphrase"
          ref={input}
          type="password"
          autocomplete="current-password"
          aria-invalid={action.error !== null}
          aria-describedby={action.error !== null ? 'unlock-error' : undefined}
          value={passphrase}
          onInput={(e) => setPassphrase(e.currentTarget.value)}
          required
        />
        <FormError error={action.error} id="unlock-error" />
        <button type="submit" class="tc-primary" disabled={action.busy}>
          {action.busy ? 'Unlocking…' : 'Unlock'}
        </button>
      </form>
    </main>
  )
}
