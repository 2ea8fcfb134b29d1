/**
 * The terminal side of `tacit chat`: a readline prompt that keeps what you are typing while
 * messages arrive. An incoming line clears the prompt line, prints itself, and redraws the prompt
 * with your unfinished input and cursor (`rl.prompt(true)`), so nothing you typed is lost or
 * garbled. Typing indicators of others live in the prompt itself (`[bob is typing] > `).
 *
 * Without a terminal (input from a pipe) the same class reads lines and prints incoming lines as
 * they come, with no prompt and no cursor movement.
 */
import { clearLine, createInterface, cursorTo, type Interface } from 'node:readline'
import type { Readable, Writable } from 'node:stream'
import { MAX_CHAT_LINE_BYTES, MAX_TYPING_MEMBERS } from '../limits.ts'

export interface ChatScreenOptions {
  readonly input: Readable
  readonly output: Writable
  readonly terminal: boolean
  readonly prompt: string
}

export class ChatScreen {
  readonly #rl: Interface
  readonly #output: Writable
  readonly #terminal: boolean
  readonly #basePrompt: string
  readonly #typing = new Set<string>()
  #closed = false
  readonly closed: Promise<void>

  constructor(options: ChatScreenOptions) {
    this.#output = options.output
    this.#terminal = options.terminal
    this.#basePrompt = options.prompt
    this.#rl = createInterface({
      input: options.input,
      output: options.terminal ? options.output : undefined,
      terminal: options.terminal,
      prompt: options.prompt,
      historySize: 100,
    })
    // In raw mode Ctrl-C reaches readline, not the process: without this it would only pause.
    this.#rl.on('SIGINT', () => this.close())
    this.closed = new Promise((resolve) =>
      this.#rl.once('close', () => {
        this.#closed = true
        resolve()
      }),
    )
  }

  /** Each complete line typed (Enter). Lines over the limit are refused with a note. */
  onLine(listener: (line: string) => void): void {
    this.#rl.on('line', (line: string) => {
      if (Buffer.byteLength(line, 'utf8') > MAX_CHAT_LINE_BYTES) {
        this.print(`! line longer than ${MAX_CHAT_LINE_BYTES} bytes not sent (use tacit file send)`)
        return
      }
      listener(line)
      this.#showPrompt()
    })
  }

  /** Any keystroke or input bytes, for typing indicators. */
  onInput(listener: () => void, input: Readable): void {
    input.on('data', () => listener())
  }

  start(): void {
    this.#showPrompt()
  }

  /** Prints a line above the prompt, keeping the user's unfinished input. */
  print(line: string): void {
    if (this.#closed) return
    if (!this.#terminal) {
      this.#output.write(`${line}\n`)
      return
    }
    clearLine(this.#output, 0)
    cursorTo(this.#output, 0)
    this.#output.write(`${line}\n`)
    this.#rl.prompt(true)
  }

  /** Marks `who` typing or not; shown in the prompt on a terminal, as a line otherwise. */
  setTyping(who: string, typing: boolean): void {
    const had = this.#typing.has(who)
    if (typing === had) return
    if (typing) {
      if (this.#typing.size >= MAX_TYPING_MEMBERS) return
      this.#typing.add(who)
    } else this.#typing.delete(who)
    if (!this.#terminal) {
      if (typing) this.print(`* ${who} is typing`)
      return
    }
    this.#rl.setPrompt(this.#promptText())
    if (!this.#closed) {
      clearLine(this.#output, 0)
      cursorTo(this.#output, 0)
      this.#rl.prompt(true)
    }
  }

  get isTerminal(): boolean {
    return this.#terminal
  }

  /** What the user has typed but not sent. */
  get pendingInput(): string {
    return this.#rl.line
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#rl.close()
  }

  #promptText(): string {
    if (this.#typing.size === 0) return this.#basePrompt
    const names = [...this.#typing]
    const who = names.length <= 2 ? names.join(' and ') : `${names.length} people`
    return `[${who} ${names.length === 1 ? 'is' : 'are'} typing] ${this.#basePrompt}`
  }

  #showPrompt(): void {
    if (this.#terminal && !this.#closed) this.#rl.prompt(true)
  }
}
