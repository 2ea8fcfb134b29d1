// RFC 9420 §6.2 (PublicMessage: signature and membership tag) and §6.3 (PrivateMessage: content
// and sender data encryption), for a proposal, a commit and application data sent by leaf 1 of 2.
import assert from 'node:assert/strict'
import type { ClientState } from 'ts-mls'
import type { AuthenticatedContent } from 'ts-mls/authenticatedContent.js'
import type { Commit } from 'ts-mls/commit.js'
import { decodeCommit, encodeCommit } from 'ts-mls/commit.js'
import type { CiphersuiteId, CiphersuiteImpl } from 'ts-mls/crypto/ciphersuite.js'
import { getCiphersuiteNameFromId } from 'ts-mls/crypto/ciphersuite.js'
import type { FramedContent } from 'ts-mls/framedContent.js'
import { createContentCommitSignature } from 'ts-mls/framedContent.js'
import type { GroupContext } from 'ts-mls/groupContext.js'
import { defaultKeyRetentionConfig } from 'ts-mls/keyRetentionConfig.js'
import type { LeafNode } from 'ts-mls/leafNode.js'
import { decodeMlsMessage } from 'ts-mls/message.js'
import {
  protect,
  protectApplicationData,
  protectProposal,
  unprotectPrivateMessage,
} from 'ts-mls/messageProtection.js'
import {
  protectProposalPublic,
  protectPublicMessage,
  unprotectPublicMessage,
} from 'ts-mls/messageProtectionPublic.js'
import type { PaddingConfig } from 'ts-mls/paddingConfig.js'
import type { PrivateMessage } from 'ts-mls/privateMessage.js'
import type { Proposal } from 'ts-mls/proposal.js'
import { decodeProposal, encodeProposal } from 'ts-mls/proposal.js'
import type { PublicMessage } from 'ts-mls/publicMessage.js'
import type { RatchetTree } from 'ts-mls/ratchetTree.js'
import { createSecretTree, type SecretTree } from 'ts-mls/secretTree.js'
import {
  openApplicationMessageInOrder,
  parseApplicationMessage,
  sealApplicationMessage,
} from '../../../src/private-message.ts'
import { assertBytes, fromHex, toHex } from '../harness.ts'
import { loadSuite } from '../suite-source.ts'

interface MessageProtectionVector {
  cipher_suite: number
  group_id: string
  epoch: number
  tree_hash: string
  confirmed_transcript_hash: string
  signature_priv: string
  signature_pub: string
  encryption_secret: string
  sender_data_secret: string
  membership_key: string
  proposal: string
  proposal_pub: string
  proposal_priv: string
  commit: string
  commit_pub: string
  commit_priv: string
  application: string
  application_priv: string
}

const SENDER = 1
const NO_PADDING: PaddingConfig = { kind: 'alwaysPad', paddingLength: 0 }

interface Setup {
  cs: CiphersuiteImpl
  context: GroupContext
  tree: RatchetTree
  signaturePub: Uint8Array
  signaturePriv: Uint8Array
  membershipKey: Uint8Array
  senderDataSecret: Uint8Array
  encryptionSecret: Uint8Array
}

/**
 * The vectors give the sender's signature key but no tree; a two-leaf tree whose leaf 1 carries
 * that key is what the receiving code looks the sender up in (the other fields are never read).
 */
function twoLeafTree(signaturePublicKey: Uint8Array): RatchetTree {
  const leaf: LeafNode = {
    hpkePublicKey: new Uint8Array(),
    signaturePublicKey,
    credential: { credentialType: 'basic', identity: new Uint8Array() },
    capabilities: { versions: [], ciphersuites: [], extensions: [], proposals: [], credentials: [] },
    leafNodeSource: 'key_package',
    lifetime: { notBefore: 0n, notAfter: 0n },
    extensions: [],
    signature: new Uint8Array(),
  }
  return [undefined, undefined, { nodeType: 'leaf', leaf }]
}

function decodeMessage(hex: string, field: string) {
  const bytes = fromHex(hex)
  const decoded = decodeMlsMessage(bytes, 0)
  assert.ok(decoded !== undefined && decoded[1] === bytes.length, `${field} decodes exactly`)
  return decoded[0]
}

function publicOf(hex: string, field: string): PublicMessage {
  const m = decodeMessage(hex, field)
  assert.equal(m.wireformat, 'mls_public_message', `${field} is a PublicMessage`)
  if (m.wireformat !== 'mls_public_message') throw new Error('unreachable')
  return m.publicMessage
}

function privateOf(hex: string, field: string): PrivateMessage {
  const m = decodeMessage(hex, field)
  assert.equal(m.wireformat, 'mls_private_message', `${field} is a PrivateMessage`)
  if (m.wireformat !== 'mls_private_message') throw new Error('unreachable')
  return m.privateMessage
}

async function openPublic(s: Setup, msg: PublicMessage) {
  return unprotectPublicMessage(s.membershipKey, s.context, s.tree, msg, s.cs, s.signaturePub)
}

