import { auditChange, jobDestination } from "../audit/actions.js";
import { GroupCommit, type GroupCommitOptions } from "../db/group-commit.js";
import type { Client } from "../db/mutation.js";
import type { Engine } from "../engine.js";
import { KeelError } from "../errors.js";
import type { FinishInput, KeyedWrite } from "../idempotency/idempotency.js";
import type { EnqueueResult, JobState } from "./types.js";
import type { EnqueueRow } from "./validate.js";

/** A row of enqueue.sql. */
export type EnqueueOut = { ord: number; id: string; state: JobState; inserted: boolean };

/** The key that makes jobs of one batch one job: dedupe, singleton or debounce (a job has at most one). */
function batchKey(row: EnqueueRow): string | undefined {
  if (row.dedupe_key !== null) return `d\u0000${row.queue}\u0000${row.dedupe_key}`;
  if (row.singleton_key) return `s\u0000${row.queue}\u0000${row.singleton_key}`;
  if (row.debounce_key) return `b\u0000${row.queue}\u0000${row.debounce_key}`;
  return undefined;
}

/**
 * The rows one enqueue statement writes, and how the others answer. Within one batch the first
 * job with a dedupe or singleton key wins, and the last with a debounce key (it replaces the
 * others); the rest share its result (`alias`: ord → ord of the written row). `rows[i].ord` is `i`.
 */
export function planBatch(rows: EnqueueRow[]): {
  unique: EnqueueRow[];
  results: (out: EnqueueOut[]) => EnqueueResult[];
} {
  const firstByKey = new Map<string, number>();
  const lastDebounce = new Map<string, number>();
  for (const row of rows) if (row.debounce_key) lastDebounce.set(batchKey(row) as string, row.ord);
  const unique: EnqueueRow[] = [];
  const alias = new Map<number, number>();
  for (const row of rows) {
    const key = batchKey(row);
    const last = row.debounce_key ? lastDebounce.get(key as string) : undefined;
    if (last !== undefined && last !== row.ord) {
      alias.set(row.ord, last);
      continue;
    }
    const first = key === undefined || last !== undefined ? undefined : firstByKey.get(key);
    if (first !== undefined) alias.set(row.ord, first);
    else {
      if (key !== undefined) firstByKey.set(key, row.ord);
      unique.push(row);
    }
  }
  const results = (out: EnqueueOut[]): EnqueueResult[] => {
    const byOrd = new Map(out.map((r) => [r.ord, r]));
    return rows.map((row) => {
      const ord = alias.get(row.ord) ?? row.ord;
      const r = byOrd.get(ord);
      if (!r) throw new Error(`enqueue returned no row for job ${ord}`);
      return { id: r.id, state: r.state, deduplicated: alias.has(row.ord) || !r.inserted };
    });
  };
  return { unique, results };
}

/** True when no row has a dedupe, singleton or debounce key: `enqueue_plain` can write them. */
export function plain(rows: readonly EnqueueRow[]): boolean {
  return rows.every((r) => r.dedupe_key === null && !r.singleton_key && !r.debounce_key);
}

/**
 * The columns of plain rows as `enqueue_plain_jobs`'s statements take them, in its order: queue,
 * handler, target, payload, run_at, delay_ms, priority, max_attempts, backoff, tenant, origin,
 * flow_key, flow_concurrency. Text and number columns as arrays, JSON columns as one JSON array
 * each; a column null for every row as null.
 */
export function plainColumns(rows: readonly EnqueueRow[]): unknown[] {
  return [
    rows.map((r) => r.queue),
    rows.map((r) => r.handler),
    JSON.stringify(rows.map((r) => r.target)),
    JSON.stringify(rows.map((r) => r.payload ?? null)),
    column(rows, (r) => r.run_at),
    column(rows, (r) => r.delay_ms),
    column(rows, (r) => r.priority),
    column(rows, (r) => r.max_attempts),
    jsonColumn(rows, (r) => r.backoff),
    column(rows, (r) => r.tenant),
    jsonColumn(rows, (r) => r.origin),
    column(rows, (r) => r.flow_key),
    column(rows, (r) => r.flow_concurrency),
  ];
}

