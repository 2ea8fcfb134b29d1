/** `tacit file send|get`: files of any size, encrypted in chunks on the way out, checked on the way in. */
import { stat } from 'node:fs/promises'
import { basename, resolve } from 'node:path'
import { type CommandGroup, type CommandSpec, optionString } from '../command.ts'
import { describeConversation, resolveConversation } from '../conversations.ts'
import { CliError, usageError } from '../errors.ts'
import { createProgressBar, formatBytes } from '../ui/progress-bar.ts'

const MAX_FILE_NAME_BYTES = 255

const send: CommandSpec = {
  name: 'file send',
  summary: 'send a file to a conversation',
  description:
    'Encrypts the file in 64 KiB chunks under a fresh key as it is read (constant memory at any\n' +
    'size), uploads the ciphertext padded to a size bucket (resumable), and sends the key, digest,\n' +
    'name and size inside an encrypted message. A progress bar is drawn on stderr.',
  options: {
    name: {
      type: 'string',
      valueName: 'name',
      description: 'file name shown to others (default: the base name)',
    },
  },
  positionals: [
    { name: 'conversation', description: 'id, name, or handle of the other person', identifier: true },
    { name: 'path', description: 'the file to send' },
  ],
  examples: [
    'tacit file send bob ./report.pdf',
    'tacit file send team-chat ./photo.jpg --name holiday.jpg --json',
  ],
  async run(ctx) {
    const [ref, path] = ctx.positionals
    const source = resolve(path!)
    const info = await stat(source).catch((error: unknown) => {
      throw new CliError(
        (error as { code?: string }).code === 'ENOENT' ? 'not-found' : 'io',
        `cannot read ${path}`,
      )
    })
    if (!info.isFile()) throw usageError(`${path} is not a regular file`)
    const name = optionString(ctx, 'name') ?? basename(source)
    if (name.length === 0 || Buffer.byteLength(name, 'utf8') > MAX_FILE_NAME_BYTES || /[/\\\0]/.test(name)) {
      throw usageError(`--name must be 1–${MAX_FILE_NAME_BYTES} bytes without / \\ or NUL`)
    }
    const client = await ctx.session.client()
    const c = await resolveConversation(client, ref!, { createDirect: true })
    const bar = createProgressBar(ctx.out.streams.stderr, `sending ${name}`, { enabled: !ctx.out.json })
    let sent: { id: string; size: number; resumedFrom: number }
    try {
      sent = await client.sendFile(c.id, source, {
        name,
        onProgress: (d, t) => bar.update(d, t),
        signal: ctx.signal,
      })
    } finally {
      bar.stop()
    }
    ctx.out.result(
      {
        conversation: c.id,
        message: { id: sent.id },
        file: { name, size: sent.size, resumedFrom: sent.resumedFrom },
      },
      () =>
        `sent ${name} (${formatBytes(sent.size)}) as ${sent.id.slice(0, 8)} to ${describeConversation(c)}`,
    )
  },
}

const get: CommandSpec = {
  name: 'file get',
  summary: 'download, decrypt and check a file someone sent',
  description:
    'Downloads the file of a message (resumable), decrypts and checks every chunk and the whole\n' +
    'digest, and only then moves it to the output path: a tampered or cut file never appears\n' +
    'there. Refuses to overwrite an existing file. The message id is shown by `tacit read`.',
  options: {
    output: {
      type: 'string',
      short: 'o',
      valueName: 'path',
      description: 'where to write it (default: the sender’s file name, in the current folder)',
    },
  },
  positionals: [
    { name: 'conversation', description: 'id, name, or handle of the other person', identifier: true },
    { name: 'message-id', description: 'the id (or its first 8+ characters) of the file message' },
  ],
  examples: [
    'tacit file get bob 9c1e04aa',
    'tacit file get team-chat 9c1e04aa -o ~/Downloads/report.pdf --json',
  ],
  async run(ctx) {
    const [ref, messageRef] = ctx.positionals
    const client = await ctx.session.client()
    await client.sync()
    const c = await resolveConversation(client, ref!, { createDirect: false })
    const history = await client.history(c.id, 10_000)
    const matches = history.filter((m) => m.file && (m.id === messageRef || m.id.startsWith(messageRef!)))
    if (matches.length === 0)
      throw new CliError('not-found', `no file message ${messageRef} in this conversation`)
    if (matches.length > 1)
      throw usageError(`${messageRef} matches ${matches.length} messages: give more of the id`)
    const message = matches[0]!
    const fileName = safeFileName(message.file!.name)
    const destination = resolve(optionString(ctx, 'output') ?? fileName)
    const exists = await stat(destination).then(
      () => true,
      () => false,
    )
    if (exists) throw new CliError('conflict', `${destination} exists: choose another --output`)
    const bar = createProgressBar(ctx.out.streams.stderr, `receiving ${fileName}`, { enabled: !ctx.out.json })
    let got: { path: string; size: number; name: string }
    try {
      got = await client.getFile(c.id, message.id, destination, {
        onProgress: (d, t) => bar.update(d, t),
        signal: ctx.signal,
      })
    } finally {
      bar.stop()
    }
    ctx.out.result(
      {
        conversation: c.id,
        message: { id: message.id },
        file: { name: got.name, size: got.size, path: got.path },
      },
      () => `saved ${got.path} (${formatBytes(got.size)}, verified)`,
    )
  },
}

/** The sender chooses the name: keep only a plain base name, so it cannot point outside the folder. */
export function safeFileName(name: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
  const base = basename(name.replace(/\\/g, '/')).replace(/[\u0000-\u001f\u007f]/g, '_')
  if (base === '' || base === '.' || base === '..') return 'received-file'
  return base.startsWith('.') ? `_${base.slice(1)}` : base
}

export const fileCommands: CommandGroup = {
  name: 'file',
  summary: 'send and receive files (end-to-end encrypted, any size)',
  subcommands: [send, get],
}
