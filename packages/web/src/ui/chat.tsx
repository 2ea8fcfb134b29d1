/**
 * One conversation: its messages (delivery and read state, edits, reactions, files), who is
 * typing, and the composer (text, files with upload progress). Incoming messages shown while
 * the page is visible are marked read, which sends a read receipt.
 */
import type { ConversationSummary, StoredMessage, TacitClient } from '@tacit/client/client'
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks'
import { CallButtons, CallNotices } from '../calls/call-view.tsx'
import {
  deliveryStateOf,
  describeError,
  formatBytes,
  formatTime,
  MAX_COMPOSER_CHARS,
  peerOf,
  percentOf,
  QUICK_REACTIONS,
  safeFileName,
  TYPING_IDLE_MS,
  titleOf,
} from './format.ts'
import { Members } from './members.tsx'
import { downloadToBlob, sendPickedFile, type WebSession } from './session.ts'
import { useAction, useMessages, useTyping } from './use-client.ts'

/** Uploads shown at once in one conversation (each is a whole file read from disk). */
export const MAX_PARALLEL_UPLOADS = 4
/** While typing goes on, our "typing" is repeated this often so it does not expire on the other side. */
const TYPING_REPEAT_MS = 4_000
/** Marks read a moment after messages arrive, so a burst costs one receipt. */
const MARK_READ_INTERVAL_MS = 500
/** Within this many pixels of the bottom, new messages keep the view at the bottom. */
const STICK_TO_BOTTOM_PX = 80

interface Upload {
  readonly key: number
  readonly name: string
  done: number
  total: number
  error: unknown
}

export function Chat(props: {
  client: TacitClient
  session: WebSession
  conversation: ConversationSummary
  onBack: () => void
  onVerify: (handle: string) => void
  onRead: () => void
}) {
  const { client, conversation } = props
  const id = conversation.id
  const { messages } = useMessages(client, id)
  const typing = useTyping(client, id)
  const [showMembers, setShowMembers] = useState(false)
  const title = titleOf(conversation, client.handle)
  const peer = peerOf(conversation, client.handle)
  const others = conversation.members.filter((m) => m !== client.handle)

  // Read receipts for what is on screen: at most one per MARK_READ_INTERVAL_MS while messages
  // keep arriving (each receipt is an MLS message of its own).
  const lastIncoming = messages?.filter((m) => !m.outgoing).at(-1)?.id
  const onRead = useRef(props.onRead)
  onRead.current = props.onRead
  const readTimer = useRef<ReturnType<typeof setTimeout> | null>(null)
  useEffect(() => {
    if (lastIncoming === undefined || !conversation.active) return
    const schedule = () => {
      if (readTimer.current !== null || document.visibilityState !== 'visible') return
      readTimer.current = setTimeout(() => {
        readTimer.current = null
        client
          .markRead(id)
          .then(() => onRead.current())
          .catch(() => undefined)
      }, MARK_READ_INTERVAL_MS)
    }
    schedule()
    document.addEventListener('visibilitychange', schedule)
    return () => document.removeEventListener('visibilitychange', schedule)
  }, [client, id, lastIncoming, conversation.active])
  useEffect(
    () => () => {
      if (readTimer.current !== null) clearTimeout(readTimer.current)
    },
    [],
  )

  // Keep the newest message in view unless the reader scrolled up.
  const list = useRef<HTMLDivElement>(null)
  const stick = useRef(true)
  useLayoutEffect(() => {
    const el = list.current
    if (el && stick.current) el.scrollTop = el.scrollHeight
  }, [messages])

  return (
    <section class="tc-chat" aria-labelledby="chat-title">
      <header class="tc-chat-head">
        <button type="button" class="tc-back" onClick={props.onBack} aria-label="Back to conversations">
          ←
        </button>
        <div class="tc-chat-title">
          <h2 id="chat-title">{title}</h2>
          <p class="tc-muted">
            {conversation.active
              ? `${conversation.members.length} member${conversation.members.length === 1 ? '' : 's'}`
              : 'You are no longer in this conversation'}
          </p>
        </div>
        <CallButtons client={client} conversation={conversation} />
        {peer !== null && (
          <button type="button" onClick={() => props.onVerify(peer)}>
            Verify
          </button>
        )}
        <button type="button" onClick={() => setShowMembers(true)} aria-haspopup="dialog">
          Members
        </button>
      </header>
      <div
        class="tc-messages"
        ref={list}
        role="log"
        aria-label={`Messages in ${title}`}
        aria-busy={messages === null}
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard to scroll it (WCAG 2.1.1)
        tabIndex={0}
        onScroll={(e) => {
          const el = e.currentTarget
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < STICK_TO_BOTTOM_PX
        }}
      >
        <ol class="tc-message-list">
          {messages?.length === 0 && <li class="tc-muted tc-empty-log">No messages yet. Say hello.</li>}
          {messages?.map((m) => (
            <MessageItem
              key={m.id}
              client={client}
              session={props.session}
              message={m}
              others={others}
              group={others.length > 1}
              active={conversation.active}
            />
          ))}
          <CallNotices client={client} conversationId={id} />
        </ol>
      </div>
      <p class="tc-typing" aria-live="polite">
        {typing.length === 0
          ? ''
          : typing.length === 1
            ? `${typing[0]} is typing…`
            : `${typing.join(', ')} are typing…`}
      </p>
      {conversation.active && <Composer client={client} session={props.session} conversationId={id} />}
      {showMembers && (
        <Members client={client} conversation={conversation} onClose={() => setShowMembers(false)} />
      )}
    </section>
  )
}

