/**
 * Settings: the account (handle, identity key), lock now (drops the store's keys from memory;
 * the passphrase is needed again), and change the passphrase (the store key is re-wrapped under
 * Argon2id of the new one; records stay sealed under the same store key).
 */
import type { TacitClient } from '@tacit/client/client'
import { bytesToHex } from '@tacit/crypto/bytes'
import { useState } from 'preact/hooks'
import { checkNewPassphrase, describeError } from './format.ts'
import { NewPassphraseFields } from './new-passphrase.tsx'
import type { WebSession } from './session.ts'
import { useAction } from './use-client.ts'

export function Settings(props: { client: TacitClient; session: WebSession; onLock: () => void }) {
  const { client } = props
  const [current, setCurrent] = useState('')
  const [next, setNext] = useState('')
  const [again, setAgain] = useState('')
  const [done, setDone] = useState('')
  const change = useAction()
  const lock = useAction()
  const key = bytesToHex(client.identityKey)

  const submit = async (e: Event) => {
    e.preventDefault()
    setDone('')
    const ok = await change.run(async () => {
      const p = checkNewPassphrase(next, again)
      await props.session.store.changePassphrase(current, p)
      return true
    })
    if (ok) {
      setCurrent('')
      setNext('')
      setAgain('')
      setDone('Passphrase changed.')
    }
  }

  return (
    <section class="tc-page" aria-labelledby="settings-title">
      <h2 id="settings-title">Settings</h2>
      <h3>Account</h3>
      <dl class="tc-facts">
        <dt>Handle</dt>
        <dd>{client.handle}</dd>
        <dt>Device</dt>
        <dd class="tc-mono">{client.deviceId}</dd>
        <dt>Identity key</dt>
        <dd class="tc-mono tc-break">{key.match(/.{1,8}/g)?.join(' ')}</dd>
      </dl>
      <h3>Lock</h3>
      <p class="tc-lede">
        Locking closes the connection and forgets the keys until the passphrase is entered.
      </p>
      <button
        type="button"
        class="tc-primary"
        disabled={lock.busy}
        onClick={() => void lock.run(async () => props.onLock())}
      >
        Lock now
      </button>
      <h3>Change passphrase</h3>
      <form class="tc-stack" onSubmit={submit} aria-busy={change.busy}>
        <label for="current-passphrase">Current passphrase</label>
        <input
          id="current-passphrase"
          type="password"
          autocomplete="current-password"
          value={current}
          onInput={(e) => setCurrent(e.currentTarget.value)}
          required
        />
        <NewPassphraseFields
          id="next-passphrase"
          label="New passphrase"
          againLabel="New passphrase again"
          hint="It locks your keys and history in this browser."
          value={next}
          again={again}
          onValue={setNext}
          onAgain={setAgain}
        />
        <button type="submit" class="tc-primary" disabled={change.busy}>
          {change.busy ? 'Changing…' : 'Change passphrase'}
        </button>
      </form>
      <output class="tc-success">{done}</output>
      {change.error !== null && (
        <p class="tc-error" role="alert">
          {describeError(change.error)}
        </p>
      )}
    </section>
  )
}
