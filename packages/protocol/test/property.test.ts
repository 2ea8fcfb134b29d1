/**
 * Property test (DESIGN.md §10): random sequences of adds, removes, self-updates and messages over
 * 2–20 members keep every member at the same epoch with the same epoch authenticator, and every
 * message is decrypted exactly once by every other member.
 */

import { test } from 'node:test'
import { nodeBackend } from '@tacit/crypto/node/backend'
import fc from 'fast-check'
import { DEFAULT_SUITE } from '../src/cipher-suite.ts'
import { Conversation } from './cases/conversation.ts'
import { createWorld } from './cases/world.ts'

type Step =
  | { kind: 'add'; by: number; count: number }
  | { kind: 'remove'; by: number; who: number }
  | { kind: 'update'; by: number }
  | { kind: 'talk' }

const MAX_MEMBERS = 20
const MIN_MEMBERS = 2

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), by: fc.nat(), count: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ kind: fc.constant('remove' as const), by: fc.nat(), who: fc.nat() }),
  fc.record({ kind: fc.constant('update' as const), by: fc.nat() }),
  fc.record({ kind: fc.constant('talk' as const) }),
)

test(
  'random membership changes and messages keep all members in agreement',
  { timeout: 600_000 },
  async () => {
    let runs = 0
    let deliveries = 0
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 3, maxLength: 10 }), async (steps) => {
        runs++
        const world = await createWorld(nodeBackend, DEFAULT_SUITE)
        let serial = 0
        // alice is an admin in the standard policy; she may remove anyone.
        const convo = await Conversation.start(await world.device('alice'))
        await convo.add(convo.members[0]!, [await world.device(`u${serial++}`)])
        for (const s of steps) {
          const n = convo.members.length
          switch (s.kind) {
            case 'add': {
              const count = Math.min(s.count, MAX_MEMBERS - n)
              if (count === 0) break
              const devices = []
              for (let i = 0; i < count; i++) devices.push(await world.device(`u${serial++}`))
              await convo.add(convo.members[s.by % n]!, devices)
              break
            }
            case 'remove': {
              if (n <= MIN_MEMBERS) break
              const target = convo.members[1 + (s.who % (n - 1))]!
              await convo.remove(convo.members[0]!, [target])
              break
            }
            case 'update':
              await convo.update(convo.members[s.by % n]!)
              break
            case 'talk':
              deliveries += await convo.everyoneTalks('p')
              break
          }
        }
        deliveries += await convo.everyoneTalks('final')
        convo.checkAgreement()
      }),
      { numRuns: 12, seed: Number(process.env.TACIT_FC_SEED ?? 20261126), endOnFailure: true },
    )
    console.log(`property: ${runs} random sequences, ${deliveries} messages each decrypted exactly once`)
  },
)
