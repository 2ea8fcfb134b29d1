/**
 * What the call tests need beyond the web tests' support: Debian's Chromium with a fake camera and
 * microphone (DESIGN.md §8 flags), reading a call's WebRTC and SFrame counters from a page, and a
 * real coturn `turnserver` on loopback with its own configuration.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { type LaunchedChromium, launchChromium, SETUP_TIMEOUT_MS } from '../../browser/launch-chromium.ts'
import { REPO_ROOT } from '../../browser/paths.ts'

/** Fake capture devices, permission without a prompt, loopback ICE candidates. */
const CALL_MEDIA_ARGS: readonly string[] = [
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--autoplay-policy=no-user-gesture-required',
]

export async function launchCallChromium(timeoutMs: number): Promise<LaunchedChromium> {
  return await launchChromium(timeoutMs, CALL_MEDIA_ARGS)
}

/** Defines the app's call test hooks (packages/web/src/calls/test-hooks.ts) before it loads. */
export const INSTALL_CALL_HOOKS = 'globalThis.__tacitCallTestHooks = {}'

/** Sets one hook in a page. */
export async function setCallHook(page: Page, name: string, value: unknown): Promise<void> {
  await page.evaluate(`globalThis.__tacitCallTestHooks[${JSON.stringify(name)}] = ${JSON.stringify(value)}`)
}

export interface InboundStats {
  readonly packetsReceived: number
  readonly bytesReceived: number
  readonly framesDecoded: number
  readonly totalSamplesReceived: number
  readonly concealedSamples: number
  readonly totalAudioEnergy: number
  readonly mimeType: string
}

/** The inbound RTP stream of `kind` of the page's current (or last) call, or null. */
export async function inboundStats(page: Page, kind: 'audio' | 'video'): Promise<InboundStats | null> {
  // A string, not a function: tsx would wrap inner functions in helpers the page does not have.
  return page.evaluate(`(async () => {
    const h = globalThis.__tacitCallTestHooks
    const pc = h && (h.peerConnection || h.lastPeerConnection)
    if (!pc) return null
    const stats = await pc.getStats()
    let out = null
    stats.forEach((s) => {
      if (s.type !== 'inbound-rtp' || s.kind !== ${JSON.stringify(kind)}) return
      const codec = s.codecId ? stats.get(s.codecId) : undefined
      out = {
        packetsReceived: s.packetsReceived || 0,
        bytesReceived: s.bytesReceived || 0,
        framesDecoded: s.framesDecoded || 0,
        totalSamplesReceived: s.totalSamplesReceived || 0,
        concealedSamples: s.concealedSamples || 0,
        totalAudioEnergy: s.totalAudioEnergy || 0,
        mimeType: codec ? codec.mimeType : '',
      }
    })
    return out
  })()`)
}

/** The local candidate type of the selected ICE pair ('host', 'srflx', 'relay'), or null. */
export async function selectedCandidateType(page: Page): Promise<string | null> {
  return page.evaluate(`(async () => {
    const pc = globalThis.__tacitCallTestHooks && globalThis.__tacitCallTestHooks.peerConnection
    if (!pc) return null
    const stats = await pc.getStats()
    let pairId = null
    stats.forEach((s) => { if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId })
    const pair = pairId ? stats.get(pairId) : undefined
    const local = pair ? stats.get(pair.localCandidateId) : undefined
    const remote = pair ? stats.get(pair.remoteCandidateId) : undefined
    return local && remote ? local.candidateType + '/' + remote.candidateType : null
  })()`)
}

export interface SframeCounters {
  readonly encrypted: number
  readonly decrypted: number
  readonly dropped: number
}

export async function sframeCounters(page: Page): Promise<SframeCounters | null> {
  return page.evaluate(`(async () => {
    const h = globalThis.__tacitCallTestHooks
    return h && h.mediaStats ? await h.mediaStats() : null
  })()`)
}

/** Brightness of the remote video drawn on a canvas: the largest and the mean R+G+B of its pixels. */
export async function remoteVideoBrightness(page: Page): Promise<{ max: number; mean: number } | null> {
  return page.evaluate(`(() => {
    const v = document.querySelector('video.tc-call-remote')
    if (!v || v.videoWidth === 0 || v.videoHeight === 0) return null
    const c = document.createElement('canvas')
    c.width = v.videoWidth
    c.height = v.videoHeight
    const g = c.getContext('2d')
    g.drawImage(v, 0, 0)
    const d = g.getImageData(0, 0, c.width, c.height).data
    let max = 0
    let sum = 0
    for (let i = 0; i < d.length; i += 4) {
      const l = d[i] + d[i + 1] + d[i + 2]
      sum += l
      if (l > max) max = l
    }
    return { max, mean: sum / (d.length / 4) }
  })()`)
}

