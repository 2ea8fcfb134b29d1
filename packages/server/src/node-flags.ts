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
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64']
