/**
 * npm run bench:protocol [-- --json] [-- --quick]
 *
 * For both Tacit suites, in the same run, Tacit against ts-mls 1.6.4 as a project would use it
 * out of the box:
 * - 1 KiB application messages encrypted and decrypted per second, groups of 2 and 100: our
 *   `encryptMessage` / `processMessage` (our provider, our message path, decision 0010) against
 *   the library's `createApplicationMessage` + `encodeMlsMessage` and `decodeMlsMessage` +
 *   `processMessage` on its default provider, the two interleaved so that they share the load;
 * - time to create and to process a commit (a self-update with a path) at 10, 100, 1,000 members,
 *   and KeyPackages generated per second: our wrapper (`packages/protocol`, which calls the
 *   library's own commit functions) with our provider, then with the library's default provider;
 * - serialized state per member (snapshot bytes).
 * And, with our provider on both sides, the application-message path itself: ours against
 * ts-mls's createApplicationMessage / processMessage, group of 2, interleaved.
 * Prints tables with ratios; `--json` adds one JSON object on the last line.
 * Every loop is bounded in count and time.
 */
import { loadavg } from 'node:os'
import { nodeBackend } from '@tacit/crypto/node/backend'
import {
  acceptAll,
  type ClientState,
  createApplicationMessage,
  decodeMlsMessage,
  defaultCryptoProvider,
  emptyPskIndex,
  encodeMlsMessage,
  getCiphersuiteImpl,
  processMessage as libraryProcessMessage,
} from 'ts-mls'
import { getCiphersuiteFromName } from 'ts-mls/crypto/ciphersuite.js'
import { createAuthenticationService } from '../packages/protocol/src/authentication.ts'
import {
  type CipherSuite,
  DEFAULT_SUITE,
  getCipherSuite,
  IANA_P384_SUITE,
  type TacitSuiteName,
} from '../packages/protocol/src/cipher-suite.ts'
import {
  generateIdentityKeyPair,
  type IdentityKeyPair,
  issueCredential,
} from '../packages/protocol/src/credential.ts'
import {
  createCommit,
  createGroup,
  encryptMessage,
  type Group,
  type GroupConfig,
  joinGroup,
  processMessage,
} from '../packages/protocol/src/group.ts'
import { createKeyPackage, generateSignatureKeyPair } from '../packages/protocol/src/key-package.ts'
import { standardPolicy } from '../packages/protocol/src/policy.ts'
import { snapshotGroup } from '../packages/protocol/src/snapshot.ts'

const args = new Set(process.argv.slice(2))
const JSON_OUT = args.has('--json')
const QUICK = args.has('--quick')
const SIZES = QUICK ? [10, 100] : [10, 100, 1000]
const MESSAGE = new Uint8Array(1024).fill(0x61)
/** Each throughput loop stops at whichever comes first. */
const MAX_OPS = 20_000
const MAX_MS = QUICK ? 500 : 2_000

type Provider = 'tacit' | 'default'

async function suiteFor(name: TacitSuiteName, provider: Provider): Promise<CipherSuite> {
  const ours = await getCipherSuite(nodeBackend, name)
  if (provider === 'tacit') return ours
  // The baseline: the library's own provider behind the same wrapper, so only the provider differs.
  const impl = await getCiphersuiteImpl(getCiphersuiteFromName(name), defaultCryptoProvider)
  return { ...ours, impl }
}

interface Device {
  config: GroupConfig
  keyPackage(): ReturnType<typeof createKeyPackage>
}

async function makeDevices(suite: CipherSuite, count: number): Promise<Device[]> {
  const directory = new Map<string, Uint8Array>()
  const auth = createAuthenticationService({
    backend: nodeBackend,
    identityOf: (h) => directory.get(h) ?? null,
  })
  const config: GroupConfig = { suite, auth, policy: standardPolicy() }
  const devices: Device[] = []
  for (let i = 0; i < count; i++) {
    const handle = `user${i}`
    const identity: IdentityKeyPair = await generateIdentityKeyPair(nodeBackend)
    directory.set(handle, identity.publicKey)
    const signatureKeyPair = await generateSignatureKeyPair(suite)
    const credential = await issueCredential(nodeBackend, identity, {
      handle,
      deviceId: 'd',
      signatureKey: signatureKeyPair.publicKey,
    })
    devices.push({
      config,
      keyPackage: () =>
        createKeyPackage({
          suite,
          credential,
          signatureKeyPair,
          lastResort: false,
          now: Math.floor(Date.now() / 1000),
        }),
    })
  }
  return devices
}