/** One value per item, or null when every one is null (the statement's ROWS FROM pads it). */
export function column<T, V>(
  items: readonly T[],
  get: (item: T, i: number) => V | null | undefined,
): (V | null)[] | null {
  let any = false;
  const out = items.map((item, i) => {
    const v = get(item, i) ?? null;
    if (v !== null) any = true;
    return v;
  });
  return any ? out : null;
}

/** As `column`, as one JSON array text (JSON null for a missing value). */
export function jsonColumn<T>(items: readonly T[], get: (item: T, i: number) => unknown): string | null {
  const out = column(items, get);
  return out && JSON.stringify(out);
}

/**
 * Writes `unique` (the plan's rows) with one statement, on `client` when given (the caller's
 * transaction), else autocommitted: `enqueue_plain` when no row has a key (typed arrays, no
 * conflict handling; decision 056), else `enqueue`. Returns one row per job written; fewer
 * rows than jobs means an `enqueue:<queue>` switch refused the batch. `audit` (aligned with
 * `unique`, plain batches only: see `plain`) is written by the same statement.
 */
export async function writeRows(
  engine: Engine,
  unique: EnqueueRow[],
  client?: Client,
  audit?: (AuditEntry | null)[],
): Promise<EnqueueOut[]> {
  const run = <R extends object>(name: "enqueue" | "enqueue_plain", values: unknown[]) =>
    client ? engine.runOn<R>(client, name, values) : engine.run<R>(name, values);
  if (!plain(unique)) return run<EnqueueOut>("enqueue", [JSON.stringify(unique)]);
  const [made] = await run<{ ids: string[] | null; states: JobState[] | null }>("enqueue_plain", [
    ...plainColumns(unique),
    column(unique, (_, i) => audit?.[i]?.actor),
    column(unique, (_, i) => audit?.[i]?.source),
    jsonColumn(unique, (_, i) => audit?.[i]?.details),
  ]);
  const ids = made?.ids ?? [];
  const states = made?.states ?? [];
  if (ids.length < unique.length) return [];
  // In input order (ids are drawn in it).
  return ids.map((id, i) => ({
    ord: (unique[i] as EnqueueRow).ord,
    id,
    state: states[i] as JobState,
    inserted: true,
  }));
}

/** A `job.create` audit entry of one job. */
interface AuditEntry {
  actor: string;
  source: string | null;
  details: unknown;
}

/** One `enqueue` call waiting for its group: the validated row and who it is recorded as. */
interface Single {
  row: EnqueueRow;
  /** Audited (`job.create`) only when the caller said who made it. */
  by?: string | undefined;
  source?: string | null | undefined;
  /** The Idempotency-Key record whose response commits with the job. */
  keyed?: KeyedWrite<EnqueueResult> | undefined;
}

type Outcome = EnqueueResult | { error: unknown };

/** Raised inside the batch's transaction to roll it back when a switch refused its jobs. */
class Refused extends Error {}

/**
 * Single enqueues without a caller's transaction, group-committed (`GroupCommit`, the intake's
 * mechanism, decisions 015 and 055): concurrent calls share one enqueue statement and, when any
 * is audited, one transaction with their `job.create` rows. Each caller gets its own answer:
 * duplicates within the group share the first job (as consecutive calls would), a call whose
 * queue an `enqueue:<queue>` switch turned off gets `enqueue_disabled` while its neighbours are
 * written, and a job Postgres refuses fails alone (the batch is split). A call with `keyed` (an
 * Idempotency-Key request, decision 063) has its response stored in the group's transaction, so
 * the job and the response commit together. Resolves after the commit.
 */
export class JobWriter {
  private writer: GroupCommit<Single, Outcome>;

  constructor(
    private readonly engine: Engine,
    options: GroupCommitOptions = {},
  ) {
    this.writer = new GroupCommit((items) => this.write(items), options);
  }

