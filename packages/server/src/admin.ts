/**
 * The administrator's command: invites (docs/operations.md §Invites).
 *
 *   npm run tacit-admin -- invite create [--ttl-days 7] [--json]
 *   npm run tacit-admin -- invite list [--json]
 *   npm run tacit-admin -- invite revoke <code or id>
 *
 * Storage flags are the server's: --data-dir, --postgres-url, --postgres-schema (and their
 * TACIT_* variables). It works while the server runs (SQLite WAL allows a second writer).
 * The code is printed once and never stored: `list` shows ids (hash prefixes), not codes.
 * Exit codes: 0 done, 1 failed, 2 bad usage.
 */
import { base64urlLength } from '@tacit/protocol/wire/encoding'
import { ConfigError, parseConfig } from './config.ts'
import { hashSecret } from './secrets.ts'
import { createInviteCode, INVITE_CODE_BYTES, openConfiguredStorage } from './server.ts'
import type { Storage } from './storage/storage.ts'

const USAGE = `Usage: npm run tacit-admin -- invite <create|list|revoke> [options]
  invite create [--ttl-days <n>]   create an invite; prints the code once
  invite list                      list invites (ids, state, expiry)
  invite revoke <code|id>          revoke an unused invite
Options: --data-dir <path> --postgres-url <url> --postgres-schema <name> --json
`

/** An invite's public id: the first 12 hex digits of its code's SHA-256. */
function inviteId(codeHash: Uint8Array): string {
  return Buffer.from(codeHash.subarray(0, 6)).toString('hex')
}

function fail(message: string, code = 2): never {
  process.stderr.write(`${message}\n`)
  process.exit(code)
}

export async function runAdmin(argv: readonly string[], out: (line: string) => void): Promise<void> {
  const positional: string[] = []
  const storageFlags: string[] = []
  let ttlDays = 7
  let json = false
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--json') json = true
    else if (a === '--ttl-days') {
      const v = argv[++i] ?? ''
      if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 365) fail('--ttl-days must be 1..365')
      ttlDays = Number(v)
    } else if (a === '--data-dir' || a === '--postgres-url' || a === '--postgres-schema') {
      storageFlags.push(a, argv[++i] ?? '')
    } else if (a.startsWith('--')) fail(`unknown flag ${a}\n${USAGE}`)
    else positional.push(a)
  }
  const [group, command, target] = positional
  if (group !== 'invite' || command === undefined) fail(USAGE)
  let config: ReturnType<typeof parseConfig>
  try {
    config = parseConfig(storageFlags, process.env)
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message)
    throw error
  }
  // Payload rotation is the servers' work; this process only runs one command.
  const storage: Storage = await openConfiguredStorage(config, { backgroundWork: false })
  try {
    const now = Date.now()
    if (command === 'create') {
      const code = await createInviteCode(storage, now, ttlDays * 24 * 3600_000)
      const id = inviteId(hashSecret(new TextEncoder().encode(code)))
      const expiresAt = new Date(now + ttlDays * 24 * 3600_000).toISOString()
      out(
        json
          ? JSON.stringify({ code, id, expiresAt })
          : `invite code: ${code}\nid: ${id}\nexpires: ${expiresAt}`,
      )
    } else if (command === 'list') {
      const invites = await storage.listInvites()
      const rows = invites.map((i) => ({
        id: inviteId(i.codeHash),
        state:
          i.usedBy !== null
            ? 'used'
            : i.revokedAt !== null
              ? 'revoked'
              : i.expiresAt <= now
                ? 'expired'
                : 'open',
        createdAt: new Date(i.createdAt).toISOString(),
        expiresAt: new Date(i.expiresAt).toISOString(),
      }))
      if (json) out(JSON.stringify(rows))
      else
        for (const r of rows)
          out(`${r.id}  ${r.state.padEnd(7)}  created ${r.createdAt}  expires ${r.expiresAt}`)
    } else if (command === 'revoke') {
      if (target === undefined) fail('invite revoke needs a code or an id')
      let codeHash: Uint8Array | undefined
      if (target.length === base64urlLength(INVITE_CODE_BYTES)) {
        codeHash = hashSecret(new TextEncoder().encode(target))
      } else {
        codeHash = (await storage.listInvites()).find((i) => inviteId(i.codeHash) === target)?.codeHash
      }
      if (codeHash === undefined) fail('no invite with that id', 1)
      await storage.revokeInvite(codeHash, now)
      out(json ? JSON.stringify({ revoked: inviteId(codeHash) }) : `revoked ${inviteId(codeHash)}`)
    } else {
      fail(USAGE)
    }
  } finally {
    await storage.close()
  }
}

// Run only as a command, not when imported by a test.
if (import.meta.url === `file://${process.argv[1]}`) {
  runAdmin(process.argv.slice(2), (line) => process.stdout.write(`${line}\n`)).catch((error: unknown) => {
    const name = error instanceof Error ? error.name : 'Error'
    const code = (error as { code?: unknown }).code
    process.stderr.write(`failed: ${name}${typeof code === 'string' ? ` (${code})` : ''}\n`)
    process.exit(1)
  })
}
