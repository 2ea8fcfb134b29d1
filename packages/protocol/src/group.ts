/**
 * Conversations as MLS groups (RFC 9420), as pure transitions: every function takes a `Group`
 * value and returns a new one; nothing is stored, sent or logged here. The caller persists the
 * new state before it releases plaintext or sends anything (DESIGN.md §7), keeps the old state
 * until the delivery service accepts a commit (§5 ordering), and erases `consumed` secrets once
 * the new state is durable.
 *
 * What this module adds to ts-mls:
 * - our crypto provider only (`cipher-suite.ts`), our authentication service, an explicit policy;
 * - RFC 9420 §12.4 path rules enforced on incoming commits (`commit-rules.ts`);
 * - the sender's identity on every application message;
 * - typed errors with stable codes, and size limits on every input.
 */
import {
  type ClientState,
  decodeMlsMessage,
  emptyPskIndex,
  encodeMlsMessage,
  type KeyPackage,
  createCommit as mlsCreateCommit,
  createGroup as mlsCreateGroup,
  mlsExporter,
  joinGroup as mlsJoinGroup,
  processMessage as mlsProcessMessage,
  type PrivateKeyPackage,
} from 'ts-mls'
import type { ClientConfig } from 'ts-mls/clientConfig.js'
import type { Commit } from 'ts-mls/commit.js'
import type { IncomingMessageCallback } from 'ts-mls/incomingMessageAction.js'
import { defaultKeyPackageEqualityConfig } from 'ts-mls/keyPackageEqualityConfig.js'
import type { LeafNode } from 'ts-mls/leafNode.js'
import type { MLSMessage } from 'ts-mls/message.js'
import { unprotectPrivateMessage } from 'ts-mls/messageProtection.js'
import { defaultPaddingConfig } from 'ts-mls/paddingConfig.js'
import type { PrivateMessage } from 'ts-mls/privateMessage.js'
import type { Proposal } from 'ts-mls/proposal.js'
import type { ProposalWithSender } from 'ts-mls/unappliedProposals.js'
import type { MlsAuthenticationService, MlsCredentialLike } from './authentication.ts'
import type { CipherSuite } from './cipher-suite.ts'
import { commitRequiresPath, libraryAddsPath } from './commit-rules.ts'
import { decodeCredential } from './credential.ts'
import { ProtocolError } from './errors.ts'
import { decodeKeyPackage, KEY_PACKAGE_LIFETIME_SECONDS } from './key-package.ts'
import {
  MAX_APPLICATION_MESSAGE_BYTES,
  MAX_EXPORTER_LENGTH,
  MAX_FORWARD_RATCHET_STEPS,
  MAX_GROUP_MEMBERS,
  MAX_HANDSHAKE_MESSAGE_BYTES,
  MAX_PLAINTEXT_BYTES,
  MAX_PROPOSALS_PER_COMMIT,
  OUT_OF_ORDER_GENERATIONS_RETAINED,
  PAST_EPOCHS_RETAINED,
} from './limits.ts'
import { toProtocolError } from './mls-errors.ts'
import type { MemberIdentity, MemberInfo, Policy, PolicyEvent, PolicyProposal } from './policy.ts'
import {
  openApplicationMessageInOrder,
  parseApplicationMessage,
  sealApplicationMessage,
} from './private-message.ts'

/** What every transition needs besides the group: the suite, who is trusted, what is allowed. */
export interface GroupConfig {
  readonly suite: CipherSuite
  readonly auth: MlsAuthenticationService
  readonly policy: Policy
}

/** One device's view of one conversation. Treat as opaque; persist with `snapshot.ts`. */
export interface Group {
  readonly state: ClientState
}

export type ProcessResult =
  | {
      readonly kind: 'application'
      readonly group: Group
      readonly plaintext: Uint8Array
      readonly authenticatedData: Uint8Array
      readonly sender: MemberInfo
      readonly epoch: bigint
      readonly consumed: readonly Uint8Array[]
    }
  | {
      readonly kind: 'commit'
      readonly group: Group
      readonly committer: MemberInfo | null
      readonly added: readonly MemberIdentity[]
      readonly removed: readonly MemberInfo[]
      /** We were removed: the group can no longer send or decrypt anything newer. */
      readonly removedSelf: boolean
      /** The epoch the group is in now. */
      readonly epoch: bigint
      readonly consumed: readonly Uint8Array[]
    }

