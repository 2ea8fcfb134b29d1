/**
 * SFrame on every frame of a call (packages/calls): the transform worker protects each sender and
 * receiver, and its keys come from the MLS exporter of the conversation's current epoch
 * (RFC 9605 §5.2, Tacit's profile in packages/calls/src/call-keys.ts: the call id is the exporter
 * context, the MLS leaf index the sender id). `setKeys` runs again on every epoch change.
 */

import { exportCallEpochKeys, SFRAME_MLS_EXPORTER_LABEL } from '@tacit/calls/call-keys'
import { type CallMediaE2eeStats, createCallMediaE2ee, type MediaE2eeMode } from '@tacit/calls/media-e2ee'
import { sframeSuite, TACIT_SFRAME_SUITE } from '@tacit/calls/sframe'
import type { TacitClient } from '@tacit/client/client'
import type { MediaProtection } from './peer-session.ts'
import { callTestHooks, traceCall } from './test-hooks.ts'

export interface CallMediaProtection extends MediaProtection {
  readonly mode: MediaE2eeMode
  /** Keys of the conversation's current epoch, accepting frames from `remoteMemberId` only. */
  setKeys(client: TacitClient, conversationId: string, callId: string, remoteMemberId: string): Promise<void>
  stats(): Promise<CallMediaE2eeStats>
  close(): void
}

function callIdBytes(callId: string): Uint8Array {
  const out = new Uint8Array(callId.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(callId.slice(2 * i, 2 * i + 2), 16)
  return out
}

export async function createMediaProtection(): Promise<CallMediaProtection> {
  const e2ee = createCallMediaE2ee()
  const keyBytes = sframeSuite(TACIT_SFRAME_SUITE).nk
  // One random send context per call (packages/calls/src/call-keys.ts): drawn on the first keys.
  let sendContext: number | undefined
  const protection: CallMediaProtection = {
    mode: e2ee.mode,
    protectSender: (sender, kind) => e2ee.protectSender(sender, kind),
    protectReceiver: (receiver, kind) => e2ee.protectReceiver(receiver, kind),
    async setKeys(client, conversationId, callId, remoteMemberId) {
      const context = callIdBytes(callId)
      const material = await client.calls.keyMaterial(
        conversationId,
        SFRAME_MLS_EXPORTER_LABEL,
        context,
        keyBytes,
      )
      const remote = material.members.find((m) => m.memberId === remoteMemberId)
      if (!remote) throw new Error('the other device is not in the conversation')
      let secret = material.secret
      if (callTestHooks()?.wrongMediaKey) {
        secret = secret.slice()
        secret[0]! ^= 0xff
      }
      const keys = await exportCallEpochKeys({
        exporter: async (label, ctx, length) => {
          if (label !== SFRAME_MLS_EXPORTER_LABEL || length !== keyBytes || ctx.length !== context.length) {
            throw new Error('unexpected exporter request')
          }
          return secret
        },
        callId: context,
        epoch: material.epoch,
        ownLeafIndex: material.ownLeafIndex,
        memberLeafIndices: [remote.leafIndex],
        ...(sendContext !== undefined ? { sendContext } : {}),
      })
      sendContext = keys.sendContext
      await e2ee.setKeys(keys)
      traceCall(`keys epoch ${material.epoch} leaf ${material.ownLeafIndex} peer ${remote.leafIndex}`)
    },
    stats: () => e2ee.stats(),
    close: () => e2ee.close(),
  }
  const hooks = callTestHooks()
  if (hooks) hooks.mediaStats = () => e2ee.stats()
  return protection
}
