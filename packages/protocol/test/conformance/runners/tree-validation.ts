// RFC 9420 §4.1.1 (resolution), §7.8 (tree hash), §7.9.2 (parent hashes) and §7.3 (leaf
// signatures), checked over trees with blanks, trailing blanks and unmerged leaves.
import assert from 'node:assert/strict'
import { verifyLeafNodeSignature } from 'ts-mls/leafNode.js'
import { verifyParentHashes } from 'ts-mls/parentHash.js'
import { decodeRatchetTree, resolution } from 'ts-mls/ratchetTree.js'
import { treeHash } from 'ts-mls/treeHash.js'
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
}
