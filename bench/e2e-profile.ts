/**
 * `--profile-dir <dir>`: a V8 CPU profile of this (the clients') process over one timed window
 * only, written as `<dir>/<name>.cpuprofile` (open it in Chrome DevTools or speedscope). The
 * server's own profile comes from TACIT_CPU_PROF_DIR, over its whole life.
 */
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { join } from 'node:path'

export async function profileWindow<T>(
  dir: string | undefined,
  name: string,
  fn: () => Promise<T>,
): Promise<T> {
  if (dir === undefined) return fn()
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 500 })
  await session.post('Profiler.start')
  try {
    return await fn()
  } finally {
    const { profile } = await session.post('Profiler.stop')
    writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(profile))
    session.disconnect()
  }
}
