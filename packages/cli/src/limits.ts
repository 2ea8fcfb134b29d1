/**
 * Every size and count the CLI accepts from a user or a server has a maximum here. Larger input is
 * a `usage` error (`CliError`) before anything is sent.
 */
/** Passphrases are hashed with Argon2id; anything longer is almost surely a mistake (a file pasted). */
export const MAX_PASSPHRASE_BYTES = 1024
/** The shortest prefix of a conversation id that names it (a shorter one is ambiguous too often). */
export const MIN_ID_PREFIX = 6
/** Arguments after the command name (handles of a new group, words of a message). */
export const MAX_POSITIONALS = 1000
/** Text of one message in UTF-8 bytes; the protocol's own limit (MAX_TEXT_BYTES) is the same. */
export const MAX_MESSAGE_TEXT_BYTES = 64 * 1024
/** Members named on one `group create` or `group add`. */
export const MAX_MEMBERS_PER_COMMAND = 1000
/** A conversation name, in UTF-8 bytes; the protocol's MAX_CONVERSATION_NAME_BYTES. */
export const MAX_CONVERSATION_NAME_BYTES = 256
/** Messages `read` prints by default and at most. */
export const DEFAULT_READ_LIMIT = 50
export const MAX_READ_LIMIT = 10_000
/** One line typed into `chat`, in UTF-8 bytes (a message, or a slash command). */
export const MAX_CHAT_LINE_BYTES = MAX_MESSAGE_TEXT_BYTES
/** Seconds `read --follow --timeout` and `chat --timeout` may run; 0 means until interrupted. */
export const MAX_TIMEOUT_SECONDS = 7 * 24 * 3600
/** A server URL. */
export const MAX_URL_CHARS = 2048
/** A profile folder path. */
export const MAX_PATH_CHARS = 4096
/** Lines of typing indicator state we keep: one per member typing at once. */
export const MAX_TYPING_MEMBERS = 64
