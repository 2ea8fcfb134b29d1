/**
 * Node-only: the KeyObject caches stay within their MAX_* bounds and keep the long-lived signing
 * key apart from ephemeral DH keys. No timings: sizes only.
 */
import assert from 'node:assert/strict'
import { createPrivateKey, generateKeyPairSync } from 'node:crypto'
import { test } from 'node:test'
import {
  clearNodeKeyCaches,
  MAX_CACHED_SIGNING_KEYS,
  nodeBackend,
  nodeKeyCacheSizes,
} from '../src/node/backend.ts'
import { KeyObjectCache } from '../src/node/key-cache.ts'

test('signing-key cache is bounded by MAX_CACHED_SIGNING_KEYS', async () => {
  clearNodeKeyCaches()
  const msg = new Uint8Array(8)
  for (let i = 0; i < MAX_CACHED_SIGNING_KEYS + 6; i++) {
    const { privateKey } = await nodeBackend.signature.generate('Ed25519')
    await nodeBackend.signature.sign('Ed25519', privateKey, msg)
  }
  assert.equal(nodeKeyCacheSizes().signing, MAX_CACHED_SIGNING_KEYS)
})

test('ephemeral DH keys do not touch the signing-key cache', async () => {
  clearNodeKeyCaches()
  const signer = await nodeBackend.signature.generate('Ed25519')
  await nodeBackend.signature.sign('Ed25519', signer.privateKey, new Uint8Array(1))
  const peer = await nodeBackend.dh.generate('X25519')
  for (let i = 0; i < 10; i++) {
    const e = await nodeBackend.dh.generate('X25519')
    await nodeBackend.dh.sharedSecret('X25519', e.privateKey, peer.publicKey)
  }
  const sizes = nodeKeyCacheSizes()
  assert.equal(sizes.signing, 1)
  assert.equal(sizes.dhPrivate, 10)
})

test('KeyObjectCache hits by content (a fresh copy of the bytes) and evicts the least recently used', () => {
  const cache = new KeyObjectCache(2)
  let loads = 0
  const load = () => {
    loads++
    return createPrivateKey(
      generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }),
    )
  }
  const a = new Uint8Array([1, 2, 3])
  const first = cache.get('t', a, load)
  assert.equal(cache.get('t', a.slice(), load), first)
  assert.equal(loads, 1)
  cache.get('t', new Uint8Array([4]), load)
  cache.get('t', a, load) // a becomes most recent
  cache.get('t', new Uint8Array([5]), load) // evicts [4]
  assert.equal(cache.size, 2)
  assert.equal(cache.get('t', a, load), first)
  assert.equal(loads, 3)
  cache.get('other', a, load) // the tag separates algorithms
  assert.equal(loads, 4)
})

test('KeyObjectCache notices a key array overwritten in place', () => {
  const cache = new KeyObjectCache(4)
  let loads = 0
  const load = () => {
    loads++
    return generateKeyPairSync('ed25519').privateKey
  }
  const a = new Uint8Array([1, 2, 3])
  const first = cache.get('t', a, load)
  assert.equal(cache.get('t', a, load), first, 'the same array hits')
  a[0] = 9
  const second = cache.get('t', a, load)
  assert.notEqual(second, first, 'new bytes in the same array are a new key')
  assert.equal(loads, 2)
  a[0] = 1
  assert.equal(cache.get('t', a, load), first, 'the old bytes again: the old key')
  assert.equal(cache.get('u', a, load), cache.get('u', a.slice(), load), 'another tag, same array')
  assert.equal(loads, 3)
  cache.clear()
  cache.get('t', a, load)
  assert.equal(loads, 4, 'clear() forgets everything')
})

test('small random requests come from the pool: right length, independent, not repeating', () => {
  const seen = new Set<string>()
  const draws: Uint8Array[] = []
  for (let i = 0; i < 3000; i++) {
    const r = nodeBackend.randomBytes(4)
    assert.equal(r.length, 4)
    draws.push(r)
    seen.add(Buffer.from(r).toString('hex'))
  }
  // 3,000 draws of 32 bits collide with probability about 0.1%; a pool served twice would repeat.
  assert.ok(seen.size >= 2990, `distinct draws: ${seen.size}`)
  const copy = draws[0]!.slice()
  draws[1]!.fill(0)
  assert.deepEqual(draws[0], copy, 'each draw is its own array')
  assert.equal(nodeBackend.randomBytes(0).length, 0)
  assert.equal(nodeBackend.randomBytes(64).length, 64)
  assert.equal(nodeBackend.randomBytes(65).length, 65)
})