export interface CommitResult {
  /** The state to adopt once the delivery service accepts `commit` for `epoch`. */
  readonly group: Group
  readonly commit: Uint8Array
  /** For added devices; null when nobody was added. */
  readonly welcome: Uint8Array | null
  /** The epoch the commit was made in (the server orders commits by it). */
  readonly epoch: bigint
  readonly consumed: readonly Uint8Array[]
}

export function clientConfigFor(auth: MlsAuthenticationService): ClientConfig {
  return {
    keyRetentionConfig: {
      retainKeysForEpochs: PAST_EPOCHS_RETAINED,
      retainKeysForGenerations: OUT_OF_ORDER_GENERATIONS_RETAINED,
      maximumForwardRatchetSteps: MAX_FORWARD_RATCHET_STEPS,
    },
    lifetimeConfig: {
      // RFC 9420 §10.1: reject KeyPackages whose lifetime is longer than we ever issue.
      maximumTotalLifetime: BigInt(KEY_PACKAGE_LIFETIME_SECONDS + 2 * 3600),
      validateLifetimeOnReceive: true,
    },
    keyPackageEqualityConfig: defaultKeyPackageEqualityConfig,
    paddingConfig: defaultPaddingConfig,
    authService: auth as ClientConfig['authService'],
  }
}

function wrap(state: ClientState): Group {
  return Object.freeze({ state })
}

// ---------------------------------------------------------------------------------------------
// Reading a group

export function groupIdOf(group: Group): Uint8Array {
  return group.state.groupContext.groupId
}

export function epochOf(group: Group): bigint {
  return group.state.groupContext.epoch
}

export function ownLeafIndex(group: Group): number {
  return group.state.privatePath.leafIndex
}

export function isActive(group: Group): boolean {
  return group.state.groupActiveState.kind === 'active'
}

/** RFC 9420 §8.7: equal at every member of the same epoch; shown for verification. */
export function epochAuthenticator(group: Group): Uint8Array {
  return group.state.keySchedule.epochAuthenticator
}

/**
 * Decoded identities by leaf node object: the ratchet tree's leaves are shared, unchanged, by
 * every state of an epoch, and each application message names its sender.
 */
const leafIdentities = new WeakMap<
  LeafNode,
  { readonly credential: Uint8Array; readonly id: MemberIdentity }
>()

function identityOfLeaf(leaf: LeafNode): MemberIdentity {
  if (leaf.credential.credentialType !== 'basic') {
    throw new ProtocolError('internal', 'a leaf with a non-basic credential passed authentication')
  }
  const credential = leaf.credential.identity
  let known = leafIdentities.get(leaf)
  if (known === undefined || known.credential !== credential) {
    const c = decodeCredential(credential)
    known = { credential, id: { handle: c.handle, deviceId: c.deviceId, identityKey: c.identityKey } }
    leafIdentities.set(leaf, known)
  }
  // A fresh key array each time: callers own what they receive.
  return { ...known.id, identityKey: known.id.identityKey.slice() }
}

function memberAt(state: ClientState, leafIndex: number): MemberInfo {
  const node = state.ratchetTree[leafIndex * 2]
  if (node?.nodeType !== 'leaf') throw new ProtocolError('invalid-commit', `no member at leaf ${leafIndex}`)
  return { ...identityOfLeaf(node.leaf), leafIndex }
}

export function membersOf(group: Group): MemberInfo[] {
  const out: MemberInfo[] = []
  const tree = group.state.ratchetTree
  for (let i = 0; i < tree.length; i += 2) {
    const node = tree[i]
    if (node?.nodeType === 'leaf') out.push({ ...identityOfLeaf(node.leaf), leafIndex: i / 2 })
  }
  return out
}

/** RFC 9420 §8.5 MLS-Exporter(label, context, length): keys for files and calls. */
export async function exportSecret(
  group: Group,
  config: GroupConfig,
  label: string,
  context: Uint8Array,
  length: number,
): Promise<Uint8Array> {
  if (!Number.isInteger(length) || length < 1 || length > MAX_EXPORTER_LENGTH) {
    throw new ProtocolError('usage', `exporter length must be 1..${MAX_EXPORTER_LENGTH}`)
  }
  return mlsExporter(group.state.keySchedule.exporterSecret, label, context, length, config.suite.impl)
}

