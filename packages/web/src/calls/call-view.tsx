/**
 * The call screens: call buttons for a 1:1 chat's header, the call panel (incoming ringing with
 * accept and decline, outgoing ringing, the call itself with both videos, mute, camera and hang
 * up) and the call notices of a conversation (missed, declined, refused). Every control is a
 * labelled button, reachable by keyboard; state changes are announced (role="status"/"alert").
 */
import './calls.css'
import type { ConversationSummary, TacitClient } from '@tacit/client/client'
import { useEffect, useRef } from 'preact/hooks'
import { formatTime } from '../ui/format.ts'
import { type CallController, type CallState, callControllerFor } from './call-controller.ts'
import { CallControls, CallProblem, MediaView, useControllerUpdates } from './call-parts.tsx'
import { GroupCallButtons, GroupCallPanel } from './group-call-view.tsx'

/** Re-renders on every change of the client's call controller. */
export function useCalls(client: TacitClient): CallController {
  const controller = callControllerFor(client)
  useControllerUpdates(controller)
  return controller
}

/** Audio and video call buttons; shown for a 1:1 conversation this device is still in. */
export function CallButtons(props: { client: TacitClient; conversation: ConversationSummary }) {
  const { client, conversation } = props
  const calls = useCalls(client)
  const others = conversation.members.filter((m) => m !== client.handle)
  const peer = others[0]
  if (others.length > 1)
    return <GroupCallButtons client={client} conversation={conversation} busy={calls.state !== null} />
  if (!conversation.active || others.length !== 1 || peer === undefined) return null
  const busy = calls.state !== null
  const start = (video: boolean) =>
    void calls.start(conversation.id, peer, { audio: true, video }).catch(() => undefined)
  return (
    <>
      <button
        type="button"
        class="tc-call-start"
        disabled={busy}
        aria-label={`Audio call ${peer}`}
        title={`Audio call ${peer}`}
        onClick={() => start(false)}
      >
        <span aria-hidden="true">📞</span>
        <span class="tc-call-label">Call</span>
      </button>
      <button
        type="button"
        class="tc-call-start"
        disabled={busy}
        aria-label={`Video call ${peer}`}
        title={`Video call ${peer}`}
        onClick={() => start(true)}
      >
        <span aria-hidden="true">🎥</span>
        <span class="tc-call-label">Video</span>
      </button>
    </>
  )
}

/** Rows for a conversation's message list: missed, declined, refused and ended calls. */
export function CallNotices(props: { client: TacitClient; conversationId: string }) {
  const calls = useCalls(props.client)
  const now = Date.now()
  return (
    <>
      {calls.notices(props.conversationId).map((n) => (
        <li key={`call-${n.key}`} class="tc-call-notice" data-kind={n.kind}>
          <span aria-hidden="true">{n.kind === 'missed' ? '⤹ ' : n.kind === 'refused' ? '⚠ ' : ''}</span>
          <span class="tc-call-notice-text">{n.text}</span>{' '}
          <time dateTime={new Date(n.at).toISOString()}>{formatTime(n.at, now)}</time>
        </li>
      ))}
    </>
  )
}

function kindOf(s: CallState): string {
  return s.media.video ? 'video call' : 'audio call'
}

/** The call panel, over every screen while a call rings or runs. */
export function CallPanel(props: { client: TacitClient; onOpen?: (conversationId: string) => void }) {
  const calls = useCalls(props.client)
  const s = calls.state
  const problem = calls.lastProblem
  const accept = useRef<HTMLButtonElement>(null)
  const phase = s?.phase
  useEffect(() => {
    if (phase === 'incoming') accept.current?.focus()
  }, [phase])
  if (s === null) {
    if (problem === null) return <GroupCallPanel client={props.client} />
    return <CallProblem text={problem} onDismiss={() => calls.dismissProblem()} />
  }
  if (s.phase === 'incoming') {
    return (
      <section
        class="tc-call tc-call-ringing"
        role="alertdialog"
        aria-labelledby="call-title"
        data-phase="incoming"
      >
        <h2 id="call-title">
          Incoming {kindOf(s)} from {s.peerHandle}
        </h2>
        <div class="tc-call-controls">
          <button ref={accept} type="button" class="tc-call-accept" onClick={() => void calls.accept()}>
            Accept
          </button>
          <button type="button" class="tc-call-hangup" onClick={() => calls.decline()}>
            Decline
          </button>
        </div>
      </section>
    )
  }
  const status =
    s.phase === 'outgoing'
      ? `Calling ${s.peerHandle}…`
      : s.phase === 'connecting'
        ? `Connecting to ${s.peerHandle}…`
        : `In a ${kindOf(s)} with ${s.peerHandle} · end-to-end encrypted`
  return (
    <section class="tc-call" aria-labelledby="call-title" data-phase={s.phase}>
      <h2 id="call-title" class="tc-visually-hidden">
        Call with {s.peerHandle}
      </h2>
      <output class="tc-call-status">{status}</output>
      <div class="tc-call-media">
        <MediaView
          stream={s.remoteStream}
          muted={false}
          label={`${s.peerHandle}'s video`}
          class="tc-call-remote"
        />
        {s.media.video && (
          <MediaView stream={s.localStream} muted={true} label="Your camera" class="tc-call-local" />
        )}
      </div>
      <CallControls
        muted={s.muted}
        cameraOff={s.cameraOff}
        video={s.media.video}
        onMute={() => calls.toggleMute()}
        onCamera={() => void calls.toggleCamera()}
        endLabel="Hang up"
        onEnd={() => calls.hangup()}
      >
        {props.onOpen && (
          <button type="button" onClick={() => props.onOpen?.(s.conversationId)}>
            Open chat
          </button>
        )}
      </CallControls>
    </section>
  )
}
