import { CallsError } from './errors.ts'

/**
 * How much audio one encoded Opus frame of a Tacit call carries (docs/decisions/0015).
 *
 * Every encoded frame crosses to the SFrame worker and back and gets its own header and tag, so a
 * call's E2EE cost follows its frame count more than its bytes. At WebRTC's default of 20 ms, audio
 * is 50 of a 360p call's ~70 frames a second each way, and the 25–28 SFrame bytes are 40 % of a
 * 62-byte packet. At 40 ms audio makes 25 frames a second, for 20 ms more packetisation delay.
 */
export const CALL_AUDIO_PACKET_MS = 40

/** Packet times we ask for: Opus frame durations (RFC 6716 §2.1.4) from 10 ms, one frame a packet. */
const OPUS_FRAME_MS: ReadonlySet<number> = new Set([10, 20, 40, 60])

/**
 * Returns `sdp` with every audio section asking for `ms` of audio per packet: its `a=ptime`
 * (RFC 8866 §6.4, "the length of time in milliseconds represented by the media in a packet")
 * replaced or added. Applied to a *remote* description before `setRemoteDescription`, it sets the
 * packet time of our own sender: Chromium's Opus encoder takes its frame size from the remote
 * description's ptime. Nothing else in the description changes (the DTLS fingerprint a signed
 * signal carries stays as it was).
 */
export function withAudioPacketTime(sdp: string, ms: number = CALL_AUDIO_PACKET_MS): string {
  if (!OPUS_FRAME_MS.has(ms)) {
    throw new CallsError('usage', `an audio packet time of ${ms} ms is not an Opus frame duration`)
  }
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n'
  const lines = sdp.split(eol)
  const out: string[] = []
  let inAudio = false
  const closeAudioSection = (): void => {
    if (!inAudio) return
    // Keep the section's trailing empty line (the description's final EOL) after the attribute.
    let at = out.length
    while (at > 0 && out[at - 1] === '') at--
    out.splice(at, 0, `a=ptime:${ms}`)
  }
  for (const line of lines) {
    if (line.startsWith('m=')) {
      closeAudioSection()
      inAudio = line.startsWith('m=audio ')
    } else if (inAudio && line.startsWith('a=ptime:')) {
      continue
    }
    out.push(line)
  }
  closeAudioSection()
  return out.join(eol)
}
