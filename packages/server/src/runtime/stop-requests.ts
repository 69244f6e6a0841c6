/** What a stop request asks of a running `keel start`. */
export type StopAction = "drain" | "keep-draining" | "exit-now";

/**
 * Counts what asks `keel start` to stop. The first request starts the drain; a second *signal*
 * means an operator wants out now. The npx launcher going away is no signal: it may be noticed
 * before or after the SIGTERM that ended it (a group kill reaches both, and the ppid watcher can
 * run first on a loaded machine), and either order is one request to drain (decision 037).
 *
 * @example
 * const stops = new StopRequests();
 * stops.request("launcher exited"); // "drain"
 * stops.request("SIGTERM");         // "keep-draining": the signal that ended the launcher
 * stops.request("SIGTERM");         // "exit-now"
 */
export class StopRequests {
  private draining = false;
  private signals = 0;

  request(cause: NodeJS.Signals | "launcher exited"): StopAction {
    if (cause !== "launcher exited") this.signals++;
    if (!this.draining) {
      this.draining = true;
      return "drain";
    }
    return this.signals >= 2 ? "exit-now" : "keep-draining";
  }
}
