/**
 * RFC 9420 §12.4: "the path field of a Commit MUST be populated" when the Commit covers no
 * proposals at all, or at least one proposal whose type is marked "Path Required" in the MLS
 * Proposal Types registry (§17.4): update, remove, external_init and group_context_extensions.
 *
 * ts-mls 1.6.4 requires a path only for empty commits and for update/remove, so it both creates
 * and accepts a path-less GroupContextExtensions-only commit (docs/decisions/0001). We check the
 * full rule ourselves before the library sees an incoming commit, and refuse to create a commit
 * the library would build without the path the RFC requires.
 */

/** Proposal types (RFC 9420 §17.4) whose presence makes the UpdatePath mandatory. */
export const PATH_REQUIRED_PROPOSAL_TYPES: ReadonlySet<string> = new Set([
  'update',
  'remove',
  'external_init',
  'group_context_extensions',
])

/** Whether a commit covering proposals of these types must carry an UpdatePath. */
export function commitRequiresPath(proposalTypes: readonly string[]): boolean {
  return proposalTypes.length === 0 || proposalTypes.some((t) => PATH_REQUIRED_PROPOSAL_TYPES.has(t))
}

/**
 * The proposals ts-mls 1.6.4 adds a path for when it creates a commit (clientState.js
 * `needsUpdatePath`): empty, or containing an update or remove. The wrapper creates only commits
 * for which both rules agree, so everything it sends carries the path the RFC requires.
 */
export function libraryAddsPath(proposalTypes: readonly string[]): boolean {
  return proposalTypes.length === 0 || proposalTypes.some((t) => t === 'update' || t === 'remove')
}
