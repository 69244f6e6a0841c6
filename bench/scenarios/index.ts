import type { Scenario } from "../lib/scenario.js";
import { cron } from "./cron.js";
import { delivery } from "./delivery.js";
import { enqueue } from "./enqueue.js";
import { flowScenario } from "./flow.js";
import { intake } from "./intake.js";
import { memory } from "./memory.js";
import { pickup } from "./pickup.js";
import { pressure } from "./pressure.js";
import { processScenario } from "./process.js";
import { ratelimit } from "./ratelimit.js";

/**
 * Every scenario, in the order of the benchmark issue. Each file under scenarios/ exports one
 * `Scenario`; add it here.
 */
export const SCENARIOS: Scenario[] = [
  enqueue,
  processScenario,
  pickup,
  delivery,
  intake,
  ratelimit,
  memory,
  cron,
  flowScenario,
  pressure,
];
