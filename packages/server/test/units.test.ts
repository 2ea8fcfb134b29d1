import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { WireError } from '@tacit/protocol/wire/errors'
import { ChallengeStore } from '../src/challenges.ts'
import { ConfigError, parseConfig } from '../src/config.ts'
import { DEFAULT_POLICY } from '../src/context.ts'
import { parseRange } from '../src/http/blob-routes.ts'
import { SERVER_NODE_FLAGS } from '../src/node-flags.ts'
import { RateLimiter } from '../src/rate-limiter.ts'

describe('rate limiter', () => {
  it('allows a burst, refuses beyond it with a retry time, refills over time', () => {
    const l = new RateLimiter({ ratePerSecond: 2, burst: 3 })
    assert.deepEqual(
      [0, 0, 0].map(() => l.take('a', 0)),
      [0, 0, 0],
    )
    assert.equal(l.take('a', 0), 1)
    assert.equal(l.take('b', 0), 0, 'keys are independent')
    assert.equal(l.take('a', 500), 0, 'one token after 0.5 s at 2/s')
    assert.equal(l.take('a', 500), 1)
  })

  it('keeps at most maxKeys buckets', () => {
    const l = new RateLimiter({ ratePerSecond: 1, burst: 1 }, 100)
    for (let i = 0; i < 10_000; i++) l.take(`k${i}`, 0)
    assert.equal(l.size, 100)
  })

  it('does nothing when off', () => {
    const l = new RateLimiter(null)
    for (let i = 0; i < 1000; i++) assert.equal(l.take('a', 0), 0)
    assert.equal(l.size, 0)
  })
})

describe('challenge store', () => {
  it('consumes a challenge once, and not after it expired', () => {
    const s = new ChallengeStore(1000, 10)
    const a = s.issue(0)
    assert.equal(a.expiresAt, 1000)
    assert.equal(s.consume(a.challenge, 10), true)
    assert.equal(s.consume(a.challenge, 10), false)
    const b = s.issue(0)
    assert.equal(s.consume(b.challenge, 1000), false)
    assert.equal(s.consume(new Uint8Array(32), 0), false)
    assert.equal(s.consume(new Uint8Array(3), 0), false)
  })

  it('stays within its bound', () => {
    const s = new ChallengeStore(60_000, 10)
    for (let i = 0; i < 100; i++) s.issue(i)
    assert.equal(s.size, 10)
  })
})

describe('range parsing (RFC 9110 §14.1.2)', () => {
  it('parses first-last, open-ended and suffix ranges, clamped to the size', () => {
    assert.deepEqual(parseRange('bytes=0-9', 100), { start: 0, end: 10 })
    assert.deepEqual(parseRange('bytes=90-', 100), { start: 90, end: 100 })
    assert.deepEqual(parseRange('bytes=-5', 100), { start: 95, end: 100 })
    assert.deepEqual(parseRange('bytes=50-1000', 100), { start: 50, end: 100 })
    assert.deepEqual(parseRange('bytes=-500', 100), { start: 0, end: 100 })
  })

  it('refuses what it does not support or what does not fit', () => {
    for (const h of [
      'bytes=100-',
      'bytes=5-1',
      'bytes=-0',
      'bytes=0-1,5-6',
      'items=0-1',
      'bytes=-',
      'bytes=a-b',
    ]) {
      assert.throws(
        () => parseRange(h, 100),
        (e: unknown) => WireError.is(e, 'range-not-satisfiable'),
        h,
      )
    }
  })
})

describe('configuration', () => {
  it('reads flags before environment before defaults', () => {
    const c = parseConfig(['--port', '9000'], { TACIT_PORT: '7000', TACIT_DATA_DIR: '/tmp/x' }, '/')
    assert.equal(c.port, 9000)
    assert.equal(c.dataDir, '/tmp/x')
    const d = parseConfig([], {}, '/srv')
    assert.equal(d.port, 8080)
    assert.equal(d.dataDir, '/srv/data')
    assert.equal(d.host, '127.0.0.1')
    assert.equal(d.logIp, false)
    assert.equal(d.postgresUrl, null)
    assert.equal(parseConfig(['--log-ip'], {}).logIp, true)
    assert.equal(d.natsPrefix, null)
    assert.equal(parseConfig([], { TACIT_NATS_PREFIX: 'acme.chat' }).natsPrefix, 'acme.chat')
    assert.equal(parseConfig(['--rate-limit-device', 'off'], {}).deviceRateLimit, null)
    assert.deepEqual(parseConfig(['--rate-limit-address=5/10'], {}).addressRateLimit, {
      ratePerSecond: 5,
      burst: 10,
    })
  })

  it('names the bad flag', () => {
    for (const argv of [
      ['--port', 'x'],
      ['--port', '70000'],
      ['--nope'],
      ['--port'],
      ['stray'],
      ['--rate-limit-device', '5'],
      ['--nats-prefix', 'tacit.>'],
      ['--nats-prefix', 'a..b'],
      ['--nats-prefix', 'x'.repeat(65)],
      ['--max-requests-in-flight', '63'],
      ['--max-requests-in-flight', '1048577'],
      ['--max-requests-in-flight', '1e4'],
    ]) {
      assert.throws(() => parseConfig(argv, {}), ConfigError, argv.join(' '))
    }
  })

  it('sizes the intake gate by flag or environment, within its bounds', () => {
    assert.equal(parseConfig([], {}).policy.maxRequestsInFlight, DEFAULT_POLICY.maxRequestsInFlight)
    assert.equal(parseConfig(['--max-requests-in-flight', '64'], {}).policy.maxRequestsInFlight, 64)
    assert.equal(
      parseConfig([], { TACIT_MAX_REQUESTS_IN_FLIGHT: '1048576' }).policy.maxRequestsInFlight,
      1_048_576,
    )
    assert.equal(
      parseConfig(['--max-requests-in-flight=5000'], { TACIT_MAX_REQUESTS_IN_FLIGHT: '9000' }).policy
        .maxRequestsInFlight,
      5_000,
      'the flag wins over the environment',
    )
  })
})

describe('node flags', () => {
  it('npm start runs the server with exactly the flags the test harness and benchmarks use', () => {
    const manifest = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'))
    const start = String(manifest.scripts.start)
    const launch = /(?:^|&& )node ((?:--\S+ )*)--import tsx packages\/server\/src\/main\.ts$/.exec(start)
    assert.ok(launch, `unexpected start script: ${start}`)
    assert.deepEqual(
      launch[1]!
        .trim()
        .split(' ')
        .filter((f) => f !== ''),
      [...SERVER_NODE_FLAGS],
    )
  })
})
