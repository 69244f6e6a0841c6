import pg from "pg";
import { track } from "../internal/resources.js";

export interface ListenerOptions {
  connectionString: string;
  channel: string;
  /** Called with the payload (a queue name) of each notification. */
  onNotify: (payload: string) => void;
  /** Called after every (re)connection: notifications sent while disconnected are lost. */
  onConnect?: () => void;
  /** Called when a connection that was up is lost: notifications are missed until `onConnect`. */
  onDisconnect?: () => void;
  onError?: (err: Error) => void;
  /** What the resource registry calls it (tests check none is left open). Default `listener`. */
  kind?: string;
  /** How often the idle connection is checked, so a silently dropped socket is noticed. */
  checkIntervalMs?: number;
}

/**
 * A dedicated LISTEN connection that reconnects with backoff when it breaks. Pools cannot
 * hold LISTEN state, hence its own client.
 */
export class Listener {
  private client: pg.Client | undefined;
  private stopped = false;
  private retryMs = 100;
  private retryTimer: NodeJS.Timeout | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  private untrack: (() => void) | undefined;
  /** Connections made so far, including the first (visible to tests). */
  connects = 0;

  constructor(private readonly options: ListenerOptions) {}

  async start(): Promise<void> {
    this.untrack = track(this.options.kind ?? "listener", this);
    await this.connect();
    // Stopped while connecting: no check timer outlives stop().
    if (this.stopped) return;
    const every = this.options.checkIntervalMs ?? 5_000;
    this.checkTimer = setInterval(() => void this.check(), every);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({
      connectionString: this.options.connectionString,
      application_name: `keel-listener:${this.options.channel}`.slice(0, 63),
      keepAlive: true,
      connectionTimeoutMillis: 5_000,
    });
    client.on("notification", (msg) => {
      if (msg.channel === this.options.channel) this.options.onNotify(msg.payload ?? "");
    });
    const broken = (err?: Error) => {
      if (this.client !== client) return;
      this.client = undefined;
      this.options.onDisconnect?.();
      if (err) this.options.onError?.(err);
      client.end().catch(() => {});
      this.scheduleReconnect();
    };
    client.on("error", broken);
    client.on("end", () => broken());
    try {
      await client.connect();
      await client.query(`listen ${pg.escapeIdentifier(this.options.channel)}`);
    } catch (err) {
      client.end().catch(() => {});
      this.options.onError?.(err as Error);
      this.scheduleReconnect();
      return;
    }
    if (this.stopped) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.retryMs = 100;
    this.connects++;
    this.options.onConnect?.();
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.retryTimer) return;
    const delay = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, 5_000);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, delay);
  }

  /** A round trip on the idle connection: a half-open socket shows up here as an error. */
  private async check(): Promise<void> {
    const client = this.client;
    if (!client) return;
    const timeout = new Promise<never>((_, reject) => {
      const t = setTimeout(() => reject(new Error("LISTEN connection check timed out")), 3_000);
      t.unref();
    });
    try {
      await Promise.race([client.query("select 1"), timeout]);
    } catch (err) {
      if (this.client === client) {
        this.client = undefined;
        this.options.onDisconnect?.();
        this.options.onError?.(err as Error);
        client.end().catch(() => {});
        this.scheduleReconnect();
      }
    }
  }

  /** True while a LISTEN connection is up. */
  get connected(): boolean {
    return this.client !== undefined;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.checkTimer);
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    if (client) await client.end().catch(() => {});
    this.untrack?.();
  }
}
