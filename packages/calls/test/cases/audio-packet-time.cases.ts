import { type CaseGroup, check, checkEqual, checkRejects } from '../../../../tests/harness/cases.ts'
import { CALL_AUDIO_PACKET_MS, withAudioPacketTime } from '../../src/audio-packet-time.ts'
import { CallsError } from '../../src/errors.ts'

/** Audio packet time in SDP (RFC 8866 §6.4 `a=ptime`), as the web client applies it. */

/** The shape of a Chromium offer: session part, one audio and one video section, CRLF, final CRLF. */
const OFFER = [
  'v=0',
  'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 1',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111 63',
  'c=IN IP4 0.0.0.0',
  'a=mid:0',
  'a=fingerprint:sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF',
  'a=rtpmap:111 opus/48000/2',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  'm=video 9 UDP/TLS/RTP/SAVPF 96',
  'c=IN IP4 0.0.0.0',
  'a=mid:1',
  'a=rtpmap:96 VP8/90000',
  '',
].join('\r\n')

const lines = (sdp: string) => sdp.split('\r\n')

/** The `a=ptime` lines of each m-section, keyed by its m-line. */
function ptimesBySection(sdp: string): Map<string, string[]> {
  const sections = new Map<string, string[]>()
  let current: string[] | undefined
  for (const line of sdp.split(/\r?\n/)) {
    if (line.startsWith('m=')) {
      current = []
      sections.set(line, current)
    } else if (line.startsWith('a=ptime:')) {
      check(current !== undefined, 'a=ptime at session level')
      current.push(line)
    }
  }
  return sections
}

export function audioPacketTimeCaseGroups(): CaseGroup[] {
  return [
    {
      name: 'audio packet time in SDP',
      cases: [
        {
          name: 'adds a=ptime to the audio section only, and changes no other line',
          run() {
            const out = withAudioPacketTime(OFFER, 40)
            const sections = ptimesBySection(out)
            checkEqual(
              sections.get('m=audio 9 UDP/TLS/RTP/SAVPF 111 63')?.join(),
              'a=ptime:40',
              'audio section',
            )
            checkEqual(sections.get('m=video 9 UDP/TLS/RTP/SAVPF 96')?.length, 0, 'video section untouched')
            const without = lines(out).filter((l) => l !== 'a=ptime:40')
            checkEqual(without.join('\r\n'), OFFER, 'every other line, its order and the final CRLF kept')
            checkEqual(
              lines(out).indexOf('a=ptime:40'),
              lines(OFFER).indexOf('m=video 9 UDP/TLS/RTP/SAVPF 96'),
              'at the end of the audio section',
            )
          },
        },
        {
          name: 'replaces an existing a=ptime instead of adding a second one',
          run() {
            const offer = OFFER.replace('a=mid:0\r\n', 'a=mid:0\r\na=ptime:20\r\n')
            const out = withAudioPacketTime(offer, 60)
            checkEqual(
              ptimesBySection(out).get('m=audio 9 UDP/TLS/RTP/SAVPF 111 63')?.join(),
              'a=ptime:60',
              'one line, the new value',
            )
            checkEqual(lines(out).length, lines(offer).length, 'same number of lines')
          },
        },
        {
          name: 'every audio section of an SFU offer (one per participant), the last one too',
          run() {
            const sfuOffer = `${OFFER}m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:2\r\na=rtpmap:111 opus/48000/2\r\n`
            const sections = ptimesBySection(withAudioPacketTime(sfuOffer))
            checkEqual(
              sections.get('m=audio 9 UDP/TLS/RTP/SAVPF 111 63')?.join(),
              `a=ptime:${CALL_AUDIO_PACKET_MS}`,
              'first',
            )
            checkEqual(
              sections.get('m=audio 9 UDP/TLS/RTP/SAVPF 111')?.join(),
              `a=ptime:${CALL_AUDIO_PACKET_MS}`,
              'last',
            )
            check(withAudioPacketTime(sfuOffer).endsWith('a=ptime:40\r\n'), 'the final CRLF stays last')
          },
        },
        {
          name: 'LF line ends stay LF; a description without audio is returned unchanged',
          run() {
            const lf = OFFER.replaceAll('\r\n', '\n')
            const out = withAudioPacketTime(lf, 20)
            check(!out.includes('\r'), 'no CR added')
            checkEqual(out.split('\n').filter((l) => l === 'a=ptime:20').length, 1, 'one ptime')
            const videoOnly = OFFER.slice(0, OFFER.indexOf('m=audio'))
            checkEqual(withAudioPacketTime(videoOnly), videoOnly, 'no audio section')
          },
        },
        {
          name: 'a duration Opus cannot encode is refused with usage',
          async run() {
            for (const ms of [0, 30, 120, 2.5, Number.NaN]) {
              await checkRejects(
                () => withAudioPacketTime(OFFER, ms),
                (e) => CallsError.is(e, 'usage'),
                `${ms} ms`,
              )
            }
          },
        },
      ],
    },
  ]
}
