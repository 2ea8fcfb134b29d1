/**
 * Group call screens: the "Group call" / "Join call" button of a group conversation's header and
 * the group call panel (a tile per participant, our camera, mute, camera off, leave). Controls are
 * labelled buttons; the status line is announced.
 */
import './calls.css'
import './group-call.css'
import type { ConversationSummary, TacitClient } from '@tacit/client/client'
import { CallControls, CallProblem, MediaView, useControllerUpdates } from './call-parts.tsx'
import { type GroupCallController, groupCallControllerFor } from './group-call.ts'

export function useGroupCalls(client: TacitClient): GroupCallController {
  const controller = groupCallControllerFor(client)
  useControllerUpdates(controller)
  return controller
}

/** Start or join the group call of a group conversation (3 or more members). */
export function GroupCallButtons(props: {
  client: TacitClient
  conversation: ConversationSummary
  busy: boolean
}) {
  const { client, conversation } = props
  const calls = useGroupCalls(client)
  if (!conversation.active) return null
  const busy = props.busy || calls.state !== null
  const ongoing = calls.ongoing(conversation.id)
  const media = { audio: true, video: true }
  if (ongoing !== null) {
    return (
      <button
        type="button"
        class="tc-call-start"
        disabled={busy}
        aria-label={`Join group call (${ongoing.members.size} in it)`}
        onClick={() => void calls.join(conversation.id, ongoing.callId, media).catch(() => undefined)}
      >
        <span aria-hidden="true">🎥</span> Join call ({ongoing.members.size})
      </button>
    )
  }
  return (
    <button
      type="button"
      class="tc-call-start"
      disabled={busy}
      aria-label="Start group call"
      onClick={() => void calls.start(conversation.id, media).catch(() => undefined)}
    >
      <span aria-hidden="true">🎥</span> Group call
    </button>
  )
}

/** The group call panel, over every screen while this device is in a group call. */
export function GroupCallPanel(props: { client: TacitClient }) {
  const calls = useGroupCalls(props.client)
  const s = calls.state
  if (s === null) {
    const problem = calls.problem
    if (problem === null) return null
    return <CallProblem text={problem} onDismiss={() => calls.dismissProblem()} />
  }
  const others = s.members.filter((m) => m.memberId !== props.client.calls.self.memberId)
  const names = [...new Set(others.map((m) => m.handle))].join(', ')
  const status =
    s.phase === 'joining'
      ? 'Joining the group call…'
      : `Group call${names ? ` with ${names}` : ''} · end-to-end encrypted`
  return (
    <section class="tc-call tc-group-call" aria-labelledby="group-call-title" data-phase={s.phase}>
      <h2 id="group-call-title" class="tc-visually-hidden">
        Group call
      </h2>
      <output class="tc-call-status">{status}</output>
      <div class="tc-group-grid">
        <MediaView
          stream={s.localStream}
          muted={true}
          label="Your camera"
          class="tc-group-tile tc-group-local"
        />
        {s.tiles.map((t, i) => (
          <MediaView
            key={t.participant}
            stream={t.stream}
            muted={false}
            label={`Participant ${i + 1}`}
            class="tc-group-tile tc-group-remote"
          />
        ))}
      </div>
      <CallControls
        muted={s.muted}
        cameraOff={s.cameraOff}
        video={true}
        onMute={() => calls.toggleMute()}
        onCamera={() => calls.toggleCamera()}
        endLabel="Leave call"
        onEnd={() => calls.leave()}
      />
    </section>
  )
}
