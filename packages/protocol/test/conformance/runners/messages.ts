// RFC 9420 §6 (framing), §7 (ratchet tree), §10 (KeyPackage), §12.1 (proposals), §12.4 (Commit,
// Welcome, GroupInfo, GroupSecrets): every structure decodes and re-encodes to the same bytes.
import assert from 'node:assert/strict'
import type { Decoder } from 'ts-mls/codec/tlsDecoder.js'
import type { Encoder } from 'ts-mls/codec/tlsEncoder.js'
import { decodeCommit, encodeCommit } from 'ts-mls/commit.js'
import { decodeGroupSecrets, encodeGroupSecrets } from 'ts-mls/groupSecrets.js'
import type { MLSMessage } from 'ts-mls/message.js'
import { decodeMlsMessage, encodeMlsMessage } from 'ts-mls/message.js'
import {
  decodeAdd,
  decodeExternalInit,
  decodeGroupContextExtensions,
  decodePSK,
  decodeReinit,
  decodeRemove,
  decodeUpdate,
  encodeAdd,
  encodeExternalInit,
  encodeGroupContextExtensions,
  encodePSK,
  encodeReinit,
  encodeRemove,
  encodeUpdate,
} from 'ts-mls/proposal.js'
import { decodeRatchetTree, encodeRatchetTree } from 'ts-mls/ratchetTree.js'
import { assertBytes, fromHex } from '../harness.ts'

interface MessagesVector {
  mls_welcome: string
  mls_group_info: string
  mls_key_package: string
  ratchet_tree: string
  group_secrets: string
  add_proposal: string
  update_proposal: string
  remove_proposal: string
  pre_shared_key_proposal: string
  re_init_proposal: string
  external_init_proposal: string
  group_context_extensions_proposal: string
  commit: string
  public_message_application: string
  public_message_proposal: string
  public_message_commit: string
  private_message: string
}

function decodeExactly<T>(decode: Decoder<T>, hex: string, field: string): T {
  const bytes = fromHex(hex)
  const decoded = decode(bytes, 0)
  assert.ok(decoded !== undefined, `${field} decodes`)
  assert.equal(decoded[1], bytes.length, `${field} is consumed exactly`)
  return decoded[0]
}

function roundTrip<T>(decode: Decoder<T>, encode: Encoder<T>, hex: string, field: string): T {
  const value = decodeExactly(decode, hex, field)
  assertBytes(encode(value), hex, `${field} re-encodes to the same bytes`)
  return value
}

function roundTripMessage(hex: string, field: string): MLSMessage {
  const message = roundTrip(decodeMlsMessage, encodeMlsMessage, hex, field)
  assert.equal(message.version, 'mls10', `${field} version`)
  return message
}

function contentTypeOf(message: MLSMessage, field: string): string {
  assert.equal(message.wireformat, 'mls_public_message', `${field} wire format`)
  return message.wireformat === 'mls_public_message' ? message.publicMessage.content.contentType : ''
}

export function runMessages(v: MessagesVector): void {
  assert.equal(roundTripMessage(v.mls_welcome, 'mls_welcome').wireformat, 'mls_welcome')
  assert.equal(roundTripMessage(v.mls_group_info, 'mls_group_info').wireformat, 'mls_group_info')
  assert.equal(roundTripMessage(v.mls_key_package, 'mls_key_package').wireformat, 'mls_key_package')

  roundTrip(decodeRatchetTree, encodeRatchetTree, v.ratchet_tree, 'ratchet_tree')
  roundTrip(decodeGroupSecrets, encodeGroupSecrets, v.group_secrets, 'group_secrets')

  roundTrip(decodeAdd, encodeAdd, v.add_proposal, 'add_proposal')
  roundTrip(decodeUpdate, encodeUpdate, v.update_proposal, 'update_proposal')
  roundTrip(decodeRemove, encodeRemove, v.remove_proposal, 'remove_proposal')
  roundTrip(decodePSK, encodePSK, v.pre_shared_key_proposal, 'pre_shared_key_proposal')
  roundTrip(decodeReinit, encodeReinit, v.re_init_proposal, 're_init_proposal')
  roundTrip(decodeExternalInit, encodeExternalInit, v.external_init_proposal, 'external_init_proposal')
  roundTrip(
    decodeGroupContextExtensions,
    encodeGroupContextExtensions,
    v.group_context_extensions_proposal,
    'group_context_extensions_proposal',
  )
  roundTrip(decodeCommit, encodeCommit, v.commit, 'commit')

  const app = roundTripMessage(v.public_message_application, 'public_message_application')
  assert.equal(contentTypeOf(app, 'public_message_application'), 'application')
  const proposal = roundTripMessage(v.public_message_proposal, 'public_message_proposal')
  assert.equal(contentTypeOf(proposal, 'public_message_proposal'), 'proposal')
  const commit = roundTripMessage(v.public_message_commit, 'public_message_commit')
  assert.equal(contentTypeOf(commit, 'public_message_commit'), 'commit')
  assert.equal(roundTripMessage(v.private_message, 'private_message').wireformat, 'mls_private_message')
}