// ---------------------------------------------------------------------------------------------
// Creating and joining

export async function createGroup(params: {
  config: GroupConfig
  keyPackage: KeyPackage
  privateKeyPackage: PrivateKeyPackage
  /** Random and opaque to the server; 32 fresh bytes when omitted. */
  groupId?: Uint8Array
}): Promise<Group> {
  const { config, keyPackage, privateKeyPackage } = params
  const groupId = params.groupId ?? config.suite.backend.randomBytes(32)
  try {
    const state = await mlsCreateGroup(
      groupId,
      keyPackage,
      privateKeyPackage,
      [],
      config.suite.impl,
      clientConfigFor(config.auth),
    )
    return wrap(state)
  } catch (error) {
    throw toProtocolError(error, 'could not create the group')
  }
}

function decodeMessage(bytes: Uint8Array, max: number, what: string): MLSMessage {
  if (!(bytes instanceof Uint8Array)) throw new ProtocolError('usage', `${what} must be bytes`)
  if (bytes.length > max) throw new ProtocolError('too-large', `${what} above its size limit`)
  let decoded: ReturnType<typeof decodeMlsMessage>
  try {
    decoded = decodeMlsMessage(bytes, 0)
  } catch (cause) {
    throw new ProtocolError('malformed', `${what} does not decode`, { cause })
  }
  if (!decoded || decoded[1] !== bytes.length) throw new ProtocolError('malformed', `${what} does not decode`)
  return decoded[0]
}

/** Joins from a Welcome (RFC 9420 §12.4.3.1) with the KeyPackage it was addressed to. */
export async function joinGroup(params: {
  config: GroupConfig
  welcome: Uint8Array
  keyPackage: KeyPackage
  privateKeyPackage: PrivateKeyPackage
}): Promise<Group> {
  const { config } = params
  const message = decodeMessage(params.welcome, MAX_HANDSHAKE_MESSAGE_BYTES, 'Welcome')
  if (message.wireformat !== 'mls_welcome') throw new ProtocolError('unexpected-message', 'not a Welcome')
  if (message.welcome.cipherSuite !== config.suite.name) {
    throw new ProtocolError('unsupported-suite', 'Welcome is for another cipher suite')
  }
  try {
    const state = await mlsJoinGroup(
      message.welcome,
      params.keyPackage,
      params.privateKeyPackage,
      emptyPskIndex,
      config.suite.impl,
      undefined,
      undefined,
      clientConfigFor(config.auth),
    )
    if (membersOf(wrap(state)).length > MAX_GROUP_MEMBERS) {
      throw new ProtocolError('too-large', `group above ${MAX_GROUP_MEMBERS} members`)
    }
    return wrap(state)
  } catch (error) {
    throw toProtocolError(error, 'could not join from the Welcome')
  }
}

// ---------------------------------------------------------------------------------------------
// Committing

function describeProposal(state: ClientState, p: ProposalWithSender): PolicyProposal {
  const proposer = p.senderLeafIndex === undefined ? null : memberAt(state, p.senderLeafIndex)
  const proposal: Proposal = p.proposal
  switch (proposal.proposalType) {
    case 'add':
      return { type: 'add', proposer, member: identityOfLeaf(proposal.add.keyPackage.leafNode) }
    case 'remove':
      return { type: 'remove', proposer, member: memberAt(state, proposal.remove.removed) }
    case 'update':
      return { type: 'update', proposer }
    default:
      return { type: 'other', proposer, proposalType: String(proposal.proposalType) }
  }
}

/**
 * Commits adds and removes (or, with neither, a self-update for post-compromise security: an
 * empty commit carries a fresh UpdatePath, RFC 9420 §12.4). The new state takes effect only when
 * the caller adopts `result.group`, after the server accepted the commit for `result.epoch`.
 */
