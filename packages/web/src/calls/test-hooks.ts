/**
 * Hooks for the browser tests of calls (tests/web/calls-1to1.test.ts). They exist only when a
 * test defines `globalThis.__tacitCallTestHooks` before the app loads; the app never creates
 * them. Each can only make this device misbehave towards its peer (claim a wrong fingerprint,
 * use a wrong media key), which is what the tests need to show the peer refuses it.
 */
export interface CallTestHooks {
  /** Sign a DTLS fingerprint one bit off our real certificate's (a man in the middle's view). */
  tamperFingerprint?: boolean
  /** Derive our SFrame keys from a wrong base key: nothing we send or receive decrypts. */
  wrongMediaKey?: boolean
  /** ICE through TURN only (`iceTransportPolicy: 'relay'`). */
  relayOnly?: boolean
  /** A shorter ring, so a missed call does not take 45 s of a test. */
  ringMs?: number
  /** Written by the app: the current (and the last ended) call's connection, for its stats. */
  peerConnection?: RTCPeerConnection
  lastPeerConnection?: RTCPeerConnection
  /** Written by the app: 'connected' (DTLS up), 'verified' or 'refused' (the fingerprint check). */
  trace?: string[]
  /** Written by the app: commits a self-update in the call's conversation (a new MLS epoch). */
  updateOwnLeaf?: () => Promise<void>
  /** Written by the app: the current call's SFrame counters. */
  mediaStats?: () => Promise<unknown>
}

export function callTestHooks(): CallTestHooks | undefined {
  return (globalThis as { __tacitCallTestHooks?: CallTestHooks }).__tacitCallTestHooks
}

/** Notes a step of the call for the tests (nothing without hooks). */
export function traceCall(event: string): void {
  const hooks = callTestHooks()
  if (!hooks) return
  hooks.trace ??= []
  hooks.trace.push(event)
}