/** A group of `size` devices; returns the creator's and the second member's states. */
async function buildGroup(
  suite: CipherSuite,
  size: number,
): Promise<{ a: Group; b: Group; config: GroupConfig }> {
  const devices = await makeDevices(suite, size)
  const creator = devices[0]!
  const kp0 = await creator.keyPackage()
  let a = await createGroup({
    config: creator.config,
    keyPackage: kp0.keyPackage,
    privateKeyPackage: kp0.privateKeyPackage,
  })
  const kps = []
  for (const d of devices.slice(1)) kps.push(await d.keyPackage())
  const commit = await createCommit(a, creator.config, { add: kps.map((k) => k.encoded) })
  a = commit.group
  const b = await joinGroup({
    config: creator.config,
    welcome: commit.welcome!,
    keyPackage: kps[0]!.keyPackage,
    privateKeyPackage: kps[0]!.privateKeyPackage,
  })
  return { a, b, config: creator.config }
}

/** A line on stderr per stage: a full run takes minutes on a shared machine. */
function progress(stage: string): void {
  process.stderr.write(`bench:protocol: ${stage}\n`)
}

/** CPU-seconds this process used since `since` (user + system; GC threads included). */
function cpuSecondsSince(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since)
  return (d.user + d.system) / 1e6
}

/**
 * Operations per CPU-second of this process: the targets are per core, and the machine is
 * shared, so wall-clock rates would measure the neighbours.
 */
async function throughput(run: () => Promise<void>): Promise<number> {
  const start = performance.now()
  const cpu = process.cpuUsage()
  let ops = 0
  while (ops < MAX_OPS && performance.now() - start < MAX_MS) {
    await run()
    ops++
  }
  return ops / cpuSecondsSince(cpu)
}

/** Untimed operations before each measured loop, so the JIT has compiled the hot path. */
const WARM_UP_OPS = QUICK ? 200 : 500

/** One sender and one receiver in the same group, with the messages sent and not yet received. */
interface MessagingSide {
  encrypt(): Promise<void>
  decrypt(): Promise<void>
  /** Messages sent and not yet received. */
  pending(): number
}

/** Through our wrapper: our provider and our application-message path (decision 0010). */
async function tacitSide(name: TacitSuiteName, size: number): Promise<MessagingSide> {
  const { a, b, config } = await buildGroup(await suiteFor(name, 'tacit'), size)
  let sender = a
  let receiver = b
  const sent: Uint8Array[] = []
  let next = 0
  return {
    async encrypt() {
      const r = await encryptMessage(sender, config, MESSAGE)
      sender = r.group
      sent.push(r.message)
    },
    async decrypt() {
      receiver = (await processMessage(receiver, config, sent[next++]!)).group
    },
    pending: () => sent.length - next,
  }
}

/**
 * ts-mls 1.6.4's own message functions, with the encoding a messenger needs (an MLSMessage on
 * the wire); on its default provider, that is the library out of the box. The group itself is
 * set up through our wrapper; only the message path is measured.
 */
async function librarySide(name: TacitSuiteName, size: number, provider: Provider): Promise<MessagingSide> {
  const suite = await suiteFor(name, provider)
  const { a, b } = await buildGroup(suite, size)
  const cs = suite.impl
  let sender: ClientState = a.state
  let receiver: ClientState = b.state
  const sent: Uint8Array[] = []
  let next = 0
  return {
    async encrypt() {
      const r = await createApplicationMessage(sender, MESSAGE, cs)
      sender = r.newState
      sent.push(
        encodeMlsMessage({
          version: 'mls10',
          wireformat: 'mls_private_message',
          privateMessage: r.privateMessage,
        }),
      )
    },
    async decrypt() {
      const decoded = decodeMlsMessage(sent[next++]!, 0)?.[0]
      if (decoded?.wireformat !== 'mls_private_message') throw new Error('expected a PrivateMessage')
      const r = await libraryProcessMessage(decoded, receiver, emptyPskIndex, acceptAll, cs)
      if (r.kind !== 'applicationMessage') throw new Error('expected an application message')
      receiver = r.newState
    },
    pending: () => sent.length - next,
  }
}

/**
 * Encrypts and then decrypts 1 KiB messages on both sides, interleaved; returns each side's
 * operations per CPU-second. Before decrypting, each side's list is topped up (untimed) to three
 * times what it encrypted per CPU-second, so that neither runs out of messages before its CPU
 * budget (decryption is at most about 2.5 times faster than encryption on either side).
 */