  /** Transactions written and calls submitted so far (a group commits many calls in one). */
  get counts(): { flushes: number; items: number } {
    return { ...this.writer.counts };
  }

  /** Resolves once every call submitted so far has been answered. */
  drain(): Promise<void> {
    return this.writer.drain();
  }

  async submit(item: Single): Promise<EnqueueResult> {
    const out = await this.writer.submit(item);
    if ("error" in out) throw out.error;
    return out;
  }

  private async write(items: Single[]): Promise<Outcome[]> {
    const rows = items.map((item, ord) => ({ ...item.row, ord }));
    const { unique, results } = planBatch(rows);
    await this.engine.ensureQueues(unique.map((r) => r.queue));
    const isPlain = plain(unique);
    // Plain rows: one statement writes the jobs and their audit rows (`enqueue_plain`).
    const audit = isPlain
      ? items.map((i) =>
          i.by === undefined
            ? null
            : { actor: i.by, source: i.source ?? null, details: jobDestination(i.row.queue, i.row.target) },
        )
      : undefined;
    if (items.every((i) => i.keyed === undefined) && (isPlain || items.every((i) => i.by === undefined))) {
      // One autocommitted statement is atomic without begin and commit.
      const out = await writeRows(this.engine, unique, undefined, audit);
      if (out.length < unique.length) return this.refused(items);
      return results(out);
    }
    try {
      return await this.engine.transaction(async (client) => {
        const made = await writeRows(this.engine, unique, client, audit);
        if (made.length < unique.length) throw new Refused();
        const done = results(made);
        if (!isPlain) await this.audit(client, items, done);
        await this.finishKeys(client, items, done);
        return done;
      });
    } catch (err) {
      if (err instanceof Refused) return this.refused(items);
      throw err;
    }
  }

  /** The Idempotency-Key responses of the keyed calls, in the transaction of their jobs. */
  private async finishKeys(client: Client, items: Single[], done: EnqueueResult[]): Promise<void> {
    const finished: FinishInput[] = [];
    items.forEach(({ keyed }, i) => {
      if (keyed) finished.push({ ...keyed, response: keyed.response(done[i] as EnqueueResult) });
    });
    await this.engine.idempotency.finishMany(client, finished);
  }

  /** `job.create` rows for the calls that named who made them and created a job. */
  private async audit(client: Client, items: Single[], done: EnqueueResult[]): Promise<void> {
    const cols: [string[], string[], string[], (string | null)[], string[]] = [[], [], [], [], []];
    items.forEach((item, i) => {
      const job = done[i] as EnqueueResult;
      if (item.by === undefined || job.deduplicated) return;
      const change = auditChange(
        "job.create",
        `job:${job.id}`,
        jobDestination(item.row.queue, item.row.target),
      );
      cols[0].push(item.by);
      cols[1].push(change.action);
      cols[2].push(change.target as string);
      cols[3].push(item.source ?? null);
      cols[4].push(JSON.stringify(change.details));
    });
    if (cols[0].length > 0) await this.engine.runOn(client, "audit_many", cols);
  }

  /**
   * An `enqueue:<queue>` switch refused the batch (the statement is all or nothing): the calls
   * for a switched-off queue get `enqueue_disabled`, the others are written again without them.
   */
  private async refused(items: Single[]): Promise<Outcome[]> {
    const queues = [...new Set(items.map((i) => i.row.queue))];
    const off = await this.engine.switches.disabled(queues.map((q) => `enqueue:${q}`));
    const blocked = (item: Single) => off.has(`enqueue:${item.row.queue}`);
    if (!items.some(blocked)) {
      throw new Error("enqueue stored fewer jobs than it was given and no switch explains it");
    }
    const rest = items.filter((i) => !blocked(i));
    const written = rest.length > 0 ? await this.write(rest) : [];
    return items.map((item) =>
      blocked(item)
        ? { error: new KeelError("enqueue_disabled", { queue: item.row.queue }) }
        : (written.shift() as Outcome),
    );
  }
}