/** A fresh secret tree per direction: each check starts from generation 0 (§9). */
async function openPrivate(s: Setup, msg: PrivateMessage) {
  const secretTree = await createSecretTree(2, s.encryptionSecret, s.cs.kdf)
  const out = await unprotectPrivateMessage(
    s.senderDataSecret,
    msg,
    secretTree,
    s.tree,
    s.context,
    defaultKeyRetentionConfig,
    s.cs,
    s.signaturePub,
  )
  assert.equal(out.content.content.sender.senderType, 'member')
  assert.equal(
    out.content.content.sender.senderType === 'member' ? out.content.content.sender.leafIndex : -1,
    SENDER,
    'sender is leaf 1',
  )
  return out.content
}

function proposalOf(content: FramedContent, field: string): Proposal {
  assert.equal(content.contentType, 'proposal', `${field} carries a proposal`)
  if (content.contentType !== 'proposal') throw new Error('unreachable')
  return content.proposal
}

function commitOf(content: FramedContent, field: string): Commit {
  assert.equal(content.contentType, 'commit', `${field} carries a commit`)
  if (content.contentType !== 'commit') throw new Error('unreachable')
  return content.commit
}

async function checkProposal(s: Setup, v: MessageProtectionVector): Promise<void> {
  const raw = decodeProposal(fromHex(v.proposal), 0)?.[0]
  assert.ok(raw !== undefined, 'proposal decodes')

  const fromPub = await openPublic(s, publicOf(v.proposal_pub, 'proposal_pub'))
  assertBytes(encodeProposal(proposalOf(fromPub.content, 'proposal_pub')), v.proposal, 'proposal_pub content')

  const ourPub = await protectProposalPublic(
    s.signaturePriv,
    s.membershipKey,
    s.context,
    new Uint8Array(),
    raw,
    SENDER,
    s.cs,
  )
  const reopened = await openPublic(s, ourPub.publicMessage)
  assertBytes(
    encodeProposal(proposalOf(reopened.content, 'our proposal_pub')),
    v.proposal,
    'our proposal_pub round trip',
  )

  const fromPriv = await openPrivate(s, privateOf(v.proposal_priv, 'proposal_priv'))
  assertBytes(
    encodeProposal(proposalOf(fromPriv.content, 'proposal_priv')),
    v.proposal,
    'proposal_priv content',
  )

  const ourPriv = await protectProposal(
    s.signaturePriv,
    s.senderDataSecret,
    raw,
    new Uint8Array(),
    s.context,
    await createSecretTree(2, s.encryptionSecret, s.cs.kdf),
    SENDER,
    NO_PADDING,
    s.cs,
  )
  const reopenedPriv = await openPrivate(s, ourPriv.privateMessage)
  assertBytes(
    encodeProposal(proposalOf(reopenedPriv.content, 'our proposal_priv')),
    v.proposal,
    'our proposal_priv round trip',
  )
}

async function checkCommit(s: Setup, v: MessageProtectionVector): Promise<void> {
  const raw = decodeCommit(fromHex(v.commit), 0)?.[0]
  assert.ok(raw !== undefined, 'commit decodes')

  const vectorPub = publicOf(v.commit_pub, 'commit_pub')
  const fromPub = await openPublic(s, vectorPub)
  assertBytes(encodeCommit(commitOf(fromPub.content, 'commit_pub')), v.commit, 'commit_pub content')

  const fromPriv = await openPrivate(s, privateOf(v.commit_priv, 'commit_priv'))
  assertBytes(encodeCommit(commitOf(fromPriv.content, 'commit_priv')), v.commit, 'commit_priv content')

  // The vectors give no confirmation key, so our commits carry the vector's confirmation tag
  // (§6.1: it is authenticated by the signature and membership tag like the rest of the content).
  assert.equal(vectorPub.auth.contentType, 'commit')
  const confirmationTag =
    vectorPub.auth.contentType === 'commit' ? vectorPub.auth.confirmationTag : new Uint8Array()
  for (const wireformat of ['mls_public_message', 'mls_private_message'] as const) {
    const { framedContent, signature } = await createContentCommitSignature(
      s.context,
      wireformat,
      raw,
      { senderType: 'member', leafIndex: SENDER },
      new Uint8Array(),
      s.signaturePriv,
      s.cs.signature,
    )
    const auth = { contentType: 'commit' as const, signature, confirmationTag }
    if (wireformat === 'mls_public_message') {
      const content: AuthenticatedContent = { wireformat, content: framedContent, auth }
      const ours = await protectPublicMessage(s.membershipKey, s.context, content, s.cs)
      const reopened = await openPublic(s, ours)
      assertBytes(
        encodeCommit(commitOf(reopened.content, 'our commit_pub')),
        v.commit,
        'our commit_pub round trip',
      )
    } else {
      const ours = await protect(
        s.senderDataSecret,
        new Uint8Array(),
        s.context,
        await createSecretTree(2, s.encryptionSecret, s.cs.kdf),
        { ...framedContent, auth },
        SENDER,
        NO_PADDING,
        s.cs,
      )
      const reopened = await openPrivate(s, ours.privateMessage)
      assertBytes(
        encodeCommit(commitOf(reopened.content, 'our commit_priv')),
        v.commit,
        'our commit_priv round trip',
      )
    }
  }
}

