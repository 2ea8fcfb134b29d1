/**
 * Every snapshot format ever written keeps loading (STYLE.md: "a stored-state fixture from every
 * release must still load"). Each fixture file holds, per suite, a member's snapshot, a message
 * sent after it, and the expected result; restoring and decrypting must give exactly that.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { test } from 'node:test'
import { bytesToHex, hexToBytes } from '@tacit/crypto/bytes'
import { nodeBackend } from '@tacit/crypto/node/backend'
import { createAuthenticationService } from '../src/authentication.ts'
import { getCipherSuite, type TacitSuiteName } from '../src/cipher-suite.ts'
import { epochAuthenticator, processMessage } from '../src/group.ts'
import { standardPolicy } from '../src/policy.ts'
import { restoreGroup } from '../src/snapshot.ts'

interface SuiteFixture {
  directory: Record<string, string>
  snapshot: string
  epochAuthenticator: string
  message: string
  plaintext: string
  sender: string
}

const dir = new URL('./fixtures/', import.meta.url)
const files = readdirSync(dir).filter((f) => f.startsWith('snapshot-') && f.endsWith('.json'))

test('snapshot fixtures exist', () => assert.ok(files.length >= 1))

for (const file of files) {
  const fixture = JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as {
    suites: Record<string, SuiteFixture>
  }
  for (const [suiteName, f] of Object.entries(fixture.suites)) {
    test(`${file}: ${suiteName} snapshot restores and decrypts the next message`, async () => {
      const suite = await getCipherSuite(nodeBackend, suiteName as TacitSuiteName)
      const directory = new Map(Object.entries(f.directory).map(([h, k]) => [h, hexToBytes(k)]))
      const auth = createAuthenticationService({
        backend: nodeBackend,
        identityOf: (h) => directory.get(h) ?? null,
      })
      const config = { suite, auth, policy: standardPolicy() }
      const group = restoreGroup(hexToBytes(f.snapshot), config)
      assert.equal(bytesToHex(epochAuthenticator(group)), f.epochAuthenticator)
      const result = await processMessage(group, config, hexToBytes(f.message))
      assert.equal(result.kind, 'application')
      if (result.kind !== 'application') return
      assert.equal(bytesToHex(result.plaintext), f.plaintext)
      assert.equal(result.sender.handle, f.sender)
    })
  }
}
