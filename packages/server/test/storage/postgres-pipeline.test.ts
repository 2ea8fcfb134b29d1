/**
 * The pipelined statements of a group-commit batch (`postgres/pipeline.ts`), against the
 * machine's PostgreSQL: one result per statement, in order; a failure stops every statement after
 * it; everything before one Sync is one unit. URL: env TACIT_TEST_POSTGRES_URL or
 * postgres://postgres@127.0.0.1:5432/test.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { pipeline } from '../../src/storage/postgres/pipeline.ts'

const URL = process.env.TACIT_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

describe('postgres pipeline', () => {
  const table = `tacit_pipeline_${randomBytes(6).toString('hex')}`
  const client = new pg.Client({ connectionString: URL })
  const rows = async (): Promise<string[]> =>
    (await client.query(`SELECT note FROM ${table} ORDER BY id`)).rows.map((r) => r.note as string)

  before(async () => {
    await client.connect()
    await client.query(`CREATE TABLE ${table} (id SERIAL PRIMARY KEY, note TEXT NOT NULL, data BYTEA)`)
  })
  after(async () => {
    await client.query(`DROP TABLE IF EXISTS ${table}`)
    await client.end()
  })

  it('answers every statement, in order, with its rows and parameters', async () => {
    const data = randomBytes(300)
    const results = await pipeline(client, [
      { text: 'BEGIN' },
      {
        text: `INSERT INTO ${table} (note, data) SELECT n, $2 FROM unnest($1::text[]) AS n RETURNING note`,
        values: [['a', 'b'], data],
      },
      { text: `SELECT count(*)::int AS n, max(length(data)) AS len FROM ${table}`, values: [] },
      { text: 'COMMIT' },
    ])
    assert.deepEqual(
      results.map((r) => r.command),
      ['BEGIN', 'INSERT', 'SELECT', 'COMMIT'],
    )
    assert.deepEqual(
      results[1]!.rows.map((r) => r.note),
      ['a', 'b'],
    )
    assert.deepEqual(results[2]!.rows, [{ n: 2, len: 300 }])
    assert.deepEqual(await rows(), ['a', 'b'])
    const stored = await client.query(`SELECT data FROM ${table} LIMIT 1`)
    assert.ok(Buffer.from(stored.rows[0].data).equals(data), 'the binary parameter arrived whole')
  })

  it('a failed statement stops the rest: a COMMIT after it never runs', async () => {
    await assert.rejects(
      pipeline(client, [
        { text: 'BEGIN' },
        { text: `INSERT INTO ${table} (note) VALUES ($1)`, values: ['lost'] },
        { text: 'SELECT 1 / 0' },
        { text: 'COMMIT' },
      ]),
      (error: unknown) => (error as { code?: string }).code === '22012',
    )
    // The transaction is left aborted for the caller, as a batch's error path expects.
    await assert.rejects(
      client.query('SELECT 1'),
      (error: unknown) => (error as { code?: string }).code === '25P02',
    )
    await client.query('ROLLBACK')
    assert.deepEqual(await rows(), ['a', 'b'])
  })

  it('statements before one Sync are one unit even without BEGIN', async () => {
    await assert.rejects(
      pipeline(client, [
        { text: `INSERT INTO ${table} (note) VALUES ($1)`, values: ['implicit'] },
        { text: 'SELECT 1 / 0' },
      ]),
      (error: unknown) => (error as { code?: string }).code === '22012',
    )
    assert.deepEqual(await rows(), ['a', 'b'])
  })

  it('a value that cannot be encoded fails the call and leaves the client usable', async () => {
    const circular: unknown[] = []
    circular.push(circular)
    await assert.rejects(pipeline(client, [{ text: 'SELECT $1::text[]', values: [circular] }]))
    assert.deepEqual((await client.query('SELECT 41 + 1 AS n')).rows, [{ n: 42 }])
    assert.deepEqual(await pipeline(client, []), [])
  })

  const preparedNames = async (): Promise<string[]> =>
    (
      await client.query(
        "SELECT name FROM pg_prepared_statements WHERE name LIKE 'tacit_test_%' ORDER BY name",
      )
    ).rows.map((r) => r.name as string)
  const twice = (name: string, value: number) => ({ name, text: 'SELECT $1::int * 2 AS v', values: [value] })

  it('a named statement is parsed once per connection and bound again after', async () => {
    const first = await pipeline(client, [twice('tacit_test_a', 1), twice('tacit_test_a', 2)])
    const second = await pipeline(client, [twice('tacit_test_a', 3)])
    assert.deepEqual(
      [...first, ...second].map((r) => r.rows[0].v),
      [2, 4, 6],
    )
    assert.deepEqual(await preparedNames(), ['tacit_test_a'])
  })

  it('a name whose Parse a failure skipped is parsed again', async () => {
    await assert.rejects(
      pipeline(client, [{ text: 'SELECT 1 / 0' }, twice('tacit_test_b', 1)]),
      (error: unknown) => (error as { code?: string }).code === '22012',
    )
    assert.ok(!(await preparedNames()).includes('tacit_test_b'), 'the server skipped the Parse')
    const [again] = await pipeline(client, [twice('tacit_test_b', 5)])
    assert.equal(again!.rows[0].v, 10)
  })

  it('a name parsed before a failure in its pipeline is closed and parsed again', async () => {
    await assert.rejects(
      pipeline(client, [twice('tacit_test_c', 1), { text: 'SELECT 1 / 0' }]),
      (error: unknown) => (error as { code?: string }).code === '22012',
    )
    assert.ok((await preparedNames()).includes('tacit_test_c'), 'the Parse ran before the failure')
    const [again] = await pipeline(client, [twice('tacit_test_c', 7)])
    assert.equal(again!.rows[0].v, 14)
  })
})
