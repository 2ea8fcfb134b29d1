// RFC 9420 conformance, wire formats and joining: messages (codec round trips) and welcome.
import { registerVectorFile } from './harness.ts'
import { runMessages } from './runners/messages.ts'

registerVectorFile('messages', { crypto: false }, runMessages)

import { runWelcome } from './runners/welcome.ts'

registerVectorFile('welcome', { crypto: true }, runWelcome)
