/**
 * Proposals and commits are applied only through an explicit policy (DESIGN.md §3): the library is
 * never handed an accept-everything callback. A policy sees who commits and what each proposal
 * does, with identities decoded from the group's ratchet tree, and answers accept or reject.
 */

export interface MemberIdentity {
  readonly handle: string
  readonly deviceId: string
  readonly identityKey: Uint8Array
}

export interface MemberInfo extends MemberIdentity {
  /** RFC 9420 §4.1 leaf index of the device in the ratchet tree. */
  readonly leafIndex: number
}

export type PolicyProposal =
  | { readonly type: 'add'; readonly proposer: MemberInfo | null; readonly member: MemberIdentity }
  | { readonly type: 'remove'; readonly proposer: MemberInfo | null; readonly member: MemberInfo }
  | { readonly type: 'update'; readonly proposer: MemberInfo | null }
  /** PSK, ReInit, ExternalInit, GroupContextExtensions and custom proposals, by RFC 9420 name. */
  | { readonly type: 'other'; readonly proposer: MemberInfo | null; readonly proposalType: string }

export type PolicyEvent =
  | {
      readonly kind: 'commit'
      /** Null for an external commit (the joiner has no leaf yet). */
      readonly committer: MemberInfo | null
      readonly proposals: readonly PolicyProposal[]
    }
  | { readonly kind: 'proposal'; readonly proposal: PolicyProposal }

export type PolicyDecision = 'accept' | 'reject'

/** Must be synchronous and pure: the library calls it in the middle of a transition. */
export type Policy = (event: PolicyEvent) => PolicyDecision

/**
 * Tacit's standard conversation policy:
 * - any member may add devices and update its own leaf;
 * - a device may be removed by an admin (by handle), or by any device of the same user (a user
 *   removes their own devices), or when the committer removes itself — never by an outsider;
 * - every other proposal type (PSK, ReInit, ExternalInit, GroupContextExtensions, custom) is
 *   rejected: Tacit does not use them, and accepting what we do not use only widens the surface.
 * Standalone proposals from members are rejected too: Tacit members commit directly.
 */
export function standardPolicy(options: { admins?: readonly string[] } = {}): Policy {
  const admins = new Set(options.admins ?? [])
  return (event) => {
    if (event.kind === 'proposal') return 'reject'
    const committer = event.committer
    if (committer === null) return 'reject'
    for (const p of event.proposals) {
      switch (p.type) {
        case 'add':
        case 'update':
          break
        case 'remove': {
          const ownDevice = p.member.handle === committer.handle
          if (!ownDevice && !admins.has(committer.handle)) return 'reject'
          break
        }
        case 'other':
          return 'reject'
      }
    }
    return 'accept'
  }
}
