import type { Engine } from "../engine.js";
import { Events } from "./events.js";
import { Sources } from "./sources.js";

/**
 * Webhook intake's store: sources (with their recent rejections) and the events they received.
 * Verification happens in the server, on the raw request, before anything reaches here.
 *
 * @example
 * const sources = await engine.intake.sources.list();
 * const page = await engine.intake.events.list({ source: "stripe", status: "failed" });
 */
export class Intake {
  readonly sources: Sources;
  readonly events: Events;

  constructor(engine: Engine) {
    this.sources = new Sources(engine);
    this.events = new Events(engine);
  }
}
