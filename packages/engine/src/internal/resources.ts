/**
 * Internal: a registry of open pools, workers, listeners and timers, so tests can fail when
 * one is left running (see test/helpers.ts). Not part of the public API.
 */
const open = new Map<object, string>();

/** Records a live resource; returns the function that forgets it. */
export function track(kind: string, resource: object): () => void {
  open.set(resource, kind);
  return () => {
    open.delete(resource);
  };
}

/** The kinds of resources still open, one entry each. */
export function openResources(): string[] {
  return [...open.values()];
}

/** The registry's name for a token cache's LISTEN connection (tokens/cache.ts). */
export const TOKENS_LISTENER = "tokens listener";

/**
 * Resources an engine holds until its `close` (its pool, the LISTEN connection of its token
 * cache), which a test may keep for a whole file; workers, listeners and timers must end with
 * the test that started them.
 */
export function engineScoped(kind: string): boolean {
  return kind === "pool" || kind === TOKENS_LISTENER;
}
