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
