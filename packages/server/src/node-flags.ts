/**
 * Node/V8 flags the server is started with (`npm start`; package.json's `start` script repeats
 * them, and a test keeps the two equal). V8 sizes its young generation only from the command line
 * (or NODE_OPTIONS): `v8.setFlagsFromString` at run time does not resize it.
 *
 * `--max-semi-space-size=64` (MiB; V8's default here is 16): an envelope's objects live for one
 * group commit — from its `send` frame until the batch's COMMIT — so with the default young
 * generation many survive a scavenge and are copied, some promoted, only to die soon after. With
 * a larger one they die young. On the team's two-core machine (docs/benchmarks.md, Relay,
 * 2026-11-27) this delivered 9–23 % more envelopes per server CPU-second on SQLite at 256 B
 * (0–11 % at 4 KiB) and lowered the p99 at 5,000 envelopes/s; PostgreSQL's per-CPU figures did
 * not move. The cost is up to 3 × 64 MiB of young generation, committed only as it is used.
 *
 * `--initial-old-space-size=128` (MiB): the server's live heap is small (about 28 MiB under
 * load), so V8 sets the old generation's limit a few MiB above it after each mark-compact; a
 * mark-compact also promotes the young generation's survivors, which fill that margin again, and
 * the server fell into runs of a full collection every 110–150 ms (38–121 in a 20–60 s phase at
 * 5,000 envelopes/s of 4 KiB, decision 0020). With a 128 MiB floor there was one per phase. The
 * cost is up to about 100 MiB more old generation under load.
 */
export const SERVER_NODE_FLAGS: readonly string[] = [
  '--max-semi-space-size=64',
  '--initial-old-space-size=128',
]
