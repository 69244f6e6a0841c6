import pg from "pg";
import { KeelError } from "../errors.js";
import { errorText, isConnectionError } from "./connection-errors.js";

export interface AvailabilityOptions {
  connectionString: string;
  /** A probe unanswered this long marks Postgres unavailable. Default 1,000 ms. */
  timeoutMs?: number;
  /** Time between probes. Default 500 ms. */
  intervalMs?: number;
  applicationName?: string;
}

/**
 * Watches whether Postgres answers, on a connection of its own, so that work can fail fast
 * instead of waiting on a server that does not answer (frozen, black-holed, failing over):
 * a `select 1` every `intervalMs`, unanswered after `timeoutMs`, marks the database down;
 * the first probe answered again marks it up. While down, `guard` rejects at once, and every
 * guarded query already waiting is rejected too (the query itself is not cancelled: its
 * connection is discarded when it settles or fails).
 *
 * A slow but answering server is never down: only the probe's silence counts.
 */
export class Availability {
  private readonly timeoutMs: number;
  private readonly intervalMs: number;
  private client: pg.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private down = false;
  private reason = "";
  private waiters = new Set<(err: KeelError) => void>();
  /** Times the database was marked down (visible to tests and metrics). */
  outages = 0;
  /** Probes completed so far (a test signal). */
  probes = 0;

  constructor(private readonly options: AvailabilityOptions) {
    this.timeoutMs = options.timeoutMs ?? 1_000;
    this.intervalMs = options.intervalMs ?? 500;
  }

  /** True while the last probe failed or went unanswered. */
  get available(): boolean {
    return !this.down;
  }

  start(): void {
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }

  /**
   * Settles like `work`, or rejects with `database_unavailable` as soon as Postgres is known
   * not to answer (at once when it already is).
   */
  guard<T>(work: Promise<T>): Promise<T> {
    if (this.down) {
      work.catch(() => {});
      return Promise.reject(this.error());
    }
    let waiter: ((err: KeelError) => void) | undefined;
    const downed = new Promise<never>((_, reject) => {
      waiter = reject;
      this.waiters.add(reject);
    });
    work.catch(() => {});
    return Promise.race([work, downed]).finally(() => this.waiters.delete(waiter as never));
  }

  private error(): KeelError {
    return new KeelError("database_unavailable", { detail: this.reason });
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.probe(), ms);
    this.timer.unref();
  }

  private async probe(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const silent = new Promise<"silent">((resolve) => {
      timer = setTimeout(() => resolve("silent"), this.timeoutMs);
    });
    const answered = this.ping().then(
      () => "ok" as const,
      (err: unknown) => err as Error,
    );
    const outcome = await Promise.race([answered, silent]);
    clearTimeout(timer);
    if (this.stopped) return;
    if (outcome !== "ok") {
      // A probe connection that failed or went silent is replaced on the next probe.
      const client = this.client;
      this.client = undefined;
      client?.end().catch(() => {});
    }
    if (outcome === "silent") this.markDown(`no answer within ${this.timeoutMs} ms`);
    else if (outcome !== "ok" && isConnectionError(outcome)) this.markDown(errorText(outcome));
    // Answered, or answered with an error of its own (a missing database, a refused password):
    // the server is reachable, and the queries themselves report that error with its own code.
    else this.down = false;
    this.probes++;
    this.schedule(this.intervalMs);
  }

  private async ping(): Promise<void> {
    if (!this.client) {
      const client = new pg.Client({
        connectionString: this.options.connectionString,
        application_name: `${this.options.applicationName ?? "keel"}:probe`.slice(0, 63),
        connectionTimeoutMillis: this.timeoutMs,
        keepAlive: true,
      });
      client.on("error", () => {});
      this.client = client;
      await client.connect();
    }
    await this.client.query("select 1");
  }

  private markDown(reason: string): void {
    this.reason = reason;
    if (!this.down) this.outages++;
    this.down = true;
    const err = this.error();
    for (const reject of this.waiters) reject(err);
    this.waiters.clear();
  }
}
