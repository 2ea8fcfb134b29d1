// RFC 9420 §7.4–§7.6 (TreeKEM: deriving path keys, creating and processing an UpdatePath),
// §7.9.2 (parent hashes of an UpdatePath) and §8 (commit_secret).
import assert from 'node:assert/strict'
import { applyUpdatePathSecret } from 'ts-mls/createCommit.js'
import type { CiphersuiteId, CiphersuiteImpl } from 'ts-mls/crypto/ciphersuite.js'
import { getCiphersuiteNameFromId } from 'ts-mls/crypto/ciphersuite.js'
import { deriveSecret } from 'ts-mls/crypto/kdf.js'
import type { GroupContext } from 'ts-mls/groupContext.js'
import { pathToRoot } from 'ts-mls/pathSecrets.js'
import type { PrivateKeyPath } from 'ts-mls/privateKeyPath.js'
import { toPrivateKeyPath } from 'ts-mls/privateKeyPath.js'
import type { Node, RatchetTree } from 'ts-mls/ratchetTree.js'
import { decodeRatchetTree } from 'ts-mls/ratchetTree.js'
import { treeHashRoot } from 'ts-mls/treeHash.js'
import { leafToNodeIndex, leafWidth, root, toLeafIndex, toNodeIndex } from 'ts-mls/treemath.js'
import type { UpdatePath } from 'ts-mls/updatePath.js'
import { applyUpdatePath, createUpdatePath, decodeUpdatePath } from 'ts-mls/updatePath.js'
import { assertBytes, fromHex, toHex } from '../harness.ts'
import { loadSuite } from '../suite-source.ts'

interface TreeKemVector {
  cipher_suite: number
  group_id: string
  epoch: number
  confirmed_transcript_hash: string
  ratchet_tree: string
  leaves_private: {
    index: number
    encryption_priv: string
    signature_priv: string
    path_secrets: { node: number; path_secret: string }[]
  }[]
  update_paths: {
    sender: number
    update_path: string
    path_secrets: (string | null)[]
    commit_secret: string
    tree_hash_after: string
  }[]
}

/** A private key matches a public key when what is sealed to the one opens with the other. */
async function assertHpkePair(cs: CiphersuiteImpl, priv: Uint8Array, pub: Uint8Array, what: string) {
  const probe = new TextEncoder().encode('treekem key match')
  const sealed = await cs.hpke.seal(await cs.hpke.importPublicKey(pub), probe, new Uint8Array())
  const opened = await cs.hpke.open(
    await cs.hpke.importPrivateKey(priv),
    sealed.enc,
    sealed.ct,
    new Uint8Array(),
  )
  assert.equal(toHex(opened), toHex(probe), `${what}: private key matches the tree's public key`)
}

interface MergedPath {
  readonly sender: number
  readonly path: UpdatePath
  readonly treeAfter: RatchetTree
  /** §12.4.2: receivers decrypt under the provisional GroupContext (the new tree hash). */
  readonly provisional: GroupContext
}

/** Merges `path` once; every receiver then decrypts against the same merged tree. */
async function mergePath(
  cs: CiphersuiteImpl,
  tree: RatchetTree,
  sender: number,
  path: UpdatePath,
  context: GroupContext,
): Promise<MergedPath> {
  // applyUpdatePath recomputes the parent hashes and rejects a path whose leaf does not carry them.
  const treeAfter = await applyUpdatePath(tree, toLeafIndex(sender), path, cs.hash)
  return {
    sender,
    path,
    treeAfter,
    provisional: { ...context, treeHash: await treeHashRoot(treeAfter, cs.hash) },
  }
}

async function decryptPath(
  cs: CiphersuiteImpl,
  merged: MergedPath,
  receiver: PrivateKeyPath,
): Promise<{ pathSecret: Uint8Array; commitSecret: Uint8Array }> {
  const { treeAfter } = merged
  const found = await applyUpdatePathSecret(
    treeAfter,
    receiver,
    toLeafIndex(merged.sender),
    merged.provisional,
    merged.path,
    [],
    cs,
  )
  const secrets = await pathToRoot(treeAfter, toNodeIndex(found.nodeIndex), found.pathSecret, cs.kdf)
  const rootSecret = secrets[root(leafWidth(treeAfter.length))]
  assert.ok(rootSecret !== undefined, 'the path reaches the root')
  return { pathSecret: found.pathSecret, commitSecret: await deriveSecret(rootSecret, 'path', cs.kdf) }
}

