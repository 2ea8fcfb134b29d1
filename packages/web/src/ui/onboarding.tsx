/**
 * First run (invite, handle, passphrase) and unlock (passphrase), in the shape the shell asks for
 * (`OnboardingProps`, `UnlockProps`). The passphrase never leaves the page: it goes to Argon2id in
 * this tab, whose key unwraps the store key (DESIGN.md §7).
 */
import { useEffect, useRef, useState } from 'preact/hooks'
import { checkHandle, checkNewPassphrase, describeError, InputError } from './format.ts'
import { NewPassphraseFields } from './new-passphrase.tsx'
import type { DeviceLinkStart, OnboardingProps, UnlockProps } from './session.ts'
import { useAction } from './use-client.ts'

/** An invite code as the administrator hands it out (the server checks it; this only bounds it). */
export const MAX_INVITE_CHARS = 512
/** A link answer: `tacit-answer1.`, a device id and a base64url X25519 key — well under this. */
export const MAX_LINK_ANSWER_CHARS = 256

function FormError(props: { error: unknown; id: string }) {
  if (props.error === null || props.error === undefined) return null
  return (
    <p class="tc-error" id={props.id} role="alert">
      {describeError(props.error)}
    </p>
  )
}

export function Onboarding(props: OnboardingProps) {
  const [linking, setLinking] = useState(false)
  if (linking) return <LinkDevice {...props} onBack={() => setLinking(false)} />
  return <CreateAccount {...props} onLinkInstead={() => setLinking(true)} />
}

function CreateAccount(props: OnboardingProps & { onLinkInstead: () => void }) {
  const [invite, setInvite] = useState(props.initialInvite.slice(0, MAX_INVITE_CHARS))
  const [handle, setHandle] = useState('')
  const [passphrase, setPassphrase] = useState('')
  const [confirmation, setConfirmation] = useState('')
  const action = useAction()
  const first = useRef<HTMLInputElement>(null)
  const second = useRef<HTMLInputElement>(null)
  useEffect(() => (invite === '' ? first : second).current?.focus(), [])

  const submit = async (e: Event) => {
    e.preventDefault()
    await action.run(async () => {
      const h = checkHandle(handle)
      const p = checkNewPassphrase(passphrase, confirmation)
      if (invite.trim() === '') throw new InputError('empty', 'Enter the invite code.')
      await props.onSubmit({ invite: invite.trim(), handle: h, passphrase: p })
    })
  }

  return (
    <main class="tc-gate" id="main">
      <form
        class="tc-card"
        data-screen="onboarding"
        onSubmit={submit}
        aria-labelledby="onboarding-title"
        aria-busy={action.busy}
      >
        <h1 id="onboarding-title">Welcome to Tacit</h1>
        <p class="tc-lede">
          Messages and files are encrypted on this device. The server at{' '}
          <span class="tc-mono">{props.serverUrl}</span> relays ciphertext only.
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
          ref={second}
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
        <NewPassphraseFields
          id="new-passphrase"
          label="Passphrase"
          againLabel="Passphrase again"
          hint="It locks your keys and history in this browser; nobody can recover it for you."
          value={passphrase}
          again={confirmation}
          onValue={setPassphrase}
          onAgain={setConfirmation}
        />
        <FormError error={action.error} id="onboarding-error" />
        <button type="submit" class="tc-primary" disabled={action.busy}>
          {action.busy ? 'Creating your keys…' : 'Create account'}
        </button>
        <button type="button" class="tc-link" onClick={props.onLinkInstead} disabled={action.busy}>
          I already use Tacit on another device
        </button>
      </form>
    </main>
  )
}

/**
 * This browser as a new device of an existing account (DESIGN.md §7, device linking): a
 * passphrase for this browser's store, then the link code to carry to a device that has the
 * account (Devices → Link a new device, or `tacit account link --approve`), then its answer.
 */
