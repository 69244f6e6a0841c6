import type { Engine, Source } from "@keel/engine";

export interface SourceCacheOptions {
  /** How long one read of the sources serves requests, ms. Default 1000. */
  ttlMs?: number;
  /** A name not in the cache reads again at most this often, ms. Default 250. */
  missTtlMs?: number;
  now?: () => number;
}

/**
 * The sources as last read, shared by every intake request: one query a second however many
 * webhooks arrive, so a change made on any replica applies within about a second. A name not
 * found triggers an early read (a source just created), at most every `missTtlMs`, so a flood
 * of unknown names cannot turn into a flood of queries.
 */
export class SourceCache {
  private byName = new Map<string, Source>();
  private readAt = Number.NEGATIVE_INFINITY;
  private reading: Promise<void> | undefined;
  private readonly ttlMs: number;
  private readonly missTtlMs: number;
  private readonly now: () => number;

  constructor(
    private readonly engine: Pick<Engine, "intake">,
    options: SourceCacheOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 1_000;
    this.missTtlMs = options.missTtlMs ?? 250;
    this.now = options.now ?? (() => performance.now());
  }

  /** The source, or undefined when no such source exists. */
  async get(name: string): Promise<Source | undefined> {
    if (this.now() - this.readAt >= this.ttlMs) await this.read();
    const source = this.byName.get(name);
    if (source || this.now() - this.readAt < this.missTtlMs) return source;
    await this.read();
    return this.byName.get(name);
  }

  private read(): Promise<void> {
    this.reading ??= (async () => {
      try {
        const list = await this.engine.intake.sources.list();
        this.byName = new Map(list.map((s) => [s.name, s]));
        this.readAt = this.now();
      } finally {
        this.reading = undefined;
      }
    })();
    return this.reading;
  }
}
