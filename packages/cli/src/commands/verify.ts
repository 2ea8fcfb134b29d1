/**
 * `tacit verify <handle>`: the safety number and verification code of you and a contact, to
 * compare in person (docs/protocol/verification.md); `--mark` records that you compared them,
 * `--scan CODE` checks the code the other person shows and marks them verified if it matches.
 */
import { nodeBackend } from '@tacit/crypto/node/backend'
import { checkScannedVerificationCode, createVerificationCode } from '@tacit/protocol/verification/qr-payload'
import { computeSafetyNumber } from '@tacit/protocol/verification/safety-number'
import { type CommandSpec, optionFlag, optionString } from '../command.ts'
import { checkHandles } from '../conversations.ts'
import { notAvailable, usageError } from '../errors.ts'
import { renderQr } from '../ui/qr.ts'

/** A verification code is 69 bytes; as hex, 138 characters. Anything far longer is not one. */
const MAX_SCAN_CHARS = 1024

export const verifyCommand: CommandSpec = {
  name: 'verify',
  summary: 'show the safety number and QR code for you and a contact; mark them verified',
  description:
    'Compare the 60-digit safety number with the one your contact sees (in person, or over a\n' +
    'channel you trust). If they match, nobody has put their own key between you: run again\n' +
    'with --mark. Alternatively, your contact runs `tacit verify YOU` and you pass the code they\n' +
    'show to --scan. Once verified, a change of their identity key raises an alert.',
  options: {
    mark: { type: 'boolean', description: 'record that you compared the safety number and it matched' },
    scan: {
      type: 'string',
      valueName: 'code',
      description: 'check the verification code your contact shows',
    },
  },
  positionals: [{ name: 'handle', description: 'the contact' }],
  examples: ['tacit verify bob', 'tacit verify bob --mark', 'tacit verify bob --scan 5441435601… --json'],
  async run(ctx) {
    const [handle] = checkHandles(ctx.positionals, 1)
    const scan = optionString(ctx, 'scan')
    if (scan !== undefined && (scan.length > MAX_SCAN_CHARS || !/^([0-9a-fA-F]{2})+$/.test(scan))) {
      throw usageError('--scan takes the verification code as hex, as `tacit verify` prints it')
    }
    const client = await ctx.session.client()
    if (handle === client.account.handle) throw usageError('that is you: verify a contact')
    const contact = await client.contactIdentity(handle!)
    const ownKey = client.account.identityKey
    if (ownKey === undefined) throw notAvailable('verification (the SDK does not expose identity keys)')
    const own = { handle: client.account.handle, identityKey: ownKey }
    const peer = { handle: contact.handle, identityKey: contact.identityKey }
    const safety = await computeSafetyNumber(nodeBackend, own, peer)
    const code = await createVerificationCode(nodeBackend, { own, peer })
    let verified = contact.verified
    if (scan !== undefined) {
      // Throws a VerificationError (exit code 4) unless both fingerprints match.
      await checkScannedVerificationCode(nodeBackend, { own, peer }, Buffer.from(scan, 'hex'))
    }
    if ((optionFlag(ctx, 'mark') || scan !== undefined) && !verified) {
      await client.markVerified(handle!)
      verified = true
    }
    const codeHex = Buffer.from(code).toString('hex')
    ctx.out.result(
      {
        handle,
        safetyNumber: safety.digits,
        groups: safety.groups,
        verificationCode: codeHex,
        verified,
        ...(scan !== undefined ? { scanned: 'match' } : {}),
      },
      () => {
        const rows = [0, 4, 8].map((i) => `    ${safety.groups.slice(i, i + 4).join(' ')}`)
        const qr = renderQr(code)
        return [
          `Safety number for you and ${handle}:`,
          '',
          ...rows,
          '',
          qr ??
            `Verification code (no QR renderer in this build; compare or pass to --scan):\n    ${codeHex}`,
          '',
          scan !== undefined ? `The code ${handle} shows matches.` : '',
          verified
            ? `${handle} is verified.`
            : `${handle} is not verified. If the numbers match, run: tacit verify ${handle} --mark`,
        ]
          .filter((line, i, all) => line !== '' || all[i - 1] !== '')
          .join('\n')
      },
    )
  },
}
