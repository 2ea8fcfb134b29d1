/** One step of a backend's schema; `version` counts from 1 without gaps. */
export interface Migration {
  readonly version: number
  readonly name: string
  readonly sql: string
}
