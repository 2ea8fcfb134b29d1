/**
 * Where a command's results go. Human mode writes text to stdout; `--json` mode writes exactly one
 * JSON document per command on stdout (`result`), or one JSON object per line for streams
 * (`event`). Notes and progress go to stderr in both modes, so stdout stays parseable.
 */
import type { Writable } from 'node:stream'

export interface OutputStreams {
  readonly stdout: Writable & { isTTY?: boolean }
  readonly stderr: Writable & { isTTY?: boolean; columns?: number }
}

export class Output {
  readonly json: boolean
  readonly streams: OutputStreams
  #resultWritten = false

  constructor(json: boolean, streams: OutputStreams) {
    this.json = json
    this.streams = streams
  }

  /** The command's one result: `doc` in --json mode, `human()` otherwise. */
  result(doc: unknown, human: () => string): void {
    if (this.json) {
      if (this.#resultWritten) throw new Error('a command writes one JSON result')
      this.#resultWritten = true
      this.streams.stdout.write(`${JSON.stringify(doc, jsonReplacer)}\n`)
      return
    }
    const text = human()
    if (text.length > 0) this.streams.stdout.write(text.endsWith('\n') ? text : `${text}\n`)
  }

  /** One item of a stream: a JSON line in --json mode, a text line otherwise. */
  event(doc: unknown, human: () => string): void {
    if (this.json) this.streams.stdout.write(`${JSON.stringify(doc, jsonReplacer)}\n`)
    else this.streams.stdout.write(`${human()}\n`)
  }

  /** A note for the person at the terminal (stderr; also in --json mode, where it is not parsed). */
  note(text: string): void {
    this.streams.stderr.write(`${text}\n`)
  }
}

/** Bytes print as lowercase hex, bigints as decimal strings: JSON has neither. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex')
  if (typeof value === 'bigint') return value.toString()
  return value
}