export async function createCommit(
  group: Group,
  config: GroupConfig,
  changes: { add?: readonly Uint8Array[]; remove?: readonly number[] } = {},
): Promise<CommitResult> {
  const state = group.state
  if (!isActive(group)) throw new ProtocolError('not-member', 'this device is no longer in the group')
  const adds = changes.add ?? []
  const removes = changes.remove ?? []
  if (adds.length + removes.length > MAX_PROPOSALS_PER_COMMIT) {
    throw new ProtocolError('too-large', `more than ${MAX_PROPOSALS_PER_COMMIT} changes in one commit`)
  }
  const self = ownLeafIndex(group)
  const current = membersOf(group)
  if (current.length + adds.length > MAX_GROUP_MEMBERS) {
    throw new ProtocolError('too-large', `group above ${MAX_GROUP_MEMBERS} members`)
  }
  const proposals: Proposal[] = []
  const policyProposals: PolicyProposal[] = []
  const committer = memberAt(state, self)
  for (const bytes of adds) {
    const keyPackage = await decodeKeyPackage(config.suite, bytes)
    const leaf = keyPackage.leafNode
    if (
      !(await config.auth.validateCredential(leaf.credential as MlsCredentialLike, leaf.signaturePublicKey))
    ) {
      throw new ProtocolError('credential-rejected', 'a KeyPackage credential was rejected')
    }
    proposals.push({ proposalType: 'add', add: { keyPackage } })
    policyProposals.push({ type: 'add', proposer: committer, member: identityOfLeaf(keyPackage.leafNode) })
  }
  const seen = new Set<number>()
  for (const leafIndex of removes) {
    if (leafIndex === self) throw new ProtocolError('usage', 'a device cannot commit its own removal')
    if (seen.has(leafIndex)) throw new ProtocolError('usage', 'the same device is removed twice')
    seen.add(leafIndex)
    const member = current.find((m) => m.leafIndex === leafIndex)
    if (!member) throw new ProtocolError('usage', `no member at leaf ${leafIndex}`)
    proposals.push({ proposalType: 'remove', remove: { removed: leafIndex } })
    policyProposals.push({ type: 'remove', proposer: committer, member })
  }
  const types = proposals.map((p) => String(p.proposalType))
  if (commitRequiresPath(types) && !libraryAddsPath(types)) {
    throw new ProtocolError(
      'usage',
      'the library would build this commit without the path RFC 9420 §12.4 requires',
    )
  }
  if (config.policy({ kind: 'commit', committer, proposals: policyProposals }) !== 'accept') {
    throw new ProtocolError('policy-rejected', 'the policy does not allow this commit')
  }
  try {
    const result = await mlsCreateCommit(
      { state, cipherSuite: config.suite.impl, pskIndex: emptyPskIndex },
      { extraProposals: proposals, ratchetTreeExtension: true, wireAsPublicMessage: false },
    )
    const welcome = result.welcome
      ? encodeMlsMessage({ version: 'mls10', wireformat: 'mls_welcome', welcome: result.welcome })
      : null
    return {
      group: wrap(result.newState),
      commit: encodeMlsMessage(result.commit),
      welcome,
      epoch: state.groupContext.epoch,
      consumed: result.consumed,
    }
  } catch (error) {
    throw toProtocolError(error, 'could not create the commit')
  }
}

// ---------------------------------------------------------------------------------------------
// Application messages

export async function encryptMessage(
  group: Group,
  config: GroupConfig,
  plaintext: Uint8Array,
  authenticatedData: Uint8Array = new Uint8Array(0),
): Promise<{ group: Group; message: Uint8Array; consumed: readonly Uint8Array[] }> {
  if (!isActive(group)) throw new ProtocolError('not-member', 'this device is no longer in the group')
  if (plaintext.length > MAX_PLAINTEXT_BYTES)
    throw new ProtocolError('too-large', 'plaintext above its size limit')
  if (authenticatedData.length > 1024) throw new ProtocolError('too-large', 'authenticated data above 1 KiB')
  try {
    // RFC 9420 §6.3 over the library's state (private-message.ts); byte-for-byte what
    // createApplicationMessage + encodeMlsMessage produce for the same reuse guard.
    const sealed = await sealApplicationMessage(group.state, config.suite.impl, plaintext, authenticatedData)
    return { group: wrap(sealed.state), message: sealed.message, consumed: sealed.consumed }
  } catch (error) {
    throw toProtocolError(error, 'could not encrypt the message')
  }
}

