/**
 * The shape every benchmark scenario has. `bench/run.ts` runs scenarios in one process, one
 * after another, and writes their rows as a Markdown table and JSON; `bench/smoke.test.ts`
 * runs each with `smoke: true` (tiny sizes) inside `npm test` so the harness keeps working.
 */
export interface BenchContext {
  /** Tiny sizes: prove the scenario runs, measure nothing. */
  smoke: boolean;
  /** A Postgres with durable default settings (synchronous_commit on, logged tables). */
  databaseUrl: string;
  /** Redis for the peers and stores that need it; undefined when there is none. */
  redisUrl: string | undefined;
  /** Progress for a human watching; not part of the results. */
  log(message: string): void;
}

/** One measured figure of one system. */
export interface ResultRow {
  scenario: string;
  system: string;
  metric: string;
  value: number;
  unit: string;
  note?: string;
}

export interface Scenario {
  /** Short id used on the command line (`--only enqueue`). */
  name: string;
  title: string;
  /** The target from the benchmark issue, in words (e.g. "≥ graphile-worker"). */
  target: string;
  /** Scenarios that need Redis are skipped without one (and fail the smoke test in CI). */
  needsRedis?: boolean;
  run(ctx: BenchContext): Promise<ResultRow[]>;
}
