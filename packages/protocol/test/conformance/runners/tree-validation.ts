// RFC 9420 §4.1.1 (resolution), §7.8 (tree hash), §7.9.2 (parent hashes) and §7.3 (leaf
// signatures), checked over trees with blanks, trailing blanks and unmerged leaves.
import assert from 'node:assert/strict'
import { validateRatchetTree } from 'ts-mls/clientState.js'
import type { CiphersuiteId } from 'ts-mls/crypto/ciphersuite.js'
import { getCiphersuiteNameFromId } from 'ts-mls/crypto/ciphersuite.js'
import { verifyLeafNodeSignature } from 'ts-mls/leafNode.js'
import { defaultLifetimeConfig } from 'ts-mls/lifetimeConfig.js'
import { verifyParentHashes } from 'ts-mls/parentHash.js'
import { decodeRatchetTree, resolution } from 'ts-mls/ratchetTree.js'
import { treeHash, treeHashRoot } from 'ts-mls/treeHash.js'
import { nodeToLeafIndex, toNodeIndex } from 'ts-mls/treemath.js'
import { assertBytes, fromHex } from '../harness.ts'
import { loadSuite } from '../suite-source.ts'

interface TreeValidationVector {
  cipher_suite: number
  tree: string
  group_id: string
  resolutions: number[][]
  tree_hashes: string[]
}

export async function runTreeValidation(v: TreeValidationVector): Promise<void> {
  const cs = await loadSuite(v.cipher_suite)
  const tree = decodeRatchetTree(fromHex(v.tree), 0)?.[0]
  assert.ok(tree !== undefined, 'tree decodes')
  assert.equal(v.tree_hashes.length, tree.length, 'one tree hash per node')
  assert.equal(v.resolutions.length, tree.length, 'one resolution per node')

  for (const [i, expected] of v.tree_hashes.entries()) {
    assertBytes(await treeHash(tree, toNodeIndex(i), cs.hash), expected, `tree_hashes[${i}]`)
  }
  const resolutions = v.resolutions.map((_, i) => resolution(tree, toNodeIndex(i)).map(Number))
  assert.deepEqual(resolutions, v.resolutions, 'resolutions')

  assert.equal(await verifyParentHashes(tree, cs.hash), true, 'parent hashes verify')

  const groupId = fromHex(v.group_id)
  let leaves = 0
  for (const [i, node] of tree.entries()) {
    if (node?.nodeType !== 'leaf') continue
    leaves++
    assert.equal(
      await verifyLeafNodeSignature(node.leaf, groupId, nodeToLeafIndex(toNodeIndex(i)), cs.signature),
      true,
      `leaf signature at node ${i} verifies`,
    )
  }
  assert.ok(leaves > 0, 'the tree has leaves to check')

  // Beyond the format: the whole tree passes the checks a joiner makes (RFC 9420 §12.4.3.1), in
  // the library as patched by Tacit (patches/ts-mls+1.6.4.patch changes the unmerged-leaves rule;
  // these trees include unmerged leaves and the tree of the RFC's Appendix A figure).
  const rootHash = await treeHashRoot(tree, cs.hash)
  const error = await validateRatchetTree(
    tree,
    {
      version: 'mls10',
      cipherSuite: getCiphersuiteNameFromId(v.cipher_suite as CiphersuiteId),
      groupId,
      epoch: 0n,
      treeHash: rootHash,
      confirmedTranscriptHash: new Uint8Array(),
      extensions: [],
    },
    defaultLifetimeConfig,
    { validateCredential: async (credential) => credential.credentialType === 'basic' },
    rootHash,
    cs,
  )
  assert.equal(error, undefined, `join-time tree validation: ${error?.message ?? ''}`)
}