async function openApplicationMessage(
  group: Group,
  config: GroupConfig,
  pm: PrivateMessage,
): Promise<ProcessResult & { kind: 'application' }> {
  const state = group.state
  const cs = config.suite.impl
  const retention = state.clientConfig.keyRetentionConfig
  const current = state.groupContext.epoch
  try {
    if (pm.epoch === current) {
      const r = await unprotectPrivateMessage(
        state.keySchedule.senderDataSecret,
        pm,
        state.secretTree,
        state.ratchetTree,
        state.groupContext,
        retention,
        cs,
      )
      if (
        r.content.content.contentType !== 'application' ||
        r.content.content.sender.senderType !== 'member'
      ) {
        throw new ProtocolError('unexpected-message', 'not an application message from a member')
      }
      const sender = memberAt(state, r.content.content.sender.leafIndex)
      return {
        kind: 'application',
        group: wrap({ ...state, secretTree: r.tree }),
        plaintext: r.content.content.applicationData,
        authenticatedData: pm.authenticatedData,
        sender,
        epoch: pm.epoch,
        consumed: r.consumed,
      }
    }
    // RFC 9420 §15.2 allows keeping a past epoch's secrets for late application messages.
    const past = pm.epoch < current ? state.historicalReceiverData.get(pm.epoch) : undefined
    if (!past) throw new ProtocolError('wrong-epoch', 'no keys are kept for the message epoch')
    const r = await unprotectPrivateMessage(
      past.senderDataSecret,
      pm,
      past.secretTree,
      past.ratchetTree,
      past.groupContext,
      retention,
      cs,
    )
    if (r.content.content.contentType !== 'application' || r.content.content.sender.senderType !== 'member') {
      throw new ProtocolError('unexpected-message', 'not an application message from a member')
    }
    const leaf = past.ratchetTree[r.content.content.sender.leafIndex * 2]
    if (leaf?.nodeType !== 'leaf') throw new ProtocolError('invalid-commit', 'sender leaf is blank')
    const sender = { ...identityOfLeaf(leaf.leaf), leafIndex: r.content.content.sender.leafIndex }
    const historical = new Map(state.historicalReceiverData)
    historical.set(pm.epoch, { ...past, secretTree: r.tree })
    return {
      kind: 'application',
      group: wrap({ ...state, historicalReceiverData: historical }),
      plaintext: r.content.content.applicationData,
      authenticatedData: pm.authenticatedData,
      sender,
      epoch: pm.epoch,
      consumed: r.consumed,
    }
  } catch (error) {
    throw toProtocolError(error, 'could not decrypt the message')
  }
}

// ---------------------------------------------------------------------------------------------
// Processing incoming messages

/**
 * RFC 9420 §12.4 check for a commit in a PrivateMessage: decrypt it once from the unchanged
 * state (nothing is kept) to see whether it carries a path. Commits are rare, so the extra
 * decryption is cheap next to processing the path itself.
 */
/** The commit inside a private message, opened without applying it (nothing of `state` changes). */
async function openPrivateCommit(state: ClientState, cs: CipherSuite, pm: PrivateMessage): Promise<Commit> {
  const r = await unprotectPrivateMessage(
    state.keySchedule.senderDataSecret,
    pm,
    state.secretTree,
    state.ratchetTree,
    state.groupContext,
    state.clientConfig.keyRetentionConfig,
    cs.impl,
  )
  if (r.content.content.contentType !== 'commit')
    throw new ProtocolError('malformed', 'content type mismatch')
  return r.content.content.commit
}

/** The credentials of the members a commit adds by value (Tacit commits carry no references). */
function addedCredentials(commit: Commit): MlsCredentialLike[] {
  return commit.proposals.flatMap((p) =>
    p.proposalOrRefType === 'proposal' && p.proposal.proposalType === 'add'
      ? [p.proposal.add.keyPackage.leafNode.credential as MlsCredentialLike]
      : [],
  )
}

