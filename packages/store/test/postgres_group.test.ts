// PostgreSQL group commit: journal appends issued in one event-loop turn share one transaction (rows inserted
// together carry the same xmin), and an append whose statement fails is run again on its own and fails alone.
// Skipped without a server (required in CI, see backends.ts).

import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { BACKENDS, POSTGRES_URL } from './backends.js';

const grouped = BACKENDS.find((b) => b.name === 'postgres+group')!;
const single = BACKENDS.find((b) => b.name === 'postgres')!;

afterEach(async () => {
  await grouped.cleanup();
  await single.cleanup();
});

/** The distinct transaction ids that inserted the run's journal rows. */
async function insertingTransactions(schema: string, runId: string): Promise<number> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    const result = await client.query(`SELECT COUNT(DISTINCT xmin::text) AS n FROM "${schema}".dspex_journal WHERE run_id = $1`, [runId]);
    return Number(result.rows[0].n);
  } finally {
    await client.end();
  }
}

const schemaOf = (options: unknown): string => (options as { postgres: { schema: string } }).postgres.schema;

describe.skipIf(!grouped.available)('postgres group commit', () => {
  it('appends of one event-loop turn commit in one transaction; without group commit each in its own', async () => {
    for (const [fixture, expected] of [[grouped, 1], [single, 20]] as const) {
      const { store, options } = await fixture.fresh();
      await store.createRun({ runId: 'r', pipeline: 'p' });
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.appendJournal('r', { stepKey: `s${i}`, value: i })));
      expect(results.map((r) => r.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect(await insertingTransactions(schemaOf(options), 'r'), fixture.name).toBe(expected);
    }
  });

  it('an append whose statement fails fails alone; the others of its group are journaled', async () => {
    const { store, raw } = await grouped.fresh();
    await raw(`CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.step_key = 'poison' THEN RAISE EXCEPTION 'poisoned entry'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER refuse_poison BEFORE INSERT ON dspex_journal FOR EACH ROW EXECUTE FUNCTION refuse_poison();`);
    await store.createRun({ runId: 'r', pipeline: 'p' });
    const outcomes = await Promise.allSettled(['a', 'poison', 'b'].map((stepKey) => store.appendJournal('r', { stepKey, value: stepKey })));
    expect(outcomes[1]).toMatchObject({ status: 'rejected', reason: { message: expect.stringContaining('poisoned entry') } });
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(2);
    expect((await store.readJournal('r')).map((e) => [e.seq, e.stepKey])).toEqual([[1, 'a'], [2, 'b']]);
    expect((await store.getRun('r'))?.journalLength).toBe(2);
  });
});
