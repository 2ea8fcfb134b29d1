/**
 * PostgreSQL schema, one step per version, the same shape as `sqlite/migrations.ts`. Every step
 * runs in one transaction together with its `schema_version` row, under an advisory lock, so
 * several server processes starting at once apply each step exactly once. Never edit a shipped
 * step: add the next one.
 *
 * `mailbox` has no foreign keys on the hot path: rows are only written by the group-commit batch,
 * which checks its devices under a row lock. `payloads.id` comes from a sequence so a batch can
 * insert payloads and their mailbox rows in one statement.
 */
import type { Migration } from '../migration.ts'

export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'accounts, devices, key directory, mailboxes, group ordering',
    sql: `
CREATE TABLE invites (
  code_hash BYTEA PRIMARY KEY,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_by TEXT,
  revoked_at BIGINT
);
CREATE INDEX invites_by_expiry ON invites (expires_at);
CREATE TABLE accounts (
  handle TEXT PRIMARY KEY,
  identity_key BYTEA NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE devices (
  device_id TEXT PRIMARY KEY,
  handle TEXT NOT NULL REFERENCES accounts (handle),
  signature_key BYTEA NOT NULL,
  credential BYTEA NOT NULL,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT,
  next_seq BIGINT NOT NULL DEFAULT 1,
  mailbox_count BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX devices_by_handle ON devices (handle);
CREATE TABLE sessions (
  token_hash BYTEA PRIMARY KEY,
  device_id TEXT NOT NULL REFERENCES devices (device_id),
  expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_device ON sessions (device_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE TABLE delivery_tokens (
  token_hash BYTEA PRIMARY KEY,
  device_id TEXT NOT NULL REFERENCES devices (device_id)
);
CREATE INDEX delivery_tokens_by_device ON delivery_tokens (device_id);
CREATE TABLE key_packages (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  device_id TEXT NOT NULL REFERENCES devices (device_id),
  ref BYTEA NOT NULL,
  key_package BYTEA NOT NULL,
  last_resort BOOLEAN NOT NULL,
  UNIQUE (device_id, ref)
);
CREATE INDEX key_packages_by_kind ON key_packages (device_id, last_resort, id);
CREATE UNIQUE INDEX key_packages_one_last_resort ON key_packages (device_id) WHERE last_resort;
CREATE SEQUENCE payloads_id_seq AS BIGINT;
CREATE TABLE payloads (
  id BIGINT PRIMARY KEY DEFAULT nextval('payloads_id_seq'),
  payload BYTEA NOT NULL,
  received_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
ALTER SEQUENCE payloads_id_seq OWNED BY payloads.id;
CREATE INDEX payloads_by_expiry ON payloads (expires_at);
CREATE TABLE mailbox (
  device_id TEXT NOT NULL,
  seq BIGINT NOT NULL,
  payload_id BIGINT NOT NULL,
  PRIMARY KEY (device_id, seq)
);
CREATE INDEX mailbox_by_payload ON mailbox (payload_id);
CREATE TABLE group_epochs (
  group_id BYTEA PRIMARY KEY,
  epoch BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
`,
  },
  {
    version: 2,
    name: 'blobs as chunk rows',
    sql: `
CREATE TABLE blobs (
  blob_id TEXT PRIMARY KEY,
  owner TEXT NOT NULL REFERENCES accounts (handle),
  declared_size BIGINT NOT NULL,
  received_size BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX blobs_by_owner ON blobs (owner, expires_at);
CREATE INDEX blobs_by_expiry ON blobs (expires_at);
CREATE TABLE blob_chunks (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  blob_id TEXT NOT NULL REFERENCES blobs (blob_id) ON DELETE CASCADE,
  chunk_start BIGINT NOT NULL,
  data BYTEA NOT NULL,
  UNIQUE (blob_id, chunk_start)
);
`,
  },
  {
    version: 3,
    name: 'room in the device pages for in-place (HOT) updates of the mailbox counters',
    // Every group-commit batch updates next_seq and mailbox_count of each device it touches while
    // it holds their row locks. In full pages each update is a new row version elsewhere plus an
    // entry in both device indexes; with half-empty pages it stays on its page and the indexes
    // are untouched (neither indexes a counter). CLUSTER rewrites the existing rows at the new
    // fill factor (the table holds one row per device; it is locked for the rewrite).
    sql: `
ALTER TABLE devices SET (fillfactor = 50);
CLUSTER devices USING devices_pkey;
`,
  },
  {
    version: 4,
    name: 'payloads stored out of line without a compression attempt',
    // A payload is ciphertext, which does not compress. With the default storage (EXTENDED) each
    // row over the TOAST threshold (~2 KB) first ran its payload through pglz, which failed, and
    // then stored it out of line anyway: at 4 KiB pglz_compress took 4 % of the machine's CPU in
    // bench:relay (perf; docs/benchmarks.md, Relay, ninth round). EXTERNAL stores it out of line
    // directly. Catalog-only: rows already stored keep their form until acknowledged.
    sql: `
ALTER TABLE payloads ALTER COLUMN payload SET STORAGE EXTERNAL;
`,
  },
  {
    version: 5,
    name: 'payloads in generations: partitions dropped whole instead of rows deleted',
    // See decision 0019. Every payload goes into the partition of the current generation; the
    // storage moves a generation's still-referenced payloads to `payloads_kept` (generation 0)
    // and drops its partition once newer generations have taken over. Acknowledged payloads of
    // live generations are not deleted row by row: their partition goes in one DROP. Existing
    // payloads move to `payloads_kept`.
    sql: `
ALTER SEQUENCE payloads_id_seq OWNED BY NONE;
ALTER TABLE payloads RENAME TO payloads_v4;
ALTER INDEX payloads_pkey RENAME TO payloads_v4_pkey;
ALTER INDEX payloads_by_expiry RENAME TO payloads_v4_by_expiry;
CREATE TABLE payloads (
  id BIGINT NOT NULL DEFAULT nextval('payloads_id_seq'),
  generation BIGINT NOT NULL,
  payload BYTEA NOT NULL,
  received_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (id, generation)
) PARTITION BY RANGE (generation);
ALTER TABLE payloads ALTER COLUMN payload SET STORAGE EXTERNAL;
CREATE INDEX payloads_by_expiry ON payloads (expires_at);
CREATE TABLE payloads_kept PARTITION OF payloads FOR VALUES FROM (0) TO (1);
CREATE TABLE payloads_g1 PARTITION OF payloads FOR VALUES FROM (1) TO (2);
CREATE TABLE payloads_g2 PARTITION OF payloads FOR VALUES FROM (2) TO (3);
INSERT INTO payloads_kept (id, generation, payload, received_at, expires_at)
  SELECT id, 0, payload, received_at, expires_at FROM payloads_v4;
DROP TABLE payloads_v4;
ALTER SEQUENCE payloads_id_seq OWNED BY payloads.id;
CREATE TABLE payload_generation (
  singleton BOOLEAN PRIMARY KEY DEFAULT true CHECK (singleton),
  current BIGINT NOT NULL,
  started_at BIGINT NOT NULL
);
INSERT INTO payload_generation (current, started_at) VALUES (1, 0);
`,
  },
]

export const POSTGRES_SCHEMA_VERSION = POSTGRES_MIGRATIONS.length