/**
 * Polls `read` until `ok` holds (every `everyMs`), failing after `guardMs`: the guard only bounds a
 * hang, it is not a timing assertion.
 */
export async function until<T>(
  what: string,
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  guardMs: number,
  everyMs = 250,
): Promise<T> {
  const end = Date.now() + guardMs
  let last: T | undefined
  for (;;) {
    last = await read()
    if (ok(last)) return last
    if (Date.now() > end)
      throw new Error(`${what}: not reached within ${guardMs} ms (last: ${JSON.stringify(last)})`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

/** How much `read` grows over `windowMs` (two samples). */
export async function growth(read: () => Promise<number>, windowMs: number): Promise<number> {
  const a = await read()
  await new Promise((r) => setTimeout(r, windowMs))
  return (await read()) - a
}

// ---------------------------------------------------------------------------------------------
// coturn

export const TURNSERVER = '/usr/bin/turnserver'

export function turnserverInstalled(): boolean {
  try {
    accessSync(TURNSERVER, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/**
 * True if coturn's turnserver is there, after running scripts/setup-machine.sh (which apt-installs
 * Debian's coturn when run as root) if it was not.
 */
export function ensureTurnserver(): boolean {
  if (turnserverInstalled()) return true
  spawnSync('bash', [join(REPO_ROOT, 'scripts', 'setup-machine.sh')], {
    encoding: 'utf8',
    timeout: SETUP_TIMEOUT_MS,
  })
  return turnserverInstalled()
}

async function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const address = s.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      s.close(() => resolve(port))
    })
  })
}

async function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket()
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1000, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
    socket.connect(port, '127.0.0.1')
  })
}

export interface TurnServer {
  readonly url: string
  readonly secretFile: string
  /** What turnserver logged (for a failure message). */
  log(): string
  stop(): Promise<void>
}

/**
 * A coturn `turnserver` on 127.0.0.1 with the REST-API shared secret (`use-auth-secret`), no TLS,
 * no CLI, loopback peers allowed (both browsers are on this machine), its database, pid and log
 * files in a temporary folder. Nothing of the system's /etc/turnserver.conf is read (`-c`).
 */
export async function startTurnServer(secret: string, guardMs: number): Promise<TurnServer> {
  const dir = mkdtempSync(join(tmpdir(), 'tacit-turn-'))
  const secretFile = join(dir, 'turn-secret')
  const { writeFileSync } = await import('node:fs')
  writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 })
  writeFileSync(join(dir, 'turnserver.conf'), '# empty: everything is on the command line\n')
  const port = await freeTcpPort()
  // A relay range of its own, above the listening port's neighbourhood.
  const minPort = 49152 + (port % 8000)
  const logFile = join(dir, 'turn.log')
  const child: ChildProcess = spawn(
    TURNSERVER,
    [
      '-c',
      join(dir, 'turnserver.conf'),
      '-n',
      '--listening-ip=127.0.0.1',
      '--relay-ip=127.0.0.1',
      `--listening-port=${port}`,
      `--min-port=${minPort}`,
      `--max-port=${minPort + 200}`,
      '--use-auth-secret',
      `--static-auth-secret=${secret}`,
      '--realm=tacit.test',
      '--no-tls',
      '--no-dtls',
      '--no-cli',
      '--allow-loopback-peers',
      '--no-multicast-peers',
      `--userdb=${join(dir, 'turndb')}`,
      `--pidfile=${join(dir, 'turnserver.pid')}`,
      `--log-file=${logFile}`,
      '--simple-log',
      '--verbose',
    ],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  )
  const log = () => {
    try {
      return readFileSync(logFile, 'utf8').slice(-8000)
    } catch {
      return ''
    }
  }
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    }
    rmSync(dir, { recursive: true, force: true })
  }
  await until(
    'turnserver listening',
    () => tcpOpen(port),
    (ok) => ok || child.exitCode !== null,
    guardMs,
  ).catch(async (error) => {
    const text = log()
    await stop()
    throw new Error(`${String(error)}\n${text}`)
  })
  if (child.exitCode !== null) {
    const text = log()
    await stop()
    throw new Error(`turnserver exited with ${child.exitCode}: ${text}`)
  }
  return { url: `turn:127.0.0.1:${port}?transport=udp`, secretFile, log, stop }
}
