/**
 * Runs as a child process: opens its own connection to the SQLite file and claims N times, so
 * several processes really contend for the file's write lock at once. Prints what it got as JSON.
 * The parent releases all processes at once after each printed `ready`.
 * Usage: node --import tsx claim-process.ts <path> <handle> <claims>
 */
import { openSqliteStorage } from '../../src/storage/sqlite/sqlite-storage.ts'

const [path, handle, claims] = process.argv.slice(2) as [string, string, string]
const storage = await openSqliteStorage(path, { migrate: false })
// Start together: announce readiness, then wait for the parent's go on stdin.
process.stdout.write('ready\n')
await new Promise((resolve) => process.stdin.once('data', resolve))
process.stdin.pause()
const got: { keyPackage: string; lastResort: boolean }[] = []
for (let i = 0; i < Number(claims); i++) {
  for (const c of await storage.claimKeyPackages(handle)) {
    got.push({ keyPackage: Buffer.from(c.keyPackage).toString('utf8'), lastResort: c.lastResort })
  }
}
await storage.close()
process.stdout.write(JSON.stringify(got))
