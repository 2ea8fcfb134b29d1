/**
 * The thin layer between the screens and the SDK: hooks that load from a `TacitClient` and keep
 * the result current from its events. The screens never hold protocol state; everything they
 * show came from the client's encrypted store or its events.
 */
import type {
  Alert,
  ClientEventName,
  ClientEvents,
  ConversationId,
  ConversationSummary,
  StoredMessage,
  TacitClient,
} from '@tacit/client/client'
import { useCallback, useEffect, useRef, useState } from 'preact/hooks'
import { TYPING_SHOWN_MS } from './format.ts'

/** Messages a chat screen loads and keeps (the SDK's history page cap). */
export const MAX_MESSAGES_SHOWN = 1_000
/** Alerts kept on screen until dismissed; older ones drop off. */
export const MAX_ALERTS_SHOWN = 20
/** Coalesces bursts of events into one reload of the conversation list (at most 4 a second). */
const LIST_RELOAD_DELAY_MS = 250

export function useClientEvent<E extends ClientEventName>(
  client: TacitClient,
  event: E,
  fn: (value: ClientEvents[E]) => void,
): void {
  const latest = useRef(fn)
  latest.current = fn
  useEffect(() => client.on(event, (v) => latest.current(v)), [client, event])
}

/** Conversations, newest activity first, reloaded (coalesced) on every event that changes them. */
export function useConversations(client: TacitClient): {
  conversations: ConversationSummary[] | null
  reload: () => void
} {
  const [conversations, setConversations] = useState<ConversationSummary[] | null>(null)
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null)
  const alive = useRef(true)
  const load = useCallback(() => {
    client
      .listConversations()
      .then((list) => {
        if (alive.current) setConversations(list)
      })
      .catch(() => undefined)
  }, [client])
  const reload = useCallback(() => {
    if (timer.current !== null) return
    timer.current = setTimeout(() => {
      timer.current = null
      load()
    }, LIST_RELOAD_DELAY_MS)
  }, [load])
  useEffect(() => {
    alive.current = true
    load()
    const offs = [
      client.on('conversation', reload),
      client.on('message', reload),
      client.on('membership', reload),
      client.on('edit', reload),
      client.on('delete', reload),
    ]
    return () => {
      alive.current = false
      if (timer.current !== null) clearTimeout(timer.current)
      timer.current = null
      for (const off of offs) off()
    }
  }, [client, load, reload])
  return { conversations, reload }
}

/** Applies one content event to a copy of the message it targets. */
function patchMessage(
  list: StoredMessage[],
  messageId: string,
  change: (m: StoredMessage) => StoredMessage,
): StoredMessage[] {
  const i = list.findIndex((m) => m.id === messageId)
  if (i < 0) return list
  const next = list.slice()
  next[i] = change(list[i]!)
  return next
}

