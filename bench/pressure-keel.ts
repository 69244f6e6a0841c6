/**
 * Keel's child process for the pressure scenario (bench/scenarios/pressure.ts), started as
 * `node --import tsx bench/pressure-keel.ts '<config json>'` so Keel runs in a fresh process like
 * the peers do. Keel as process.ts runs it: createWorker, concurrency 200, pool 20, history and
 * attempts kept; plus its lease sweep (on by default), which brings back jobs whose worker lost
 * its connection. Each claim is timed around `engine.claim` (one claim statement and its round trip).
 */
import { createWorker, Engine } from "../packages/engine/src/index.js";
import { driverConfig, type Payload, runLoad } from "./lib/pressure-load.js";

const config = driverConfig();
const engine = await Engine.connect({
  connectionString: config.databaseUrl,
  schema: config.schema,
  applicationName: config.applicationName,
  poolSize: 20,
  migrate: true,
});
const claimMs: number[] = [];
const claim = engine.claim.bind(engine);
engine.claim = async (options) => {
  const t = performance.now();
  try {
    return await claim(options);
  } finally {
    claimMs.push(performance.now() - t);
  }
};
let worker: ReturnType<typeof createWorker> | undefined;

await runLoad({
  enqueue: async (payloads) => {
    await engine.enqueueMany(
      payloads.map((payload) => ({ queue: config.queue, target: { handler: "noop" }, payload })),
    );
  },
  startWorkers: async (started, failed) => {
    worker = createWorker({
      engine,
      queues: [config.queue],
      concurrency: 200,
      handlers: { noop: ({ payload }: { payload: Payload }) => started(payload) },
      hooks: { onError: (_err, during) => failed(during) },
    });
    await worker.start();
  },
  takeClaimMs: () => claimMs.splice(0),
  stop: async () => {
    await worker?.stop();
    await engine.close();
  },
});
