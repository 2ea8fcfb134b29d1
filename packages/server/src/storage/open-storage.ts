/**
 * Opens the configured backend and applies pending migrations. The embedded SQLite file is the
 * default; a PostgreSQL URL selects the scale-out backend.
 */
import type { StorageOptions } from './group-commit.ts'
import { openPostgresStorage } from './postgres/postgres-storage.ts'
import { openSqliteStorage } from './sqlite/sqlite-storage.ts'
import type { Storage } from './storage.ts'

export type StorageConfig =
  | { readonly kind: 'sqlite'; readonly path: string }
  | { readonly kind: 'postgres'; readonly url: string; readonly schema?: string }

export async function openStorage(config: StorageConfig, options: StorageOptions = {}): Promise<Storage> {
  if (config.kind === 'sqlite') return openSqliteStorage(config.path, options)
  return openPostgresStorage(
    config.url,
    config.schema === undefined ? options : { ...options, schema: config.schema },
  )
}
