// RFC 9420 §4.2 and Appendix C: array-based tree arithmetic.
import assert from 'node:assert/strict'
import type { NodeIndex } from 'ts-mls/treemath.js'
import { left, nodeWidth, parent, right, root, sibling, toNodeIndex } from 'ts-mls/treemath.js'

interface TreeMathVector {
  n_leaves: number
  n_nodes: number
  root: number
  left: (number | null)[]
  right: (number | null)[]
  parent: (number | null)[]
  sibling: (number | null)[]
}

/** The library throws where the RFC's function is undefined (a leaf's child, the root's parent). */
function orNull(f: () => NodeIndex): number | null {
  try {
    return f()
  } catch {
    return null
  }
}

export function runTreeMath(v: TreeMathVector): void {
  assert.equal(nodeWidth(v.n_leaves), v.n_nodes, 'n_nodes')
  assert.equal(root(v.n_leaves), v.root, 'root')
  for (const field of ['left', 'right', 'parent', 'sibling'] as const) {
    assert.equal(v[field].length, v.n_nodes, `${field} has one entry per node`)
  }
  const actual = {
    left: [] as (number | null)[],
    right: [] as (number | null)[],
    parent: [] as (number | null)[],
    sibling: [] as (number | null)[],
  }
  for (let i = 0; i < v.n_nodes; i++) {
    const x = toNodeIndex(i)
    actual.left.push(orNull(() => left(x)))
    actual.right.push(orNull(() => right(x)))
    actual.parent.push(orNull(() => parent(x, v.n_leaves)))
    actual.sibling.push(orNull(() => sibling(x, v.n_leaves)))
  }
  assert.deepEqual(actual.left, v.left, 'left')
  assert.deepEqual(actual.right, v.right, 'right')
  assert.deepEqual(actual.parent, v.parent, 'parent')
  assert.deepEqual(actual.sibling, v.sibling, 'sibling')
}
