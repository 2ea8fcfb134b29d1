// RFC 9420 §8.4: psk_secret from a list of external PSKs.

import type { PreSharedKeyID } from 'ts-mls/presharedkey.js'
import { computePskSecret } from 'ts-mls/presharedkey.js'
import { assertBytes, fromHex } from '../harness.ts'
import { loadSuite } from '../suite-source.ts'

export interface PskSecretVector {
  cipher_suite: number
  psks: { psk_id: string; psk: string; psk_nonce: string }[]
  psk_secret: string
}

export async function runPskSecret(v: PskSecretVector): Promise<void> {
  const cs = await loadSuite(v.cipher_suite)
  const psks = v.psks.map((p): [PreSharedKeyID, Uint8Array] => [
    { psktype: 'external', pskId: fromHex(p.psk_id), pskNonce: fromHex(p.psk_nonce) },
    fromHex(p.psk),
  ])
  assertBytes(await computePskSecret(psks, cs), v.psk_secret, 'psk_secret')
}
