import type { ConversationSummary } from '@tacit/client/client'
import { useEffect, useState } from 'preact/hooks'
import { describeError } from '../describe-error.ts'
import type { AppScreensProps } from '../screens-contract.ts'

/**
 * The shell's plain unlocked screen: who is signed in, the conversations with unread counts, and
 * Lock. The product screens (`src/ui/app-screens.tsx`) replace it when they exist.
 */
export function ConversationList({ session, onLock }: AppScreensProps) {
  const { client } = session
  const [conversations, setConversations] = useState<readonly ConversationSummary[] | null>(null)
  const [error, setError] = useState<string | null>(null)

  useEffect(() => {
    let live = true
    const refresh = () => {
      client.listConversations().then(
        (list) => {
          if (live) setConversations(list)
        },
        (e: unknown) => {
          if (live) setError(describeError(e))
        },
      )
    }
    refresh()
    const offs = [client.on('conversation', refresh), client.on('message', refresh)]
    return () => {
      live = false
      for (const off of offs) off()
    }
  }, [client])

  return (
    <main class="shell">
      <header class="bar">
        <h1>Tacit</h1>
        <span class="muted" data-testid="signed-in-as">
          {client.handle}
        </span>
        <button type="button" onClick={() => void onLock()}>
          Lock
        </button>
      </header>
      <section aria-labelledby="conversations-heading">
        <h2 id="conversations-heading">Conversations</h2>
        {error !== null && <p role="alert">{error}</p>}
        {conversations === null ? (
          <output class="block">Loading conversations…</output>
        ) : conversations.length === 0 ? (
          <p class="muted">No conversations yet.</p>
        ) : (
          <ul class="conversations">
            {conversations.map((c) => (
              <li key={c.id}>
                <span class="name">{c.name || c.members.join(', ')}</span>
                {c.unreadCount > 0 && (
                  <span class="badge">
                    {c.unreadCount}
                    <span class="visually-hidden"> unread</span>
                  </span>
                )}
                {c.lastMessage !== null && (
                  <span class="muted last">
                    {c.lastMessage.from}: {c.lastMessage.text}
                  </span>
                )}
              </li>
            ))}
          </ul>
        )}
      </section>
    </main>
  )
}