/** Messages of one conversation: its stored history, then every event as it arrives. */
export function useMessages(
  client: TacitClient,
  id: ConversationId,
): { messages: StoredMessage[] | null; append: (m: StoredMessage) => void } {
  const [messages, setMessages] = useState<StoredMessage[] | null>(null)
  // Events that arrive while the history loads are applied after it.
  const early = useRef<((l: StoredMessage[]) => StoredMessage[])[]>([])
  const loaded = useRef(false)
  const apply = useCallback((f: (l: StoredMessage[]) => StoredMessage[]) => {
    if (!loaded.current) {
      early.current.push(f)
      return
    }
    setMessages((l) => (l === null ? l : f(l)))
  }, [])
  useEffect(() => {
    let alive = true
    loaded.current = false
    early.current = []
    setMessages(null)
    const offs = [
      client.on('message', (m) => {
        if (m.conversationId !== id) return
        apply((l) => (l.some((x) => x.id === m.id) ? l : [...l, m].slice(-MAX_MESSAGES_SHOWN)))
      }),
      client.on('edit', (e) => {
        if (e.conversationId !== id) return
        apply((l) => patchMessage(l, e.messageId, (m) => ({ ...m, text: e.text, edited: true })))
      }),
      client.on('delete', (e) => {
        if (e.conversationId !== id) return
        apply((l) => patchMessage(l, e.messageId, (m) => ({ ...m, text: '', deleted: true })))
      }),
      client.on('reaction', (e) => {
        if (e.conversationId !== id) return
        apply((l) =>
          patchMessage(l, e.messageId, (m) => {
            const by = new Set(m.reactions[e.reaction] ?? [])
            if (e.remove) by.delete(e.by)
            else by.add(e.by)
            const reactions = { ...m.reactions }
            if (by.size === 0) delete reactions[e.reaction]
            else reactions[e.reaction] = [...by].sort()
            return { ...m, reactions }
          }),
        )
      }),
      client.on('receipt', (e) => {
        if (e.conversationId !== id) return
        const targets = new Set(e.messageIds)
        apply((l) =>
          l.map((m) => {
            if (!targets.has(m.id)) return m
            const list = m.receipts[e.kind]
            if (list.includes(e.by)) return m
            return { ...m, receipts: { ...m.receipts, [e.kind]: [...list, e.by] } }
          }),
        )
      }),
    ]
    client
      .history(id, { limit: MAX_MESSAGES_SHOWN })
      .then((history) => {
        if (!alive) return
        let list = history
        for (const f of early.current) list = f(list)
        early.current = []
        loaded.current = true
        setMessages(list)
      })
      .catch(() => {
        if (!alive) return
        loaded.current = true
        setMessages([])
      })
    return () => {
      alive = false
      for (const off of offs) off()
    }
  }, [client, id, apply])
  const append = useCallback(
    (m: StoredMessage) => apply((l) => (l.some((x) => x.id === m.id) ? l : [...l, m])),
    [apply],
  )
  return { messages, append }
}

/** Handles typing in a conversation right now (each shown until a stop or TYPING_SHOWN_MS). */
export function useTyping(client: TacitClient, id: ConversationId): string[] {
  const [typing, setTyping] = useState<string[]>([])
  useEffect(() => {
    const timers = new Map<string, ReturnType<typeof setTimeout>>()
    const stop = (handle: string) => {
      const t = timers.get(handle)
      if (t !== undefined) clearTimeout(t)
      timers.delete(handle)
      setTyping((l) => l.filter((h) => h !== handle))
    }
    setTyping([])
    const offTyping = client.on('typing', (e) => {
      if (e.conversationId !== id || e.handle === client.handle) return
      if (!e.typing) return stop(e.handle)
      const t = timers.get(e.handle)
      if (t !== undefined) clearTimeout(t)
      timers.set(
        e.handle,
        setTimeout(() => stop(e.handle), TYPING_SHOWN_MS),
      )
      setTyping((l) => (l.includes(e.handle) ? l : [...l, e.handle].sort()))
    })
    // A message from someone ends their typing.
    const offMessage = client.on('message', (m) => {
      if (m.conversationId === id && timers.has(m.sender.handle)) stop(m.sender.handle)
    })
    return () => {
      offTyping()
      offMessage()
      for (const t of timers.values()) clearTimeout(t)
    }
  }, [client, id])
  return typing
}

export interface ShownAlert {
  readonly key: number
  readonly alert: Alert
}

/** Alerts from the client, kept until the user dismisses them. */
export function useAlerts(client: TacitClient): { alerts: ShownAlert[]; dismiss: (key: number) => void } {
  const [alerts, setAlerts] = useState<ShownAlert[]>([])
  const next = useRef(1)
  useClientEvent(client, 'alert', (alert) => {
    const key = next.current++
    setAlerts((l) => [...l, { key, alert }].slice(-MAX_ALERTS_SHOWN))
  })
  const dismiss = useCallback((key: number) => setAlerts((l) => l.filter((a) => a.key !== key)), [])
  return { alerts, dismiss }
}

/** Runs an async action with a busy flag and an error text for the form that started it. */
export function useAction(): {
  busy: boolean
  error: unknown
  run: <T>(f: () => Promise<T>) => Promise<T | undefined>
  clear: () => void
} {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const alive = useRef(true)
  useEffect(() => {
    alive.current = true
    return () => {
      alive.current = false
    }
  }, [])
  const run = useCallback(async <T>(f: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true)
    setError(null)
    try {
      return await f()
    } catch (e) {
      if (alive.current) setError(e)
      return undefined
    } finally {
      if (alive.current) setBusy(false)
    }
  }, [])
  const clear = useCallback(() => setError(null), [])
  return { busy, error, run, clear }
}
