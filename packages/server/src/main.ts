/**
 * `npm start`: runs the delivery server until SIGTERM or SIGINT, then shuts down gracefully.
 * Prints one machine-readable line on stdout once listening:
 *   {"event":"listening","host":"127.0.0.1","port":8080,"url":"http://127.0.0.1:8080"}
 * Exit codes: 0 after a clean shutdown, 1 when the server cannot start, 2 for bad flags.
 */
import { ConfigError, parseConfig } from './config.ts'
import { startServer } from './server.ts'

async function main(): Promise<void> {
  let config: ReturnType<typeof parseConfig>
  try {
    config = parseConfig(process.argv.slice(2), process.env)
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`)
      process.exit(error.message.startsWith('Usage:') ? 0 : 2)
    }
    throw error
  }
  let server: Awaited<ReturnType<typeof startServer>>
  try {
    server = await startServer(config)
  } catch (error) {
    // The cause may name a path or a URL with a password: print the class and our message only.
    const name = error instanceof Error ? error.name : 'Error'
    const message =
      error instanceof Error && error.name !== 'Error' ? error.message.split('\n')[0] : 'see the logs'
    process.stderr.write(`cannot start the server: ${name}: ${message}\n`)
    process.exit(1)
  }
  process.stdout.write(
    `${JSON.stringify({ event: 'listening', host: config.host, port: server.port, url: server.url })}\n`,
  )
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    process.stdout.write(`${JSON.stringify({ event: 'stopping', signal })}\n`)
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

void main()