async function messagingComparison(first: MessagingSide, second: MessagingSide) {
  for (let i = 0; i < WARM_UP_OPS; i++) {
    for (const side of [first, second]) {
      await side.encrypt()
      await side.decrypt()
    }
  }
  const [enc0, enc1] = await interleaved(first.encrypt, second.encrypt)
  for (const [side, rate] of [
    [first, enc0],
    [second, enc1],
  ] as const) {
    const enough = Math.min(MAX_OPS / 2, Math.ceil((MAX_MS / 2000) * 3 * rate))
    while (side.pending() < enough) await side.encrypt()
  }
  const [dec0, dec1] = await interleaved(first.decrypt, second.decrypt, [first.pending(), second.pending()])
  return { enc: { first: enc0, second: enc1 }, dec: { first: dec0, second: dec1 } }
}

/** CPU time each side runs before the other takes over, so that both see the same load. */
const CHUNK_CPU_SECONDS = 0.02

/**
 * Runs `first` and `second` in alternating chunks of about CHUNK_CPU_SECONDS each until both
 * have used MAX_MS / 2 of CPU, or either reaches its operation limit (`limits`, MAX_OPS / 2 by
 * default), so that both see the same load on a shared machine; returns each one's operations
 * per CPU-second. Chunk lengths follow each side's speed (the two can differ twentyfold).
 */
async function interleaved(
  first: () => Promise<void>,
  second: () => Promise<void>,
  limits: [number, number] = [MAX_OPS / 2, MAX_OPS / 2],
): Promise<[number, number]> {
  const runs = [first, second]
  const ops = [0, 0]
  const cpu = [0, 0]
  const chunk = [10, 10]
  const budget = MAX_MS / 2000
  while (ops[0]! < limits[0] && ops[1]! < limits[1] && (cpu[0]! < budget || cpu[1]! < budget)) {
    for (const k of [0, 1]) {
      const run = runs[k]!
      const since = process.cpuUsage()
      let done = 0
      for (; done < chunk[k]! && ops[k]! < limits[k]!; done++, ops[k]!++) await run()
      const used = cpuSecondsSince(since)
      cpu[k]! += used
      if (used > 0 && done > 0) chunk[k] = Math.max(1, Math.round((done * CHUNK_CPU_SECONDS) / used))
    }
  }
  return [ops[0]! / cpu[0]!, ops[1]! / cpu[1]!]
}

async function commitTimes(suite: CipherSuite, size: number) {
  const { a, b, config } = await buildGroup(suite, size)
  let cpu = process.cpuUsage()
  const update = await createCommit(a, config, {})
  const createMs = cpuSecondsSince(cpu) * 1000
  cpu = process.cpuUsage()
  const processed = await processMessage(b, config, update.commit)
  const processMs = cpuSecondsSince(cpu) * 1000
  if (processed.kind !== 'commit') throw new Error('expected a commit')
  return { createMs, processMs, stateBytes: snapshotGroup(processed.group, config).length }
}

async function keyPackagesPerSecond(suite: CipherSuite) {
  const [device] = await makeDevices(suite, 1)
  return throughput(async () => {
    await device!.keyPackage()
  })
}

interface Row {
  suite: string
  metric: string
  tacit: number
  default: number
  unit: string
  higherIsBetter: boolean
}

