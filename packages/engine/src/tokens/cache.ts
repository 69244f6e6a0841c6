import { tokensChannel } from "../db/sql.js";
import type { Engine } from "../engine.js";
import { TOKENS_LISTENER } from "../internal/resources.js";
import { Listener } from "../notify/listener.js";
import type { TokenInfo } from "./tokens.js";

const MAX_ENTRIES = 1_000;

/**
 * Verified API tokens kept in memory by digest, so a request with a token seen a moment ago
 * does not ask Postgres (decision 062). Sound only while this process hears revocations:
 * `revoke_token` notifies the schema's tokens channel in its transaction, and on that notice
 * (delivered at commit, to every replica) the whole cache is forgotten. Hence entries are served
 * and kept only while the LISTEN connection is up; losing or regaining it forgets everything; a
 * lookup during which any of this happened keeps nothing (it may have read the token before the
 * revocation committed); no entry is older than `ttlMs` (the lookup that replaces one also marks
 * the token used, at most once a minute). Without a connection string for LISTEN (a
 * transaction-mode pooler and no direct URL) or with `ttlMs` 0, nothing is kept.
 *
 * @example
 * const mark = cache.mark();            // before the lookup
 * const info = await lookUp(digest);
 * if (info) cache.keep(digest, info, mark);
 * cache.get(digest);                    // info, until a revocation, a reconnection or ttlMs
 */
export class TokenCache {
  private readonly entries = new Map<string, { info: TokenInfo; at: number }>();
  private listener: Listener | undefined;
  private closed = false;
  /** Bumped whenever what was kept may be stale: a revocation, a lost or new connection. */
  private generation = 0;
  /** Revocation notices heard so far. */
  private notices = 0;

  constructor(
    private readonly engine: Engine,
    private readonly ttlMs: number,
  ) {}

  /** The token behind `digest` if it was verified recently and nothing revoked since. */
  get(digest: string): TokenInfo | undefined {
    if (!this.listener?.connected) return undefined;
    const entry = this.entries.get(digest);
    if (entry === undefined) return undefined;
    if (performance.now() - entry.at >= this.ttlMs) {
      this.entries.delete(digest);
      return undefined;
    }
    return entry.info;
  }

  /** Taken before a lookup in Postgres; `keep` refuses its result if anything changed since. */
  mark(): number {
    this.listen();
    return this.generation;
  }

  keep(digest: string, info: TokenInfo, mark: number): void {
    if (mark !== this.generation || !this.listener?.connected) return;
    if (this.entries.size >= MAX_ENTRIES) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(digest, { info, at: performance.now() });
  }

  /** Whether revocations are heard now, connections made, notices heard and entries kept: for tests. */
  get state(): { listening: boolean; connects: number; notices: number; kept: number } {
    return {
      listening: this.listener?.connected ?? false,
      connects: this.listener?.connects ?? 0,
      notices: this.notices,
      kept: this.entries.size,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.forget();
    await this.listener?.stop();
  }

  /** Drops everything kept, and the result of every lookup in flight. */
  forget(): void {
    this.generation++;
    this.entries.clear();
  }

  /** Starts listening on the first lookup (the connection comes up in the background). */
  private listen(): void {
    const connectionString = this.engine.listenConnectionString;
    if (this.listener || this.closed || this.ttlMs <= 0 || connectionString === undefined) return;
    const forget = () => this.forget();
    this.listener = new Listener({
      connectionString,
      channel: tokensChannel(this.engine.schema),
      kind: TOKENS_LISTENER,
      onNotify: () => {
        this.notices++;
        forget();
      },
      onConnect: forget,
      onDisconnect: forget,
    });
    void this.listener.start();
  }
}
