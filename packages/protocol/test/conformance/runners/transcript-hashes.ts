// RFC 9420 §8.2: confirmed and interim transcript hashes; §6.1 confirmation_tag.
import assert from 'node:assert/strict'
import { decodeAuthenticatedContent } from 'ts-mls/authenticatedContent.js'
import type { FramedContentCommit } from 'ts-mls/framedContent.js'
import { verifyConfirmationTag } from 'ts-mls/framedContent.js'
import { createConfirmedHash, createInterimHash } from 'ts-mls/transcriptHash.js'
import { assertBytes, fromHex } from '../harness.ts'
import { loadSuite } from '../suite-source.ts'

interface TranscriptHashesVector {
  cipher_suite: number
  confirmation_key: string
  authenticated_content: string
  interim_transcript_hash_before: string
  confirmed_transcript_hash_after: string
  interim_transcript_hash_after: string
}

export async function runTranscriptHashes(v: TranscriptHashesVector): Promise<void> {
  const cs = await loadSuite(v.cipher_suite)
  const bytes = fromHex(v.authenticated_content)
  const decoded = decodeAuthenticatedContent(bytes, 0)
  assert.ok(decoded !== undefined, 'authenticated_content decodes')
  assert.equal(decoded[1], bytes.length, 'authenticated_content is consumed exactly')
  const ac = decoded[0]
  assert.equal(ac.content.contentType, 'commit', 'authenticated_content holds a Commit')
  assert.equal(ac.auth.contentType, 'commit')
  if (ac.auth.contentType !== 'commit' || ac.content.contentType !== 'commit') return

  const confirmed = await createConfirmedHash(
    fromHex(v.interim_transcript_hash_before),
    { wireformat: ac.wireformat, content: ac.content as FramedContentCommit, signature: ac.auth.signature },
    cs.hash,
  )
  assertBytes(confirmed, v.confirmed_transcript_hash_after, 'confirmed_transcript_hash_after')
  assert.equal(
    await verifyConfirmationTag(fromHex(v.confirmation_key), ac.auth.confirmationTag, confirmed, cs.hash),
    true,
    'confirmation_tag is a valid MAC of confirmed_transcript_hash_after',
  )
  assertBytes(
    await createInterimHash(confirmed, ac.auth.confirmationTag, cs.hash),
    v.interim_transcript_hash_after,
    'interim_transcript_hash_after',
  )
}
