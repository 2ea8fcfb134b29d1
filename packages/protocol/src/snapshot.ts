/**
 * Versioned snapshots of a group's state, for the client's encrypted store. A snapshot holds the
 * group's secrets: it is sealed by the store before it touches disk, never logged, never sent.
 *
 *   struct {
 *     opaque magic[4] = "TGS1";
 *     uint16 cipher_suite;            // RFC 9420 §17.1 value of the group's suite
 *     opaque state<0..2^32-1>;        // ts-mls 1.6.4 GroupState encoding
 *   } GroupSnapshotV1;
 *
 * Every version ever written must keep loading: `test/fixtures/` holds a snapshot from each
 * version, and a test restores it and decrypts a message recorded with it.
 */
import { decodeGroupState, encodeGroupState } from 'ts-mls'
import { Reader, Writer } from './codec.ts'
import { ProtocolError } from './errors.ts'
import { clientConfigFor, type Group, type GroupConfig } from './group.ts'
import { MAX_SNAPSHOT_BYTES } from './limits.ts'

const MAGIC_V1 = new Uint8Array([0x54, 0x47, 0x53, 0x31]) // "TGS1"

export function snapshotGroup(group: Group, config: GroupConfig): Uint8Array {
  const { clientConfig: _config, ...groupState } = group.state
  return new Writer().fixed(MAGIC_V1).u16(config.suite.id).vec32(encodeGroupState(groupState)).finish()
}

export function restoreGroup(bytes: Uint8Array, config: GroupConfig): Group {
  if (bytes.length > MAX_SNAPSHOT_BYTES) throw new ProtocolError('too-large', 'snapshot above its size limit')
  const r = new Reader(bytes, 'snapshot')
  const magic = r.fixed(4)
  if (!magic.every((b, i) => b === MAGIC_V1[i])) {
    throw new ProtocolError('unsupported-snapshot', 'not a group snapshot of a known version')
  }
  const suiteId = r.u16()
  if (suiteId !== config.suite.id)
    throw new ProtocolError('unsupported-suite', 'snapshot is for another cipher suite')
  const encoded = r.vec32(MAX_SNAPSHOT_BYTES)
  r.end()
  let decoded: ReturnType<typeof decodeGroupState>
  try {
    decoded = decodeGroupState(encoded, 0)
  } catch (cause) {
    throw new ProtocolError('malformed', 'snapshot state does not decode', { cause })
  }
  if (!decoded || decoded[1] !== encoded.length)
    throw new ProtocolError('malformed', 'snapshot state does not decode')
  return Object.freeze({ state: { ...decoded[0], clientConfig: clientConfigFor(config.auth) } })
}
