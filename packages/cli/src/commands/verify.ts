/**
 * `tacit verify <handle>`: the safety number and verification code of you and a contact, to
 * compare in person (docs/protocol/verification.md); `--mark` records that you compared them,
 * `--scan CODE` checks the code (or the 60 digits) the other person shows and marks them
 * verified only if it matches (exit code 4 otherwise, and nothing is marked).
 */
import { type CommandSpec, optionFlag, optionString } from '../command.ts'
import { checkHandles } from '../conversations.ts'
import { usageError } from '../errors.ts'
import { renderQr } from '../ui/qr.ts'

/** A verification code is 69 bytes; as hex, 138 characters. Anything far longer is not one. */
const MAX_SCAN_CHARS = 1024

export const verifyCommand: CommandSpec = {
  name: 'verify',
  summary: 'show the safety number and QR code for you and a contact; mark them verified',
  description:
    'Compare the 60-digit safety number with the one your contact sees (in person, or over a\n' +
    'channel you trust). If they match, nobody has put their own key between you: run again\n' +
    'with --mark. Or: your contact runs `tacit verify YOU` and you pass the code (or the digits)\n' +
    'they show to --scan. Once verified, a change of their identity key or devices raises an alert.',
  options: {
    mark: { type: 'boolean', description: 'record that you compared the safety number and it matched' },
    scan: {
      type: 'string',
      valueName: 'code',
      description: 'check the verification code (hex) or the 60 digits your contact shows',
    },
  },
  positionals: [{ name: 'handle', description: 'the contact' }],
  examples: [
    'tacit verify bob',
    'tacit verify bob --mark',
    'tacit verify bob --scan 5441435601… --json',
    'tacit verify bob --scan "12345 67890 …"',
  ],
  async run(ctx) {
    const [handle] = checkHandles(ctx.positionals, 1)
    const scan = optionString(ctx, 'scan')?.replace(/\s+/g, '')
    if (scan !== undefined && (scan.length > MAX_SCAN_CHARS || !/^(\d{60}|([0-9a-fA-F]{2})+)$/.test(scan))) {
      throw usageError(
        '--scan takes the verification code in hex, or the 60 digits, as `tacit verify` prints them',
      )
    }
    const client = await ctx.session.client()
    if (handle === client.account.handle) throw usageError('that is you: verify a contact')
    const safety = await client.safetyNumber(handle!)
    // Throws (exit code 4) unless what the contact shows matches the keys held here.
    if (scan !== undefined) await client.verifyContact(handle!, scan)
    else if (optionFlag(ctx, 'mark')) await client.markVerified(handle!)
    const verified = await client.isVerified(handle!)
    ctx.out.result(
      {
        handle,
        safetyNumber: safety.digits,
        groups: safety.groups,
        verificationCode: safety.qrText,
        verified,
        ...(scan !== undefined ? { scanned: 'match' } : {}),
      },
      () => {
        const rows = [0, 4, 8].map((i) => `    ${safety.groups.slice(i, i + 4).join(' ')}`)
        const qr = renderQr(safety.qrPayload)
        return [
          `Safety number for you and ${handle}:`,
          '',
          ...rows,
          '',
          `Scan this with ${handle}'s device (or compare the numbers above):`,
          qr,
          `Verification code (for --scan on the other side):\n    ${safety.qrText}`,
          '',
          scan !== undefined ? `What ${handle} shows matches.` : '',
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