async function checkApplication(s: Setup, v: MessageProtectionVector): Promise<void> {
  const fromPriv = await openPrivate(s, privateOf(v.application_priv, 'application_priv'))
  assert.equal(fromPriv.content.contentType, 'application')
  if (fromPriv.content.contentType !== 'application') return
  assertBytes(fromPriv.content.applicationData, v.application, 'application_priv content')

  const ours = await protectApplicationData(
    s.signaturePriv,
    s.senderDataSecret,
    fromHex(v.application),
    new Uint8Array(),
    s.context,
    await createSecretTree(2, s.encryptionSecret, s.cs.kdf),
    SENDER,
    NO_PADDING,
    s.cs,
  )
  const reopened = await openPrivate(s, ours.privateMessage)
  assert.equal(reopened.content.contentType, 'application')
  if (reopened.content.contentType !== 'application') return
  assertBytes(reopened.content.applicationData, v.application, 'our application_priv round trip')

  // §6.2: application data MUST NOT be sent as a PublicMessage.
  const appContent: AuthenticatedContent = {
    wireformat: 'mls_public_message',
    content: {
      ...reopened.content,
      contentType: 'application',
      applicationData: fromHex(v.application),
    },
    auth: reopened.auth,
  }
  await assert.rejects(
    protectPublicMessage(s.membershipKey, s.context, appContent, s.cs),
    'protecting application data as a PublicMessage fails',
  )
}

/** The fields of a ClientState that src/private-message.ts reads, for sender leaf 1 of 2. */
function fastPathState(s: Setup, secretTree: SecretTree): ClientState {
  return {
    groupContext: s.context,
    keySchedule: { senderDataSecret: s.senderDataSecret },
    secretTree,
    ratchetTree: s.tree,
    privatePath: { leafIndex: SENDER },
    signaturePrivateKey: s.signaturePriv,
    unappliedProposals: {},
    groupActiveState: { kind: 'active' },
    clientConfig: { paddingConfig: NO_PADDING },
  } as unknown as ClientState
}

/**
 * Our own application-message path (src/private-message.ts) on the same vector: it opens the
 * other implementation's application_priv itself (not by handing it to the library), and the
 * library opens what it seals.
 */
async function checkFastPath(s: Setup, v: MessageProtectionVector): Promise<void> {
  const header = parseApplicationMessage(fromHex(v.application_priv))
  assert.ok(header !== undefined, 'application_priv parses on the fast path')
  const opened = await openApplicationMessageInOrder(
    fastPathState(s, await createSecretTree(2, s.encryptionSecret, s.cs.kdf)),
    s.cs,
    header,
  )
  assert.ok(opened !== undefined, 'the fast path opens application_priv')
  assertBytes(opened.applicationData, v.application, 'application_priv content (fast path)')
  assert.equal(opened.senderLeafIndex, SENDER)

  const sealed = await sealApplicationMessage(
    fastPathState(s, await createSecretTree(2, s.encryptionSecret, s.cs.kdf)),
    s.cs,
    fromHex(v.application),
    new Uint8Array(),
  )
  const reopened = await openPrivate(s, privateOf(toHex(sealed.message), 'fast-path application_priv'))
  assert.equal(reopened.content.contentType, 'application')
  if (reopened.content.contentType !== 'application') return
  assertBytes(reopened.content.applicationData, v.application, 'fast-path application_priv round trip')
}

export async function runMessageProtection(v: MessageProtectionVector): Promise<void> {
  const cs = await loadSuite(v.cipher_suite)
  const signaturePub = fromHex(v.signature_pub)
  const s: Setup = {
    cs,
    context: {
      version: 'mls10',
      cipherSuite: getCiphersuiteNameFromId(v.cipher_suite as CiphersuiteId),
      groupId: fromHex(v.group_id),
      epoch: BigInt(v.epoch),
      treeHash: fromHex(v.tree_hash),
      confirmedTranscriptHash: fromHex(v.confirmed_transcript_hash),
      extensions: [],
    },
    tree: twoLeafTree(signaturePub),
    signaturePub,
    signaturePriv: fromHex(v.signature_priv),
    membershipKey: fromHex(v.membership_key),
    senderDataSecret: fromHex(v.sender_data_secret),
    encryptionSecret: fromHex(v.encryption_secret),
  }
  assert.equal(toHex(s.signaturePub), v.signature_pub.toLowerCase())
  await checkProposal(s, v)
  await checkCommit(s, v)
  await checkApplication(s, v)
  await checkFastPath(s, v)
}
