/**
 * What the shell (`app.tsx`) gives the product screens, and what it takes from them: the one
 * meeting point between the shell and `src/ui/`. The shell owns the store and the session (create,
 * unlock, lock); the screens own everything the user sees.
 *
 * `src/ui/app-screens.tsx`, when it exists, is loaded (as its own chunk, fetched while the user
 * types the passphrase) and its exports replace the shell's plain screens:
 * - `default`: the unlocked app (`AppScreensProps`) — conversations, chat, settings, …;
 * - `OnboardingScreen` (optional, `OnboardingProps`) and `UnlockScreen` (optional, `UnlockProps`).
 */
import type { BrowserSession } from '@tacit/client/browser/browser-client'
import type { ComponentType } from 'preact'

export type WebSession = BrowserSession

export interface AppScreensProps {
  /** The unlocked account: `session.client` (TacitClient), `session.files`, `session.store`. */
  readonly session: WebSession
  /** Locks now: closes the client, zeroes the store's keys, back to the unlock screen. */
  readonly onLock: () => Promise<void>
}

export interface OnboardingValues {
  readonly invite: string
  readonly handle: string
  readonly passphrase: string
}

/** A device link begun in this browser (the SDK's `PendingBrowserLink`, as the screens see it). */
export interface DeviceLinkStart {
  /** Shown to the user, for a device that has the account to approve. */
  readonly code: string
  /** Opens the account with the approving device's answer; rejects (and may be retried) on a bad one. */
  complete(answer: string): Promise<void>
  /** Gives up and deletes what the link created in this browser. */
  cancel(): Promise<void>
}

export interface OnboardingProps {
  /** The server (the page's own origin): shown, not asked. */
  readonly serverUrl: string
  /** An invite from the page's address (`#invite=…`), to prefill. */
  readonly initialInvite: string
  /** Registers; rejects with a ClientError or StoreError that `describeError` turns into text. */
  readonly onSubmit: (values: OnboardingValues) => Promise<void>
  /** Makes this browser a new device of an existing account, under a new passphrase. */
  readonly onLink: (passphrase: string) => Promise<DeviceLinkStart>
}

export interface UnlockProps {
  /** Unlocks; rejects with StoreError('wrong-passphrase') on a wrong passphrase. */
  readonly onSubmit: (passphrase: string) => Promise<void>
  /** Deletes this browser's account store, after the user confirmed it, and goes to onboarding. */
  readonly onForget: () => Promise<void>
}

export interface ScreensModule {
  readonly default: ComponentType<AppScreensProps>
  readonly OnboardingScreen?: ComponentType<OnboardingProps>
  readonly UnlockScreen?: ComponentType<UnlockProps>
}
