/**
 * Members of a conversation: who is in it, add people (every device of theirs joins through one
 * MLS commit), remove people (their devices are removed in one commit and can read nothing
 * sent after it), and leave.
 */
import type { ConversationSummary, TacitClient } from '@tacit/client/client'
import { useRef, useState } from 'preact/hooks'
import { Dialog } from './dialog.tsx'
import { describeError, parseHandles } from './format.ts'
import { useAction } from './use-client.ts'

export function Members(props: {
  client: TacitClient
  conversation: ConversationSummary
  onClose: () => void
}) {
  const { client, conversation } = props
  const [adding, setAdding] = useState('')
  const [members, setMembers] = useState(conversation.members)
  const [done, setDone] = useState('')
  const action = useAction()
  const field = useRef<HTMLInputElement>(null)
  const refresh = async () => setMembers((await client.conversation(conversation.id)).members)

  const add = async (e: Event) => {
    e.preventDefault()
    const handles = await action.run(async () => {
      const list = parseHandles(adding).filter((h) => !members.includes(h))
      if (list.length > 0) await client.addMembers(conversation.id, list)
      await refresh()
      return list
    })
    if (handles) {
      setAdding('')
      setDone(handles.length === 0 ? 'Already members.' : `Added ${handles.join(', ')}.`)
    }
  }
  const remove = async (handle: string) => {
    if (!globalThis.confirm(`Remove ${handle} from this conversation?`)) return
    const ok = await action.run(async () => {
      await client.removeMembers(conversation.id, [handle])
      await refresh()
      return true
    })
    if (ok) {
      setDone(`Removed ${handle}.`)
      field.current?.focus()
    }
  }
  const leave = async () => {
    if (!globalThis.confirm('Leave this conversation? You will not see new messages in it.')) return
    const ok = await action.run(async () => {
      await client.leaveConversation(conversation.id)
      return true
    })
    if (ok) props.onClose()
  }

  return (
    <Dialog title="Members" onClose={props.onClose} initialFocus={field}>
      <ul class="tc-members" aria-label="Members">
        {members.map((h) => (
          <li key={h}>
            <span>
              {h}
              {h === client.handle && <span class="tc-muted"> (you)</span>}
              {conversation.admins.includes(h) && <span class="tc-tag">admin</span>}
            </span>
            {h !== client.handle && conversation.active && (
              <button type="button" onClick={() => void remove(h)} aria-label={`Remove ${h}`}>
                Remove
              </button>
            )}
          </li>
        ))}
      </ul>
      {conversation.active && (
        <form onSubmit={add} class="tc-inline-form" aria-busy={action.busy}>
          <label for="add-members">Add people</label>
          <div class="tc-row">
            <input
              id="add-members"
              ref={field}
              autocapitalize="none"
              spellcheck={false}
              placeholder="handle, handle"
              value={adding}
              onInput={(e) => setAdding(e.currentTarget.value)}
              required
            />
            <button type="submit" class="tc-primary" disabled={action.busy}>
              Add
            </button>
          </div>
        </form>
      )}
      <output class="tc-muted">{action.busy ? 'Updating the group…' : done}</output>
      {action.error !== null && (
        <p class="tc-error" role="alert">
          {describeError(action.error)}
        </p>
      )}
      <div class="tc-actions">
        {conversation.active && (
          <button type="button" class="tc-danger" onClick={() => void leave()}>
            Leave conversation
          </button>
        )}
        <button type="button" onClick={props.onClose}>
          Close
        </button>
      </div>
    </Dialog>
  )
}
