/**
 * What the 1:1 and the group call screens share: re-rendering on a controller's changes, a video
 * element for a stream, the dismissable problem line, and the mute / camera / hang-up controls.
 */
import type { ComponentChildren } from 'preact'
import { useEffect, useReducer, useRef } from 'preact/hooks'

/** Re-renders the component on every change a call controller announces. */
export function useControllerUpdates(controller: { subscribe(fn: () => void): () => void }): void {
  const [, bump] = useReducer((n: number, _: undefined) => n + 1, 0)
  useEffect(() => controller.subscribe(() => bump(undefined)), [controller])
}

/** A video element playing `stream` (our own camera muted, so it does not echo). */
export function MediaView(props: {
  stream: MediaStream | null
  muted: boolean
  label: string
  class: string
}) {
  const el = useRef<HTMLVideoElement>(null)
  useEffect(() => {
    const v = el.current
    if (!v) return
    if (v.srcObject !== props.stream) v.srcObject = props.stream
    if (props.stream) void v.play().catch(() => undefined)
  }, [props.stream])
  return (
    <video
      ref={el}
      class={props.class}
      autoPlay
      playsInline
      muted={props.muted}
      aria-label={props.label}
      data-testid={props.class}
    />
  )
}

/** The text of a call that ended badly, until dismissed. */
export function CallProblem(props: { text: string; onDismiss: () => void }) {
  return (
    <div class="tc-call-problem" role="alert">
      <span>{props.text}</span>
      <button type="button" onClick={props.onDismiss} aria-label="Dismiss call message">
        ×
      </button>
    </div>
  )
}

/** Mute, camera off (when the call has video), anything extra, and the red button that ends it. */
export function CallControls(props: {
  muted: boolean
  cameraOff: boolean
  video: boolean
  onMute: () => void
  onCamera: () => void
  endLabel: string
  onEnd: () => void
  children?: ComponentChildren
}) {
  return (
    <div class="tc-call-controls">
      <button type="button" aria-pressed={props.muted} onClick={props.onMute}>
        Mute
      </button>
      {props.video && (
        <button type="button" aria-pressed={props.cameraOff} onClick={props.onCamera}>
          Camera off
        </button>
      )}
      {props.children}
      <button type="button" class="tc-call-hangup" onClick={props.onEnd}>
        {props.endLabel}
      </button>
    </div>
  )
}
