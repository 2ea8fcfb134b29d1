/**
 * Every bound of the SFU (docs/protocol/sfu.md §Limits). A client or a room that would exceed one
 * is refused with a stable error code; nothing grows without a limit.
 */

/** Participants in one room (issue #6: group calls of up to 8 people). */
export const MAX_PARTICIPANTS = 8
/** Rooms one SFU keeps at once. */
export const MAX_ROOMS = 64
/** SFU sessions (WebSockets) one device may hold at once. */
export const MAX_SESSIONS_PER_DEVICE = 4
/** Published tracks per participant: one audio and one video. */
export const MAX_PUBLISHED_TRACKS = 2
/**
 * m-lines in one participant's peer connection: its 2 publishing ones plus 2 per other participant;
 * a departed participant's m-lines are reused for the next one, so this holds with churn.
 */
export const MAX_TRANSCEIVERS = MAX_PUBLISHED_TRACKS * MAX_PARTICIPANTS
/** Largest signalling message (a 16-m-line SDP is about 15 KiB). */
export const MAX_MESSAGE_BYTES = 64 * 1024
/** Largest SDP inside a message. */
export const MAX_SDP_CHARS = 60_000
/** Largest ICE candidate line. */
export const MAX_CANDIDATE_CHARS = 1024
/** Trickled candidates one participant may send (per negotiation round trip and in total). */
export const MAX_CANDIDATES = 64
/** Signalling messages one session may send per second (burst = 4 seconds' worth). */
export const MAX_MESSAGES_PER_SECOND = 20
/** Room id: 16 random bytes, base64url without padding. */
export const ROOM_ID_BYTES = 16
export const ROOM_ID_CHARS = 22
/** A session must authenticate within this time. */
export const AUTH_TIMEOUT_MS = 10_000
/** A participant must answer an offer within this time, or it is dropped. */
export const ANSWER_TIMEOUT_MS = 20_000
/** A participant whose media connection is not up this long after its first answer is dropped. */
export const CONNECT_TIMEOUT_MS = 30_000
/**
 * A participant from whose client no RTP or RTCP packet arrived for this long is dropped (a
 * crashed or cut-off browser; RFC 3550 §6.3.5 times a silent member out after five report
 * intervals, and browsers report about every second while in a call).
 */
export const MEDIA_IDLE_TIMEOUT_MS = 20_000
/** How often rooms are checked for idle participants. */
export const IDLE_CHECK_INTERVAL_MS = 5_000
/** Key-frame requests forwarded to one publisher at most this often. */
export const MIN_KEY_FRAME_REQUEST_INTERVAL_MS = 300
