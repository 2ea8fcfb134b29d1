/**
 * The web client's screens: onboarding or unlock until the session is open, then the conversation
 * list beside the open conversation (one pane at a time on a phone), verification, devices and
 * settings. The shell (`src/app.tsx`) owns the session and mounts these (`../screens-contract.ts`).
 */
import './app-screens.css'
import type { Alert, ConversationId } from '@tacit/client/client'
import { useEffect, useState } from 'preact/hooks'
import { CallPanel } from '../calls/call-view.tsx'
import { Chat } from './chat.tsx'
import { ConversationList } from './conversation-list.tsx'
import { Devices } from './devices.tsx'
import { Onboarding, Unlock } from './onboarding.tsx'
import type { AppScreensProps, OnboardingProps, UnlockProps, WebSession } from './session.ts'
import { Settings } from './settings.tsx'
import { useAlerts, useConversations } from './use-client.ts'
import { Verification } from './verification.tsx'

type Page = 'chats' | 'verify' | 'devices' | 'settings'

/** The unlocked app: the shell mounts this once the session is open. */
export default function AppScreens(props: AppScreensProps) {
  return <Main session={props.session} onLock={props.onLock} />
}

/** First run, replacing the shell's plain form. */
export function OnboardingScreen(props: OnboardingProps) {
  return <Onboarding {...props} />
}

/** Unlock, replacing the shell's plain form. */
export function UnlockScreen(props: UnlockProps) {
  return <Unlock {...props} />
}

function alertText(a: Alert): string {
  switch (a.kind) {
    case 'identity-changed':
      return a.wasVerified
        ? `${a.handle}'s identity key changed. Their verification is void: verify them again before trusting new messages.`
        : `${a.handle}'s identity key changed. The new key was not accepted.`
    case 'device-added':
      return `${a.handle}, whom you verified, has a new device.`
    case 'device-removed':
      return `${a.handle}, whom you verified, removed a device.`
    case 'device-key-changed':
      return `A device of ${a.handle}, whom you verified, has a new key.`
    case 'undecryptable':
      return 'A message in one of your conversations could not be decrypted.'
    case 'commit-dropped':
      return 'A change to one of your groups could not be applied.'
    case 'device-revoked':
      return 'This device was revoked. It can no longer send or receive.'
  }
}

function Main(props: { session: WebSession; onLock: () => Promise<void> }) {
  const { client } = props.session
  const [page, setPage] = useState<Page>('chats')
  const [open, setOpen] = useState<ConversationId | null>(null)
  const [verifyHandle, setVerifyHandle] = useState<string | null>(null)
  const { conversations, reload } = useConversations(client)
  const { alerts, dismiss } = useAlerts(client)
  const current = conversations?.find((c) => c.id === open) ?? null
  const unread = (conversations ?? []).reduce((n, c) => n + c.unreadCount, 0)

  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) Tacit` : 'Tacit'
  }, [unread])
  // Lock on a keyboard shortcut too: Ctrl+Shift+L.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey && e.shiftKey && e.key.toLowerCase() === 'l') {
        e.preventDefault()
        void props.onLock()
      }
    }
    document.addEventListener('keydown', onKey)
    return () => document.removeEventListener('keydown', onKey)
  }, [props.onLock])

  const go = (p: Page) => {
    setPage(p)
    if (p !== 'verify') setVerifyHandle(null)
  }
  const knownHandles = [...new Set((conversations ?? []).flatMap((c) => c.members))]
  // On a phone one pane shows: the list, or what is open beside it.
  const detail = page !== 'chats' || current !== null

  return (
    <div class="tc-app" data-pane={detail ? 'detail' : 'list'}>
      <a class="tc-skip" href="#main">
        Skip to content
      </a>
      <header class="tc-topbar">
        <span class="tc-brand" aria-hidden="true">
          Tacit
        </span>
        <nav aria-label="Main">
          <ul>
            {(
              [
                ['chats', unread > 0 ? `Chats (${unread})` : 'Chats'],
                ['verify', 'Verify'],
                ['devices', 'Devices'],
                ['settings', 'Settings'],
              ] as const
            ).map(([p, label]) => (
              <li key={p}>
                <button
                  type="button"
                  aria-current={page === p ? 'page' : undefined}
                  onClick={() => {
                    go(p)
                    if (p === 'chats') setOpen(null)
                  }}
                >
                  {label}
                </button>
              </li>
            ))}
          </ul>
        </nav>
        <span class="tc-whoami" title="Signed in as">
          @{client.handle}
        </span>
      </header>
      {alerts.length > 0 && (
        <ul class="tc-alerts" aria-label="Alerts">
          {alerts.map((a) => (
            <li key={a.key} role="alert" class={a.alert.kind === 'identity-changed' ? 'tc-alert-danger' : ''}>
              <span>{alertText(a.alert)}</span>
              <button type="button" onClick={() => dismiss(a.key)} aria-label="Dismiss alert">
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
      <div class="tc-body">
        <aside class="tc-sidebar" aria-label="Conversation list">
          <ConversationList
            client={client}
            conversations={conversations}
            selected={page === 'chats' ? open : null}
            onSelect={(id) => {
              go('chats')
              setOpen(id)
            }}
            onCreated={(id) => {
              reload()
              go('chats')
              setOpen(id)
            }}
          />
        </aside>
        <main class="tc-main" id="main" tabIndex={-1}>
          {page === 'chats' &&
            (current ? (
              <Chat
                key={current.id}
                client={client}
                session={props.session}
                conversation={current}
                onBack={() => setOpen(null)}
                onVerify={(h) => {
                  setVerifyHandle(h)
                  setPage('verify')
                }}
                onRead={reload}
              />
            ) : (
              <div class="tc-empty">
                <p>{open !== null ? 'Loading…' : 'Choose a conversation, or start a new one.'}</p>
              </div>
            ))}
          {page === 'verify' && (
            <Verification client={client} knownHandles={knownHandles} initialHandle={verifyHandle} />
          )}
          {page === 'devices' && <Devices client={client} />}
          {page === 'settings' && <Settings client={client} session={props.session} onLock={props.onLock} />}
        </main>
      </div>
      <CallPanel
        client={client}
        onOpen={(id) => {
          go('chats')
          setOpen(id)
        }}
      />
    </div>
  )
}