function MessageItem(props: {
  client: TacitClient
  session: WebSession
  message: StoredMessage
  others: readonly string[]
  group: boolean
  active: boolean
}) {
  const { client, message: m } = props
  const [editing, setEditing] = useState(false)
  const [picking, setPicking] = useState(false)
  const action = useAction()
  const own = m.outgoing
  const delivery = own ? deliveryStateOf(m, props.others) : null
  const who = own ? 'You' : m.sender.handle
  const react = (reaction: string) => {
    setPicking(false)
    const mine = (m.reactions[reaction] ?? []).includes(client.handle)
    void action.run(() => client.react(m.conversationId, m.id, reaction, mine))
  }
  return (
    <li
      class={`tc-msg${own ? ' tc-own' : ''}${m.deleted ? ' tc-deleted' : ''}`}
      data-message-id={m.id}
      data-state={delivery?.state}
      aria-label={`${who}, ${formatTime(m.sentAt, Date.now())}`}
    >
      <div class="tc-msg-meta">
        <span class="tc-sender">{who}</span>
        <time dateTime={new Date(m.sentAt).toISOString()}>{formatTime(m.sentAt, Date.now())}</time>
      </div>
      {editing ? (
        <EditForm client={client} message={m} onDone={() => setEditing(false)} />
      ) : (
        <div class="tc-msg-body">
          {m.deleted ? (
            <em>Message deleted</em>
          ) : m.kind === 'file' ? (
            <FileCard session={props.session} message={m} />
          ) : (
            <p class="tc-text">{m.text}</p>
          )}
          {m.edited && !m.deleted && <span class="tc-edited"> (edited)</span>}
        </div>
      )}
      {Object.keys(m.reactions).length > 0 && (
        <ul class="tc-reactions" aria-label="Reactions">
          {Object.entries(m.reactions).map(([reaction, by]) => (
            <li key={reaction}>
              <button
                type="button"
                class="tc-reaction"
                aria-pressed={by.includes(client.handle)}
                aria-label={`${reaction} from ${by.join(', ')}`}
                title={by.join(', ')}
                disabled={!props.active}
                onClick={() => react(reaction)}
              >
                {reaction} <span aria-hidden="true">{by.length}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
      {delivery && (
        <p class="tc-status" data-state={delivery.state}>
          {delivery.label}
        </p>
      )}
      {props.active && !m.deleted && !editing && (
        <div class="tc-msg-actions">
          <button
            type="button"
            aria-expanded={picking}
            aria-label={`React to ${who}'s message`}
            onClick={() => setPicking((p) => !p)}
          >
            React
          </button>
          {own && m.kind === 'text' && (
            <button type="button" onClick={() => setEditing(true)}>
              Edit
            </button>
          )}
          {own && (
            <button
              type="button"
              onClick={() => {
                if (globalThis.confirm('Delete this message for everyone?'))
                  void action.run(() => client.deleteMessage(m.conversationId, m.id))
              }}
            >
              Delete
            </button>
          )}
        </div>
      )}
      {picking && (
        <fieldset
          class="tc-picker"
          onKeyDown={(e) => {
            if (e.key === 'Escape') setPicking(false)
          }}
        >
          <legend class="tc-visually-hidden">Choose a reaction</legend>
          {QUICK_REACTIONS.map((r, i) => (
            <button
              type="button"
              key={r}
              aria-label={`React ${r}`}
              ref={(el) => {
                if (i === 0) el?.focus()
              }}
              onClick={() => react(r)}
            >
              {r}
            </button>
          ))}
        </fieldset>
      )}
      {action.error !== null && (
        <p class="tc-error" role="alert">
          {describeError(action.error)}
        </p>
      )}
    </li>
  )
}

function EditForm(props: { client: TacitClient; message: StoredMessage; onDone: () => void }) {
  const [text, setText] = useState(props.message.text)
  const action = useAction()
  const submit = async (e: Event) => {
    e.preventDefault()
    const t = text.trim()
    if (t === '' || t === props.message.text) return props.onDone()
    const ok = await action.run(async () => {
      await props.client.editMessage(props.message.conversationId, props.message.id, t)
      return true
    })
    if (ok) props.onDone()
  }
  return (
    <form
      class="tc-edit"
      onSubmit={submit}
      onKeyDown={(e) => {
        if (e.key === 'Escape') props.onDone()
      }}
    >
      <label class="tc-visually-hidden" for={`edit-${props.message.id}`}>
        Edit message
      </label>
      <input
        id={`edit-${props.message.id}`}
        value={text}
        maxLength={MAX_COMPOSER_CHARS}
        ref={(el) => el?.focus()}
        onInput={(e) => setText(e.currentTarget.value)}
      />
      <button type="submit" class="tc-primary" disabled={action.busy}>
        Save
      </button>
      <button type="button" onClick={props.onDone}>
        Cancel
      </button>
      {action.error !== null && (
        <p class="tc-error" role="alert">
          {describeError(action.error)}
        </p>
      )}
    </form>
  )
}

function FileCard(props: { session: WebSession; message: StoredMessage }) {
  const m = props.message
  const info = m.fileInfo
  const [progress, setProgress] = useState<{ done: number; total: number } | null>(null)
  const [saved, setSaved] = useState<{ url: string; name: string } | null>(null)
  const action = useAction()
  useEffect(() => () => void (saved && URL.revokeObjectURL(saved.url)), [saved])
  const name = safeFileName(info?.name ?? 'file')
  const download = async () => {
    setProgress({ done: 0, total: info?.size ?? 0 })
    const blob = await action.run(() =>
      downloadToBlob(props.session, m.conversationId, m.id, (done, total) => setProgress({ done, total })),
    )
    setProgress(null)
    if (!blob) return
    const url = URL.createObjectURL(blob)
    setSaved({ url, name })
    // Offer it to the browser's downloads at once; the link below stays for a second save.
    const a = document.createElement('a')
    a.href = url
    a.download = name
    a.rel = 'noopener'
    a.click()
  }
  return (
    <div class="tc-file">
      <span class="tc-file-icon" aria-hidden="true">
        📄
      </span>
      <span class="tc-file-text">
        <span class="tc-file-name">{info?.name ?? 'File'}</span>
        <span class="tc-muted">{info ? formatBytes(info.size) : 'unreadable description'}</span>
      </span>
      {progress ? (
        <span class="tc-progress">
          <progress
            max={100}
            value={percentOf(progress.done, progress.total)}
            aria-label={`Downloading ${name}`}
          />
          <span aria-hidden="true">{percentOf(progress.done, progress.total)}%</span>
        </span>
      ) : saved ? (
        <a class="tc-button" href={saved.url} download={saved.name}>
          Save {saved.name}
        </a>
      ) : (
        info && (
          <button type="button" onClick={download} aria-label={`Download ${name}`}>
            Download
          </button>
        )
      )}
      {action.error !== null && (
        <p class="tc-error" role="alert">
          {describeError(action.error)}
        </p>
      )}
    </div>
  )
}

function Composer(props: { client: TacitClient; session: WebSession; conversationId: string }) {
  const { client, conversationId } = props
  const [text, setText] = useState('')
  const [uploads, setUploads] = useState<Upload[]>([])
  const action = useAction()
  const area = useRef<HTMLTextAreaElement>(null)
  const fileInput = useRef<HTMLInputElement>(null)
  const nextUpload = useRef(1)
  const typing = useRef<{ on: boolean; lastSent: number; idle: ReturnType<typeof setTimeout> | null }>({
    on: false,
    lastSent: 0,
    idle: null,
  })

  const stopTyping = useCallback(() => {
    const t = typing.current
    if (t.idle !== null) clearTimeout(t.idle)
    t.idle = null
    if (t.on) {
      t.on = false
      void client.setTyping(conversationId, false).catch(() => undefined)
    }
  }, [client, conversationId])
  useEffect(() => stopTyping, [stopTyping])
  useEffect(() => area.current?.focus(), [conversationId])

  const onInput = (value: string) => {
    setText(value)
    const t = typing.current
    if (value === '') return stopTyping()
    const now = Date.now()
    if (!t.on || now - t.lastSent > TYPING_REPEAT_MS) {
      t.on = true
      t.lastSent = now
      void client.setTyping(conversationId, true).catch(() => undefined)
    }
    if (t.idle !== null) clearTimeout(t.idle)
    t.idle = setTimeout(stopTyping, TYPING_IDLE_MS)
  }

  const send = async (e?: Event) => {
    e?.preventDefault()
    const body = text.trim()
    if (body === '' || action.busy) return
    stopTyping()
    const sent = await action.run(() => client.sendText(conversationId, body))
    if (sent !== undefined) setText('')
    area.current?.focus()
  }

  const sendFiles = (files: FileList | null) => {
    if (!files) return
    for (const file of [...files].slice(0, MAX_PARALLEL_UPLOADS)) {
      const key = nextUpload.current++
      const upload: Upload = { key, name: file.name, done: 0, total: file.size, error: null }
      setUploads((l) => [...l, upload])
      const update = (patch: Partial<Upload>) =>
        setUploads((l) => l.map((u) => (u.key === key ? { ...u, ...patch } : u)))
      sendPickedFile(props.session, conversationId, file, (done, total) => update({ done, total }))
        .then(() => setUploads((l) => l.filter((u) => u.key !== key)))
        .catch((error: unknown) => update({ error }))
    }
    if (fileInput.current) fileInput.current.value = ''
  }

  return (
    <div class="tc-composer-wrap">
      {uploads.length > 0 && (
        <ul class="tc-uploads" aria-label="Files being sent">
          {uploads.map((u) => (
            <li key={u.key}>
              <span class="tc-file-name">{u.name}</span>
              {u.error === null ? (
                <span class="tc-progress">
                  <progress max={100} value={percentOf(u.done, u.total)} aria-label={`Sending ${u.name}`} />
                  <span aria-hidden="true">{percentOf(u.done, u.total)}%</span>
                </span>
              ) : (
                <>
                  <span class="tc-error" role="alert">
                    {describeError(u.error)}
                  </span>
                  <button
                    type="button"
                    onClick={() => setUploads((l) => l.filter((x) => x.key !== u.key))}
                    aria-label={`Dismiss ${u.name}`}
                  >
                    Dismiss
                  </button>
                </>
              )}
            </li>
          ))}
        </ul>
      )}
      <form class="tc-composer" onSubmit={send}>
        <button
          type="button"
          class="tc-attach"
          onClick={() => fileInput.current?.click()}
          aria-label="Attach a file"
        >
          +
        </button>
        <input
          ref={fileInput}
          type="file"
          multiple
          class="tc-visually-hidden"
          tabIndex={-1}
          aria-hidden="true"
          data-testid="file-input"
          onChange={(e) => sendFiles(e.currentTarget.files)}
        />
        <label for="composer" class="tc-visually-hidden">
          Message
        </label>
        <textarea
          id="composer"
          ref={area}
          rows={1}
          placeholder="Write a message"
          maxLength={MAX_COMPOSER_CHARS}
          value={text}
          aria-describedby="composer-hint"
          onInput={(e) => onInput(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) void send(e)
          }}
        />
        <span id="composer-hint" class="tc-visually-hidden">
          Enter sends, Shift+Enter adds a line.
        </span>
        <button type="submit" class="tc-primary" disabled={action.busy || text.trim() === ''}>
          Send
        </button>
      </form>
      {action.error !== null && (
        <p class="tc-error" role="alert">
          {describeError(action.error)}
        </p>
      )}
    </div>
  )
}