export async function processMessage(
  group: Group,
  config: GroupConfig,
  bytes: Uint8Array,
): Promise<ProcessResult> {
  const state = group.state
  if (!isActive(group)) throw new ProtocolError('not-member', 'this device is no longer in the group')
  // The common case first: an in-order application message of the current epoch, opened by
  // private-message.ts. Anything else, valid or not, takes the library's path below, which
  // decides and reports every rejection; the fast path never accepts what the library refuses.
  if (bytes instanceof Uint8Array && bytes.length <= MAX_APPLICATION_MESSAGE_BYTES) {
    const header = parseApplicationMessage(bytes)
    if (header !== undefined) {
      const opened = await openApplicationMessageInOrder(state, config.suite.impl, header)
      if (opened !== undefined) {
        return {
          kind: 'application',
          group: wrap(opened.state),
          plaintext: opened.applicationData,
          authenticatedData: header.authenticatedData,
          sender: memberAt(state, opened.senderLeafIndex),
          epoch: state.groupContext.epoch,
          consumed: opened.consumed,
        }
      }
    }
  }
  const message = decodeMessage(bytes, MAX_HANDSHAKE_MESSAGE_BYTES, 'message')
  if (message.wireformat !== 'mls_private_message' && message.wireformat !== 'mls_public_message') {
    throw new ProtocolError('unexpected-message', `a ${message.wireformat} is not a group message`)
  }
  const header =
    message.wireformat === 'mls_private_message'
      ? message.privateMessage
      : { groupId: message.publicMessage.content.groupId, epoch: message.publicMessage.content.epoch }
  if (!sameBytes(header.groupId, state.groupContext.groupId)) {
    throw new ProtocolError('wrong-group', 'the message belongs to another group')
  }

  if (message.wireformat === 'mls_private_message' && message.privateMessage.contentType === 'application') {
    if (bytes.length > MAX_APPLICATION_MESSAGE_BYTES)
      throw new ProtocolError('too-large', 'message above its size limit')
    return openApplicationMessage(group, config, message.privateMessage)
  }
  // Handshake messages (commits, proposals) are valid only in the current epoch (RFC 9420 §14).
  if (header.epoch !== state.groupContext.epoch) {
    throw new ProtocolError(
      'wrong-epoch',
      `handshake message for epoch ${header.epoch}, group is at ${state.groupContext.epoch}`,
    )
  }

  let commit: Commit | undefined
  try {
    if (message.wireformat === 'mls_private_message') {
      if (message.privateMessage.contentType === 'commit') {
        commit = await openPrivateCommit(state, config.suite, message.privateMessage)
      }
    } else {
      const content = message.publicMessage.content
      if (content.contentType === 'commit') commit = content.commit
    }
  } catch (error) {
    throw toProtocolError(error, 'could not open the commit')
  }
  const hasPath = commit === undefined ? undefined : commit.path !== undefined
  // The library validates each added member's credential in turn, each needing the handle's
  // identity key: let the authentication service look them all up at once first.
  if (commit !== undefined && config.auth.prepare !== undefined) {
    await config.auth.prepare(addedCredentials(commit))
  }

  let event: PolicyEvent | undefined
  let pathViolation = false
  const callback: IncomingMessageCallback = (incoming) => {
    if (incoming.kind === 'proposal') {
      event = { kind: 'proposal', proposal: describeProposal(state, incoming.proposal) }
    } else {
      const committer =
        incoming.senderLeafIndex === undefined ? null : memberAt(state, incoming.senderLeafIndex)
      const types = incoming.proposals.map((p) => String(p.proposal.proposalType))
      if (commitRequiresPath(types) && hasPath === false) {
        pathViolation = true
        return 'reject'
      }
      event = {
        kind: 'commit',
        committer,
        proposals: incoming.proposals.map((p) => describeProposal(state, p)),
      }
    }
    return config.policy(event)
  }

  let result: Awaited<ReturnType<typeof mlsProcessMessage>>
  try {
    result = await mlsProcessMessage(message, state, emptyPskIndex, callback, config.suite.impl)
  } catch (error) {
    throw toProtocolError(error, 'could not process the message')
  }
  if (pathViolation) {
    throw new ProtocolError('commit-path-required', 'RFC 9420 §12.4 requires an UpdatePath for this commit')
  }
  if (result.kind === 'applicationMessage') {
    throw new ProtocolError('internal', 'an application message reached the handshake path')
  }
  if (result.actionTaken !== 'accept')
    throw new ProtocolError('policy-rejected', 'the policy refused the message')
  if (event?.kind !== 'commit') {
    // An accepted standalone proposal is only queued; Tacit's standard policy never accepts one.
    throw new ProtocolError('unexpected-message', 'standalone proposals are not used by Tacit')
  }
  const next = wrap(result.newState)
  return {
    kind: 'commit',
    group: next,
    committer: event.committer,
    added: event.proposals.flatMap((p) => (p.type === 'add' ? [p.member] : [])),
    removed: event.proposals.flatMap((p) => (p.type === 'remove' ? [p.member] : [])),
    removedSelf: !isActive(next),
    epoch: epochOf(next),
    consumed: result.consumed,
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
