/**
 * The shell: decides between onboarding, unlock and the unlocked app, and owns the session.
 *
 * Loading: this chunk holds the shell only (Preact, the forms, the IndexedDB presence check). The
 * SDK (`@tacit/client/browser/browser-client`: MLS, post-quantum KEM, Argon2id) and the product
 * screens (`src/ui/app-screens.tsx`) are separate chunks, requested at start-up so they arrive
 * while the user types, and awaited only on submit.
 */
import { browserStoreExists, deleteBrowserStore } from '@tacit/client/browser/store-presence'
import { ClientError } from '@tacit/client/errors'
import { useCallback, useEffect, useState } from 'preact/hooks'
import type { ScreensModule, WebSession } from './screens-contract.ts'
import { ConversationList } from './shell/conversation-list.tsx'
import { Onboarding } from './shell/onboarding.tsx'
import { Unlock } from './shell/unlock.tsx'

type Phase =
  | { readonly kind: 'loading' }
  | { readonly kind: 'onboarding' }
  | { readonly kind: 'unlock' }
  | { readonly kind: 'ready'; readonly session: WebSession }
  | { readonly kind: 'unavailable'; readonly message: string }

const loadSdk = () => import('@tacit/client/browser/browser-client')

// The product screens, when `src/ui/app-screens.tsx` exists (a missing file gives an empty map).
const screenLoaders = import.meta.glob<ScreensModule>('./ui/app-screens.tsx')
const loadScreens = screenLoaders['./ui/app-screens.tsx']

let sdkPromise: ReturnType<typeof loadSdk> | null = null
function sdk(): ReturnType<typeof loadSdk> {
  sdkPromise ??= loadSdk()
  return sdkPromise
}

let screensPromise: Promise<ScreensModule | null> | null = null
function screens(): Promise<ScreensModule | null> {
  screensPromise ??= loadScreens === undefined ? Promise.resolve(null) : loadScreens()
  return screensPromise
}

/** The invite from `#invite=…` (a fragment never reaches the server's logs). */
function inviteFromLocation(): string {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''))
  return params.get('invite') ?? ''
}

function storageProblem(): string | null {
  if (!window.isSecureContext) {
    return 'This page is not a secure context (https or localhost), so the browser withholds the cryptography Tacit needs.'
  }
  if (typeof indexedDB === 'undefined') return 'This browser offers no IndexedDB storage (private mode?).'
  return null
}

export function App() {
  const [phase, setPhase] = useState<Phase>({ kind: 'loading' })
  const [module, setModule] = useState<ScreensModule | null>(null)

  useEffect(() => {
    const problem = storageProblem()
    if (problem !== null) {
      setPhase({ kind: 'unavailable', message: problem })
      return
    }
    // The SDK chunk is fetched now and awaited only on submit; the screens chunk holds the
    // onboarding and unlock screens, so the first screen waits for it (a failed load falls back
    // to the shell's own forms).
    void sdk().catch(() => undefined)
    Promise.all([browserStoreExists(), screens().catch(() => null)]).then(
      ([exists, loaded]) => {
        setModule(loaded)
        setPhase({ kind: exists ? 'unlock' : 'onboarding' })
      },
      () => setPhase({ kind: 'unavailable', message: 'This browser refused access to IndexedDB storage.' }),
    )
  }, [])

  const ready = useCallback(async (session: WebSession) => {
    // The screens chunk was requested at start-up; wait for it so the list does not swap under the user.
    setModule(await screens().catch(() => null))
    setPhase({ kind: 'ready', session })
    // Connect and catch up in the background: the screens show stored state at once.
    session.client.sync().catch(() => undefined)
  }, [])

  const register = useCallback(
    async (values: { invite: string; handle: string; passphrase: string }) => {
      const { createBrowserAccount } = await sdk()
      await ready(
        await createBrowserAccount({
          serverUrl: location.origin,
          invite: values.invite.trim(),
          handle: values.handle.trim(),
          passphrase: values.passphrase,
        }),
      )
    },
    [ready],
  )

  const link = useCallback(
    async (passphrase: string) => {
      const { beginBrowserLink } = await sdk()
      const pending = await beginBrowserLink({ serverUrl: location.origin, passphrase })
      return {
        code: pending.code,
        complete: async (answer: string) => ready(await pending.complete(answer.trim())),
        cancel: () => pending.cancel(),
      }
    },
    [ready],
  )

  const unlock = useCallback(
    async (passphrase: string) => {
      const { openBrowserAccount } = await sdk()
      try {
        await ready(await openBrowserAccount({ passphrase }))
      } catch (error) {
        // A store without an account (a registration cut short): nothing to keep.
        if (ClientError.is(error, 'not-registered')) {
          await deleteBrowserStore()
          setPhase({ kind: 'onboarding' })
          return
        }
        throw error
      }
    },
    [ready],
  )

  const forget = useCallback(async () => {
    await deleteBrowserStore()
    setPhase({ kind: 'onboarding' })
  }, [])

  const lock = useCallback(async () => {
    if (phase.kind !== 'ready') return
    await phase.session.lock()
    setPhase({ kind: 'unlock' })
  }, [phase])

  switch (phase.kind) {
    case 'loading':
      return (
        <main class="shell centered" aria-busy="true">
          <output class="block">Loading…</output>
        </main>
      )
    case 'unavailable':
      return (
        <main class="shell centered">
          <h1>Tacit cannot run here</h1>
          <p role="alert">{phase.message}</p>
        </main>
      )
    case 'onboarding': {
      const Screen = module?.OnboardingScreen ?? Onboarding
      return (
        <Screen
          serverUrl={location.origin}
          initialInvite={inviteFromLocation()}
          onSubmit={register}
          onLink={link}
        />
      )
    }
    case 'unlock': {
      const Screen = module?.UnlockScreen ?? Unlock
      return <Screen onSubmit={unlock} onForget={forget} />
    }
    case 'ready': {
      const Screens = module?.default
      if (Screens !== undefined) return <Screens session={phase.session} onLock={lock} />
      return <ConversationList session={phase.session} onLock={lock} />
    }
  }
}
