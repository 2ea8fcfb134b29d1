/** What the 1:1 and the group call controllers share (call-controller.ts, group-call.ts). */

/** The screens listening to a controller; one screen's failure does not stop the others. */
export class ChangeListeners {
  private readonly listeners = new Set<() => void>()

  /** Adds a listener; the returned function removes it. */
  add(fn: () => void): () => void {
    this.listeners.add(fn)
    return () => void this.listeners.delete(fn)
  }

  notify(): void {
    for (const fn of this.listeners) {
      try {
        fn()
      } catch {
        // A screen's failure is its own.
      }
    }
  }
}

/** Stops every track of a local stream (camera light off, microphone released). */
export function stopStream(stream: MediaStream | null): void {
  for (const t of stream?.getTracks() ?? []) t.stop()
}
