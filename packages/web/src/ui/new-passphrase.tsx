/**
 * A new passphrase, typed twice, with its rule as a hint the first field points to. The
 * onboarding, device-link and change-passphrase forms all ask for one this way; the caller checks
 * the pair with `checkNewPassphrase` on submit.
 */
import type { ComponentChildren, Ref } from 'preact'
import { MIN_NEW_PASSPHRASE_CHARS } from './format.ts'

export function NewPassphraseFields(props: {
  /** Prefix of the two inputs' ids (`<id>`, `<id>-again`, `<id>-hint`): unique on the page. */
  id: string
  label: string
  againLabel: string
  /** Said after the length rule: what this passphrase protects. */
  hint: ComponentChildren
  value: string
  again: string
  onValue: (value: string) => void
  onAgain: (value: string) => void
  inputRef?: Ref<HTMLInputElement>
}) {
  return (
    <>
      <label for={props.id}>{props.label}</label>
      <input
        id={props.id}
        ref={props.inputRef}
        type="password"
        autocomplete="new-password"
        aria-describedby={`${props.id}-hint`}
        minLength={MIN_NEW_PASSPHRASE_CHARS}
        value={props.value}
        onInput={(e) => props.onValue(e.currentTarget.value)}
        required
      />
      <label for={`${props.id}-again`}>{props.againLabel}</label>
      <input
        id={`${props.id}-again`}
        type="password"
        autocomplete="new-password"
        value={props.again}
        onInput={(e) => props.onAgain(e.currentTarget.value)}
        required
      />
      <p class="tc-hint" id={`${props.id}-hint`}>
        At least {MIN_NEW_PASSPHRASE_CHARS} characters. {props.hint}
      </p>
    </>
  )
}
