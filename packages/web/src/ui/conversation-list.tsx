/**
 * The conversation list (newest activity first, unread counts) and the dialog that starts a
 * conversation: one handle makes a 1:1 chat, several a group.
 */
import type { ConversationId, ConversationSummary, TacitClient } from '@tacit/client/client'
import { useRef, useState } from 'preact/hooks'
import { Dialog } from './dialog.tsx'
import { describeError, formatTime, parseHandles, titleOf } from './format.ts'
import { useAction } from './use-client.ts'

/** Longest conversation name typed here (the SDK's cap is 256 bytes of UTF-8). */
export const MAX_CONVERSATION_NAME_CHARS = 64

export function ConversationList(props: {
  client: TacitClient
  conversations: ConversationSummary[] | null
  selected: ConversationId | null
  onSelect: (id: ConversationId) => void
  onCreated: (id: ConversationId) => void
}) {
  const [creating, setCreating] = useState(false)
  const now = Date.now()
  const list = props.conversations
  return (
    <section class="tc-list" aria-labelledby="conversations-title">
      <div class="tc-list-head">
        <h2 id="conversations-title">Conversations</h2>
        <button type="button" id="new-conversation" class="tc-primary" onClick={() => setCreating(true)}>
          New
        </button>
      </div>
      {list === null ? (
        <output class="tc-muted">Loading…</output>
      ) : list.length === 0 ? (
        <p class="tc-muted">No conversations yet. Start one with “New”.</p>
      ) : (
        <ul class="tc-conversations">
          {list.map((c) => {
            const title = titleOf(c, props.client.handle)
            const unread = c.unreadCount > 0
            const last = c.lastMessage
            return (
              <li key={c.id}>
                <button
                  type="button"
                  class="tc-conversation"
                  data-conversation-id={c.id}
                  aria-current={props.selected === c.id ? 'true' : undefined}
                  onClick={() => props.onSelect(c.id)}
                  aria-label={`${title}${unread ? `, ${c.unreadCount} unread` : ''}${c.active ? '' : ', left'}`}
                >
                  <span class="tc-avatar" aria-hidden="true">
                    {title.slice(0, 1).toUpperCase()}
                  </span>
                  <span class="tc-conversation-text">
                    <span class="tc-conversation-title">{title}</span>
                    <span class="tc-conversation-last">
                      {last
                        ? // A file message has no text of its own (an empty text cannot be sent).
                          `${last.from === props.client.handle ? 'You' : last.from}: ${last.text === '' ? '📎 File' : last.text}`
                        : ' '}
                    </span>
                  </span>
                  <span class="tc-conversation-side">
                    {last && (
                      <time dateTime={new Date(last.sentAt).toISOString()}>
                        {formatTime(last.sentAt, now)}
                      </time>
                    )}
                    {unread && (
                      <span class="tc-badge" aria-hidden="true">
                        {c.unreadCount}
                      </span>
                    )}
                  </span>
                </button>
              </li>
            )
          })}
        </ul>
      )}
      {creating && (
        <NewConversation
          client={props.client}
          onClose={() => setCreating(false)}
          onCreated={(id) => {
            setCreating(false)
            props.onCreated(id)
          }}
        />
      )}
    </section>
  )
}

function NewConversation(props: {
  client: TacitClient
  onClose: () => void
  onCreated: (id: ConversationId) => void
}) {
  const [members, setMembers] = useState('')
  const [name, setName] = useState('')
  const action = useAction()
  const first = useRef<HTMLInputElement>(null)
  const submit = async (e: Event) => {
    e.preventDefault()
    const id = await action.run(() => {
      const handles = parseHandles(members).filter((h) => h !== props.client.handle)
      const trimmed = name.trim()
      return props.client.createConversation(
        trimmed === '' ? { members: handles } : { members: handles, name: trimmed },
      )
    })
    if (id !== undefined) props.onCreated(id)
  }
  return (
    <Dialog title="New conversation" onClose={props.onClose} initialFocus={first}>
      <form onSubmit={submit} aria-busy={action.busy}>
        <label for="new-members">People</label>
        <input
          id="new-members"
          ref={first}
          autocapitalize="none"
          spellcheck={false}
          aria-describedby="new-members-hint"
          value={members}
          onInput={(e) => setMembers(e.currentTarget.value)}
          required
        />
        <p class="tc-hint" id="new-members-hint">
          Handles separated by commas. One person makes a private chat; more make a group.
        </p>
        <label for="new-name">Group name (optional)</label>
        <input
          id="new-name"
          maxLength={MAX_CONVERSATION_NAME_CHARS}
          value={name}
          onInput={(e) => setName(e.currentTarget.value)}
        />
        {action.error !== null && (
          <p class="tc-error" role="alert">
            {describeError(action.error)}
          </p>
        )}
        <div class="tc-actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="tc-primary" disabled={action.busy}>
            {action.busy ? 'Starting…' : 'Start'}
          </button>
        </div>
      </form>
    </Dialog>
  )
}
