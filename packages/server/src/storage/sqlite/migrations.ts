/**
 * SQLite schema, one step per version. A step runs once, inside the same transaction that records
 * it in `schema_version`, so an interrupted upgrade leaves the previous version intact. Never edit a
 * shipped step: add the next one.
 *
 * Mailbox rows reference one payload row each (fan-out stores the bytes once) and carry no sender;
 * since version 3 a payload row counts (`refs`) and lists (`recipients`) the mailbox rows that
 * reference it.
 * `devices.next_seq` / `devices.mailbox_count` make seqs per mailbox strictly increasing in commit
 * order and let `enqueue` enforce MAX_MAILBOX_ENTRIES without counting rows.
 */
import type { Migration } from '../migration.ts'

export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'accounts, devices, key directory, mailboxes, group ordering',
    sql: `
CREATE TABLE invites (
  code_hash BLOB PRIMARY KEY,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_by TEXT,
  revoked_at INTEGER
);
CREATE INDEX invites_by_expiry ON invites (expires_at);
CREATE TABLE accounts (
  handle TEXT PRIMARY KEY,
  identity_key BLOB NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE devices (
  device_id TEXT PRIMARY KEY,
  handle TEXT NOT NULL REFERENCES accounts (handle),
  signature_key BLOB NOT NULL,
  credential BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER,
  next_seq INTEGER NOT NULL DEFAULT 1,
  mailbox_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX devices_by_handle ON devices (handle);
CREATE TABLE sessions (
  token_hash BLOB PRIMARY KEY,
  device_id TEXT NOT NULL REFERENCES devices (device_id),
  expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_by_device ON sessions (device_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE TABLE delivery_tokens (
  token_hash BLOB PRIMARY KEY,
  device_id TEXT NOT NULL REFERENCES devices (device_id)
);
CREATE INDEX delivery_tokens_by_device ON delivery_tokens (device_id);
CREATE TABLE key_packages (
  id INTEGER PRIMARY KEY,
  device_id TEXT NOT NULL REFERENCES devices (device_id),
  ref BLOB NOT NULL,
  key_package BLOB NOT NULL,
  last_resort INTEGER NOT NULL,
  UNIQUE (device_id, ref)
);
CREATE INDEX key_packages_by_kind ON key_packages (device_id, last_resort, id);
CREATE UNIQUE INDEX key_packages_one_last_resort ON key_packages (device_id) WHERE last_resort = 1;
CREATE TABLE payloads (
  id INTEGER PRIMARY KEY,
  payload BLOB NOT NULL,
  received_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX payloads_by_expiry ON payloads (expires_at);
CREATE TABLE mailbox (
  device_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  payload_id INTEGER NOT NULL,
  PRIMARY KEY (device_id, seq)
) WITHOUT ROWID;
CREATE INDEX mailbox_by_payload ON mailbox (payload_id);
CREATE TABLE group_epochs (
  group_id BLOB PRIMARY KEY,
  epoch INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
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
  declared_size INTEGER NOT NULL,
  received_size INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX blobs_by_owner ON blobs (owner, expires_at);
CREATE INDEX blobs_by_expiry ON blobs (expires_at);
CREATE TABLE blob_chunks (
  id INTEGER PRIMARY KEY,
  blob_id TEXT NOT NULL REFERENCES blobs (blob_id) ON DELETE CASCADE,
  chunk_start INTEGER NOT NULL,
  data BLOB NOT NULL,
  UNIQUE (blob_id, chunk_start)
);
`,
  },
  {
    // Decision 0017. A payload row counts the mailbox rows that reference it (refs) and lists them
    // (recipients: a JSON array of [device_id, seq]), so acknowledging an envelope drops its payload
    // by id when the count reaches zero, and the sweep finds an expired payload's mailbox rows from
    // the payload itself. The index from mailbox rows to payloads existed only for those two
    // questions; without it, every stored and every acknowledged envelope writes one index entry
    // less.
    version: 3,
    name: 'payload reference counts instead of the mailbox_by_payload index',
    sql: `
ALTER TABLE payloads ADD COLUMN refs INTEGER NOT NULL DEFAULT 0;
ALTER TABLE payloads ADD COLUMN recipients TEXT NOT NULL DEFAULT '[]';
UPDATE payloads SET
  refs = (SELECT count(*) FROM mailbox m WHERE m.payload_id = payloads.id),
  recipients = (SELECT json_group_array(json_array(m.device_id, m.seq)) FROM mailbox m
                WHERE m.payload_id = payloads.id);
DELETE FROM payloads WHERE refs = 0;
DROP INDEX mailbox_by_payload;
`,
  },
]

export const SQLITE_SCHEMA_VERSION = SQLITE_MIGRATIONS.length
