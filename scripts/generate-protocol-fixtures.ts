/**
 * Writes packages/protocol/test/fixtures/snapshot-v1.json: for each Tacit suite, a member's group
 * snapshot in the current snapshot format, a message encrypted to it afterwards, and what the
 * message must decrypt to. `snapshot-fixtures.test.ts` restores every fixture ever committed, so
 * a change that breaks old stored state fails the suite. Run once per new snapshot version:
 *   node --import tsx scripts/generate-protocol-fixtures.ts
 * and commit the new file beside the old ones (never regenerate an existing version's file).
 */
import { writeFileSync } from 'node:fs'
import { bytesToHex } from '@tacit/crypto/bytes'
import { nodeBackend } from '@tacit/crypto/node/backend'
import { TACIT_SUITES } from '../packages/protocol/src/cipher-suite.ts'
import { encryptMessage, epochAuthenticator } from '../packages/protocol/src/group.ts'
import { snapshotGroup } from '../packages/protocol/src/snapshot.ts'
import { Conversation } from '../packages/protocol/test/cases/conversation.ts'
import { createWorld } from '../packages/protocol/test/cases/world.ts'

const out: Record<string, unknown> = {}
for (const suite of TACIT_SUITES) {
  const world = await createWorld(nodeBackend, suite)
  const convo = await Conversation.start(await world.device('alice'))
  await convo.add(convo.member('alice'), [await world.device('bob')])
  await convo.everyoneTalks('history')
  const alice = convo.member('alice')
  const bob = convo.member('bob')
  const plaintext = new TextEncoder().encode(`stored state must keep loading (${suite})`)
  const sent = await encryptMessage(alice.group, alice.device.config, plaintext)
  out[suite] = {
    directory: Object.fromEntries([...world.directory].map(([h, k]) => [h, bytesToHex(k)])),
    snapshot: bytesToHex(snapshotGroup(bob.group, bob.device.config)),
    epochAuthenticator: bytesToHex(epochAuthenticator(bob.group)),
    message: bytesToHex(sent.message),
    plaintext: bytesToHex(plaintext),
    sender: 'alice',
  }
}
const path = new URL('../packages/protocol/test/fixtures/snapshot-v1.json', import.meta.url)
writeFileSync(
  path,
  `${JSON.stringify({ format: 'TGS1', createdWith: 'ts-mls 1.6.4', suites: out }, null, 1)}\n`,
)
console.log(`wrote ${path.pathname}`)