async function main() {
  const loadAtStart = loadavg()[0]!
  const rows: Row[] = []
  const pathRows: { suite: string; metric: string; ours: number; library: number }[] = []
  const add = (suite: string, metric: string, unit: string, higherIsBetter: boolean, t: number, d: number) =>
    rows.push({ suite, metric, tacit: t, default: d, unit, higherIsBetter })
  for (const name of [DEFAULT_SUITE, IANA_P384_SUITE] as const) {
    const short = name === DEFAULT_SUITE ? 'X-Wing' : 'P-384'
    const results: Record<Provider, Record<string, number>> = { tacit: {}, default: {} }
    for (const size of [2, 100]) {
      progress(`${short}: messages, group of ${size}`)
      const m = await messagingComparison(
        await tacitSide(name, size),
        await librarySide(name, size, 'default'),
      )
      results.tacit[`enc${size}`] = m.enc.first
      results.default[`enc${size}`] = m.enc.second
      results.tacit[`dec${size}`] = m.dec.first
      results.default[`dec${size}`] = m.dec.second
    }
    for (const provider of ['tacit', 'default'] as const) {
      const suite = await suiteFor(name, provider)
      const r = results[provider]
      progress(`${short}: commits and KeyPackages, ${provider} provider`)
      for (const size of SIZES) {
        const c = await commitTimes(suite, size)
        r[`commitCreate${size}`] = c.createMs
        r[`commitProcess${size}`] = c.processMs
        r[`stateCommit${size}`] = c.stateBytes / size
      }
      r.kp = await keyPackagesPerSecond(suite)
    }
    progress(`${short}: the two message paths on our provider`)
    const path = await messagingComparison(await tacitSide(name, 2), await librarySide(name, 2, 'tacit'))
    pathRows.push(
      { suite: short, metric: 'encrypt 1 KiB, group of 2', ours: path.enc.first, library: path.enc.second },
      { suite: short, metric: 'decrypt 1 KiB, group of 2', ours: path.dec.first, library: path.dec.second },
    )
    const t = results.tacit
    const d = results.default
    for (const size of [2, 100]) {
      add(short, `encrypt 1 KiB, group of ${size}`, 'msg/CPU-s', true, t[`enc${size}`]!, d[`enc${size}`]!)
      add(short, `decrypt 1 KiB, group of ${size}`, 'msg/CPU-s', true, t[`dec${size}`]!, d[`dec${size}`]!)
    }
    for (const size of SIZES) {
      add(
        short,
        `create commit (update path), ${size} members`,
        'CPU-ms',
        false,
        t[`commitCreate${size}`]!,
        d[`commitCreate${size}`]!,
      )
      add(
        short,
        `process commit, ${size} members`,
        'CPU-ms',
        false,
        t[`commitProcess${size}`]!,
        d[`commitProcess${size}`]!,
      )
    }
    add(short, 'KeyPackages generated', 'per CPU-s', true, t.kp!, d.kp!)
    for (const size of SIZES) {
      add(
        short,
        `serialized state per member, ${size} members`,
        'bytes',
        false,
        t[`stateCommit${size}`]!,
        d[`stateCommit${size}`]!,
      )
    }
  }

  const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(2))
  console.log(
    `bench:protocol — Node ${process.version}, ts-mls 1.6.4, load average ${loadAtStart.toFixed(1)} at the start, ` +
      `${loadavg()[0]!.toFixed(1)} at the end; ` +
      'rates per CPU-second of this process; ratio = ours vs ts-mls out of the box: its default provider, ' +
      'and for messages its own message functions too (>1 is better)',
  )
  console.log('| suite | metric | tacit provider | ts-mls default | unit | ratio |')
  console.log('|---|---|---:|---:|---|---:|')
  for (const r of rows) {
    const ratio = r.higherIsBetter ? r.tacit / r.default : r.default / r.tacit
    console.log(
      `| ${r.suite} | ${r.metric} | ${fmt(r.tacit)} | ${fmt(r.default)} | ${r.unit} | ${ratio.toFixed(2)}× |`,
    )
  }
  console.log(
    '\nOur provider in both columns; only the application-message path differs (decision 0010); ' +
      'the two run interleaved in chunks of about 20 ms of CPU, so they share the same load:',
  )
  console.log("| suite | metric | Tacit path | ts-mls's path | unit | ratio |")
  console.log('|---|---|---:|---:|---|---:|')
  for (const r of pathRows) {
    console.log(
      `| ${r.suite} | ${r.metric} | ${fmt(r.ours)} | ${fmt(r.library)} | msg/CPU-s | ${(r.ours / r.library).toFixed(2)}× |`,
    )
  }
  const find = (suite: string, metric: string) => rows.find((r) => r.suite === suite && r.metric === metric)!
  const enc2 = find('X-Wing', 'encrypt 1 KiB, group of 2')
  const dec2 = find('X-Wing', 'decrypt 1 KiB, group of 2')
  const targets = [
    ['encrypt ≥ 10,000/s (X-Wing, 2)', enc2.tacit >= 10_000],
    ['decrypt ≥ 5,000/s (X-Wing, 2)', dec2.tacit >= 5_000],
    ['encrypt ≥ 5× the library out of the box', enc2.tacit / enc2.default >= 5],
    ['decrypt ≥ 5× the library out of the box', dec2.tacit / dec2.default >= 5],
  ] as [string, boolean][]
  if (!QUICK)
    targets.push([
      'process a commit at 1,000 members < 1 s',
      find('X-Wing', 'process commit, 1000 members').tacit < 1000,
    ])
  console.log('\ntargets:')
  for (const [name, ok] of targets) console.log(`  ${ok ? 'met   ' : 'MISSED'} ${name}`)
  if (JSON_OUT)
    console.log(
      JSON.stringify({
        node: process.version,
        load: { start: loadAtStart, end: loadavg()[0] },
        rows,
        pathRows,
        targets: Object.fromEntries(targets),
      }),
    )
}

await main()
