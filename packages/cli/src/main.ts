/**
 * The `tacit` process: wires runCli to this process's streams, environment and signals. Ctrl-C
 * (or SIGTERM) asks the running command to stop cleanly; a second one, or a command that does not
 * stop within `FORCED_EXIT_MS`, ends the process with exit code 130.
 */
import { runCli } from './cli.ts'
import { EXIT_CODES } from './errors.ts'
import { sdkClientFactory } from './sdk-binding.ts'

const FORCED_EXIT_MS = 3000

const controller = new AbortController()
let interrupts = 0
const onSignal = () => {
  interrupts++
  if (interrupts > 1) process.exit(EXIT_CODES.interrupted)
  controller.abort()
  setTimeout(() => process.exit(EXIT_CODES.interrupted), FORCED_EXIT_MS).unref()
}
process.on('SIGINT', onSignal)
process.on('SIGTERM', onSignal)
// A reader that went away (`tacit read --follow | head`) is not an error of ours.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(EXIT_CODES.ok)
})

const code = await runCli({
  argv: process.argv.slice(2),
  env: process.env,
  io: { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr },
  factory: sdkClientFactory,
  signal: controller.signal,
})
// Flush stdout before leaving: a pipe may still hold the JSON result.
await new Promise<void>((resolve) => process.stdout.write('', () => resolve()))
process.exit(code)
