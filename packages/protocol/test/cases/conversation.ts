/**
 * A driver for multi-member conversations in tests: members hold their current Group; commits go
 * through `deliverCommit`, which applies the committer's new state (as the server accepted it)
 * and lets every other member process it, checking that all agree afterwards.
 */
import { checkBytes, checkEqual, checkRejects } from '../../../../tests/harness/cases.ts'
import { ProtocolError } from '../../src/errors.ts'
import {
  createCommit,
  createGroup,
  encryptMessage,
  epochAuthenticator,
  epochOf,
  type Group,
  joinGroup,
  membersOf,
  processMessage,
} from '../../src/group.ts'
import type { GeneratedKeyPackage } from '../../src/key-package.ts'
import type { TestDevice } from './world.ts'

export interface Member {
  readonly device: TestDevice
  group: Group
}

export class Conversation {
  readonly members: Member[] = []

  static async start(creator: TestDevice): Promise<Conversation> {
    const kp = await creator.keyPackage()
    const group = await createGroup({
      config: creator.config,
      keyPackage: kp.keyPackage,
      privateKeyPackage: kp.privateKeyPackage,
    })
    const c = new Conversation()
    c.members.push({ device: creator, group })
    return c
  }

  member(handle: string, deviceId?: string): Member {
    const m = this.members.find(
      (x) => x.device.handle === handle && (deviceId === undefined || x.device.deviceId === deviceId),
    )
    if (!m) throw new Error(`no member ${handle}`)
    return m
  }

  leafOf(target: Member): number {
    const info = membersOf(this.members[0]!.group).find((m) => m.deviceId === target.device.deviceId)
    if (!info) throw new Error('not in tree')
    return info.leafIndex
  }

  /** `committer` adds `devices` (each with a fresh KeyPackage); everyone processes; joiners join. */
  async add(committer: Member, devices: readonly TestDevice[]): Promise<void> {
    const kps: GeneratedKeyPackage[] = []
    for (const d of devices) kps.push(await d.keyPackage())
    const result = await createCommit(committer.group, committer.device.config, {
      add: kps.map((k) => k.encoded),
    })
    await this.deliverCommit(committer, result.group, result.commit)
    for (let i = 0; i < devices.length; i++) {
      const device = devices[i]!
      const kp = kps[i]!
      const group = await joinGroup({
        config: device.config,
        welcome: result.welcome!,
        keyPackage: kp.keyPackage,
        privateKeyPackage: kp.privateKeyPackage,
      })
      this.members.push({ device, group })
    }
    this.checkAgreement()
  }

  async remove(committer: Member, targets: readonly Member[]): Promise<void> {
    const leaves = targets.map((t) => this.leafOf(t))
    const result = await createCommit(committer.group, committer.device.config, { remove: leaves })
    await this.deliverCommit(committer, result.group, result.commit, targets)
    for (const t of targets) this.members.splice(this.members.indexOf(t), 1)
    this.checkAgreement()
  }

  async update(committer: Member): Promise<void> {
    const result = await createCommit(committer.group, committer.device.config, {})
    await this.deliverCommit(committer, result.group, result.commit)
    this.checkAgreement()
  }

  async deliverCommit(
    committer: Member,
    next: Group,
    commit: Uint8Array,
    removed: readonly Member[] = [],
  ): Promise<void> {
    for (const m of this.members) {
      if (m === committer) continue
      const r = await processMessage(m.group, m.device.config, commit)
      if (r.kind !== 'commit') throw new Error('expected a commit')
      checkEqual(r.removedSelf, removed.includes(m), 'removedSelf')
      m.group = r.group
    }
    committer.group = next
  }

  /** Every member sends one message; every other member decrypts it exactly once. */
  async everyoneTalks(label: string): Promise<number> {
    let delivered = 0
    for (const sender of this.members) {
      const text = new TextEncoder().encode(`${label} from ${sender.device.handle}/${sender.device.deviceId}`)
      const sent = await encryptMessage(sender.group, sender.device.config, text)
      sender.group = sent.group
      for (const r of this.members) {
        if (r === sender) continue
        const got = await processMessage(r.group, r.device.config, sent.message)
        if (got.kind !== 'application') throw new Error('expected an application message')
        checkBytes(got.plaintext, text, 'plaintext')
        checkEqual(got.sender.deviceId, sender.device.deviceId, 'sender device')
        r.group = got.group
        delivered++
        // Exactly once: a second delivery of the same message is a replay.
        await checkRejects(
          () => processMessage(r.group, r.device.config, sent.message),
          (e) => ProtocolError.is(e, 'replay'),
          'second delivery',
        )
      }
    }
    return delivered
  }

  checkAgreement(): void {
    const first = this.members[0]!.group
    for (const m of this.members) {
      checkEqual(epochOf(m.group), epochOf(first), 'epoch')
      checkBytes(epochAuthenticator(m.group), epochAuthenticator(first), 'epoch authenticator')
      checkEqual(membersOf(m.group).length, this.members.length, 'member count')
    }
  }
}