export async function runTreeKem(v: TreeKemVector): Promise<void> {
  const cs = await loadSuite(v.cipher_suite)
  const tree = decodeRatchetTree(fromHex(v.ratchet_tree), 0)?.[0]
  assert.ok(tree !== undefined, 'ratchet_tree decodes')

  const privates = new Map<number, { state: PrivateKeyPath; signaturePriv: Uint8Array }>()
  for (const leaf of v.leaves_private) {
    const leafNode: Node | undefined = tree[leafToNodeIndex(toLeafIndex(leaf.index))]
    assert.equal(leafNode?.nodeType, 'leaf', `leaves_private[${leaf.index}] is a non-blank leaf`)
    if (leafNode?.nodeType !== 'leaf') continue
    await assertHpkePair(cs, fromHex(leaf.encryption_priv), leafNode.leaf.hpkePublicKey, `leaf ${leaf.index}`)
    const secrets: Record<number, Uint8Array> = {}
    for (const ps of leaf.path_secrets) {
      const node: Node | undefined = tree[ps.node]
      assert.equal(node?.nodeType, 'parent', `leaf ${leaf.index}: node ${ps.node} is a non-blank parent`)
      if (node?.nodeType !== 'parent') continue
      // §7.4: node_secret = DeriveSecret(path_secret, "node"); node key pair = DeriveKeyPair(node_secret).
      const pair = await cs.hpke.deriveKeyPair(await deriveSecret(fromHex(ps.path_secret), 'node', cs.kdf))
      assertBytes(
        await cs.hpke.exportPublicKey(pair.publicKey),
        toHex(node.parent.hpkePublicKey),
        `leaf ${leaf.index}: public key of node ${ps.node} derived from its path secret`,
      )
      secrets[ps.node] = fromHex(ps.path_secret)
    }
    const state = await toPrivateKeyPath(secrets, leaf.index, cs)
    state.privateKeys[leafToNodeIndex(toLeafIndex(leaf.index))] = fromHex(leaf.encryption_priv)
    privates.set(leaf.index, { state, signaturePriv: fromHex(leaf.signature_priv) })
  }

  const context: GroupContext = {
    version: 'mls10',
    cipherSuite: getCiphersuiteNameFromId(v.cipher_suite as CiphersuiteId),
    groupId: fromHex(v.group_id),
    epoch: BigInt(v.epoch),
    treeHash: await treeHashRoot(tree, cs.hash),
    confirmedTranscriptHash: fromHex(v.confirmed_transcript_hash),
    extensions: [],
  }
  const leaves = leafWidth(tree.length)

  for (const [u, up] of v.update_paths.entries()) {
    const where = `update_paths[${u}] (sender ${up.sender})`
    const pathBytes = fromHex(up.update_path)
    const decoded = decodeUpdatePath(pathBytes, 0)
    assert.ok(
      decoded !== undefined && decoded[1] === pathBytes.length,
      `${where}: update_path decodes exactly`,
    )
    const path = decoded[0]

    const merged = await mergePath(cs, tree, up.sender, path, context)
    assertBytes(merged.provisional.treeHash, up.tree_hash_after, `${where}: tree_hash_after`)

    assert.equal(up.path_secrets.length, leaves, `${where}: one path_secrets entry per leaf`)
    let receivers = 0
    for (let j = 0; j < leaves; j++) {
      const expected = up.path_secrets[j]
      const blank = tree[leafToNodeIndex(toLeafIndex(j))] === undefined
      if (j === up.sender || blank) {
        assert.equal(expected, null, `${where}: no path secret for leaf ${j}`)
        continue
      }
      const receiver = privates.get(j)
      assert.ok(
        receiver !== undefined && typeof expected === 'string',
        `${where}: leaf ${j} has private state`,
      )
      const out = await decryptPath(cs, merged, receiver.state)
      assertBytes(out.pathSecret, expected, `${where}: path_secrets[${j}]`)
      assertBytes(out.commitSecret, up.commit_secret, `${where}: commit_secret seen by leaf ${j}`)
      receivers++
    }

    // A fresh UpdatePath from the same sender: every other member derives the same commit secret.
    const sender = privates.get(up.sender)
    assert.ok(sender !== undefined, `${where}: the sender has private state`)
    // createUpdatePath encrypts to epoch + 1, so start one epoch earlier to land on `epoch`.
    const previous = { ...context, epoch: context.epoch - 1n }
    const [ourTree, ourPath, ourSecrets] = await createUpdatePath(
      tree,
      toLeafIndex(up.sender),
      previous,
      sender.signaturePriv,
      cs,
    )
    const last = ourSecrets.at(-1)
    assert.ok(last !== undefined, `${where}: the new path has secrets`)
    const ourRoot = (await pathToRoot(ourTree, toNodeIndex(last.nodeIndex), last.secret, cs.kdf))[
      root(leafWidth(ourTree.length))
    ]
    assert.ok(ourRoot !== undefined)
    const newCommitSecret = await deriveSecret(ourRoot, 'path', cs.kdf)
    const ourMerged = await mergePath(cs, tree, up.sender, ourPath, context)
    assertBytes(
      ourMerged.provisional.treeHash,
      toHex(await treeHashRoot(ourTree, cs.hash)),
      `${where}: merging the new path gives the sender's tree`,
    )
    let ourReceivers = 0
    for (const [j, receiver] of privates) {
      if (j === up.sender) continue
      const out = await decryptPath(cs, ourMerged, receiver.state)
      assertBytes(out.commitSecret, toHex(newCommitSecret), `${where}: new_commit_secret seen by leaf ${j}`)
      ourReceivers++
    }
    assert.equal(ourReceivers, receivers, `${where}: the same members process both paths`)
  }
}
