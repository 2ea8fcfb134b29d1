// RFC 9420 §12.1.1–§12.1.3 applied to the tree (§7.7 adding and removing leaves), with tree hashes
// (§7.8) before and after.
import assert from 'node:assert/strict'
import { decodeProposal } from 'ts-mls/proposal.js'
import type { RatchetTree } from 'ts-mls/ratchetTree.js'
import {
  addLeafNode,
  decodeRatchetTree,
  encodeRatchetTree,
  removeLeafNode,
  updateLeafNode,
} from 'ts-mls/ratchetTree.js'
import { treeHashRoot } from 'ts-mls/treeHash.js'
import { toLeafIndex } from 'ts-mls/treemath.js'
import { assertBytes, fromHex } from '../harness.ts'
import { loadSuite } from '../suite-source.ts'

interface TreeOperationsVector {
  cipher_suite: number
  tree_before: string
  proposal: string
  proposal_sender: number
  tree_hash_before: string
  tree_after: string
  tree_hash_after: string
}

export async function runTreeOperations(v: TreeOperationsVector): Promise<void> {
  const cs = await loadSuite(v.cipher_suite)
  const before = decodeRatchetTree(fromHex(v.tree_before), 0)?.[0]
  assert.ok(before !== undefined, 'tree_before decodes')
  assertBytes(await treeHashRoot(before, cs.hash), v.tree_hash_before, 'tree_hash_before')

  const proposalBytes = fromHex(v.proposal)
  const decoded = decodeProposal(proposalBytes, 0)
  assert.ok(decoded !== undefined, 'proposal decodes')
  assert.equal(decoded[1], proposalBytes.length, 'proposal is consumed exactly')
  const proposal = decoded[0]

  let after: RatchetTree
  switch (proposal.proposalType) {
    case 'add':
      after = addLeafNode(before, proposal.add.keyPackage.leafNode)[0]
      break
    case 'update':
      after = updateLeafNode(before, proposal.update.leafNode, toLeafIndex(v.proposal_sender))
      break
    case 'remove':
      after = removeLeafNode(before, toLeafIndex(proposal.remove.removed))
      break
    default:
      assert.fail(`unexpected proposal type ${String(proposal.proposalType)}`)
  }
  assertBytes(encodeRatchetTree(after), v.tree_after, 'tree_after')
  assertBytes(await treeHashRoot(after, cs.hash), v.tree_hash_after, 'tree_hash_after')
}