function LinkDevice(props: OnboardingProps & { onBack: () => void }) {
  const [passphrase, setPassphrase] = useState('')
  const [confirmation, setConfirmation] = useState('')
  const [pending, setPending] = useState<DeviceLinkStart | null>(null)
  const [answer, setAnswer] = useState('')
  const [copied, setCopied] = useState(false)
  const action = useAction()
  const first = useRef<HTMLInputElement>(null)
  useEffect(() => first.current?.focus(), [pending === null])

  const begin = async (e: Event) => {
    e.preventDefault()
    await action.run(async () => {
      const p = checkNewPassphrase(passphrase, confirmation)
      setPending(await props.onLink(p))
      setPassphrase('')
      setConfirmation('')
    })
  }
  const finish = async (e: Event) => {
    e.preventDefault()
    await action.run(async () => {
      if (answer.trim() === '') throw new InputError('empty', 'Enter the answer from your other device.')
      await pending?.complete(answer.trim())
    })
  }
  const cancel = async () => {
    await action.run(async () => {
      await pending?.cancel()
      setPending(null)
      props.onBack()
    })
  }
  const copy = async () => {
    if (pending === null) return
    try {
      await navigator.clipboard.writeText(pending.code)
      setCopied(true)
    } catch {
      // No clipboard permission: the code stays selectable in the box.
      setCopied(false)
    }
  }

  if (pending === null) {
    return (
      <main class="tc-gate" id="main">
        <form
          class="tc-card"
          data-screen="link-device"
          onSubmit={begin}
          aria-labelledby="link-title"
          aria-busy={action.busy}
        >
          <h1 id="link-title">Add this browser to your account</h1>
          <p class="tc-lede">
            Your other device gives this browser your identity and conversations, encrypted to a key made
            here. The server at <span class="tc-mono">{props.serverUrl}</span> sees ciphertext only.
          </p>
          <NewPassphraseFields
            id="link-passphrase"
            label="Passphrase for this browser"
            againLabel="Passphrase again"
            hint="It locks your keys and history in this browser only."
            value={passphrase}
            again={confirmation}
            onValue={setPassphrase}
            onAgain={setConfirmation}
            inputRef={first}
          />
          <FormError error={action.error} id="link-error" />
          <button type="submit" class="tc-primary" disabled={action.busy}>
            {action.busy ? 'Making this browser’s keys…' : 'Show the link code'}
          </button>
          <button type="button" class="tc-link" onClick={props.onBack} disabled={action.busy}>
            Create a new account instead
          </button>
        </form>
      </main>
    )
  }
  return (
    <main class="tc-gate" id="main">
      <form
        class="tc-card"
        data-screen="link-device"
        onSubmit={finish}
        aria-labelledby="link-title"
        aria-busy={action.busy}
      >
        <h1 id="link-title">Approve this browser on your other device</h1>
        <ol class="tc-steps">
          <li>
            On a device that has your account, open Devices → Link a new device (or run{' '}
            <span class="tc-mono">tacit account link --approve</span>) and give it this code.
          </li>
          <li>It shows an answer: enter it below.</li>
        </ol>
        <label for="link-code-out">Link code for your other device</label>
        <textarea
          id="link-code-out"
          class="tc-mono"
          readOnly
          rows={4}
          value={pending.code}
          onFocus={(e) => e.currentTarget.select()}
        />
        <button type="button" onClick={() => void copy()}>
          {copied ? 'Copied' : 'Copy the code'}
        </button>
        <label for="link-answer-in">Answer from your other device</label>
        <input
          id="link-answer-in"
          ref={first}
          autocomplete="off"
          spellcheck={false}
          maxLength={MAX_LINK_ANSWER_CHARS}
          value={answer}
          onInput={(e) => setAnswer(e.currentTarget.value)}
          required
        />
        <FormError error={action.error} id="link-error" />
        <button type="submit" class="tc-primary" disabled={action.busy}>
          {action.busy ? 'Receiving your account…' : 'Finish linking'}
        </button>
        <button type="button" class="tc-link" onClick={() => void cancel()} disabled={action.busy}>
          Cancel
        </button>
      </form>
    </main>
  )
}

export function Unlock(props: UnlockProps) {
  const [passphrase, setPassphrase] = useState('')
  const action = useAction()
  const input = useRef<HTMLInputElement>(null)
  useEffect(() => input.current?.focus(), [])
  useEffect(() => {
    if (action.error !== null) input.current?.select()
  }, [action.error])

  const submit = async (e: Event) => {
    e.preventDefault()
    await action.run(() => props.onSubmit(passphrase))
  }
  const forget = async () => {
    if (
      !globalThis.confirm(
        'Delete this account from this browser? Its keys and history here are erased; without another device or a backup they are gone.',
      )
    )
      return
    await action.run(() => props.onForget())
  }

  return (
    <main class="tc-gate" id="main">
      <form
        class="tc-card"
        data-screen="unlock"
        onSubmit={submit}
        aria-labelledby="unlock-title"
        aria-busy={action.busy}
      >
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
        <button type="button" class="tc-link" onClick={() => void forget()} disabled={action.busy}>
          Forget this account on this browser
        </button>
      </form>
    </main>
  )
}
