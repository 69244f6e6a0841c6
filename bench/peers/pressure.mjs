/**
 * graphile-worker 0.18 and pg-boss 12 for the pressure scenario (bench/scenarios/pressure.ts), on
 * the peers' Node 22: `node pressure.mjs '<config json>'`. The load loop is bench/lib/pressure-load.ts,
 * the same file Keel's driver runs (Node 22 strips its types). Each system in its best
 * configuration from the process scenario; neither exposes its claim timings, so only pickup
 * latency (enqueue → handler start) is measured for them.
 */
import { Logger, makeWorkerUtils, run } from "graphile-worker";
import { PgBoss } from "pg-boss";
import { driverConfig, runLoad } from "../lib/pressure-load.ts";

let logged = 0;
/** The first few errors in full, then every 100th (a storm makes hundreds). */
function logError(message) {
  logged++;
  if (logged <= 5 || logged % 100 === 0) console.error(`${message} (error ${logged})`);
}

const config = driverConfig();

if (config.system === "graphile-worker") {
  let onError = () => {};
  // graphile-worker logs every job at debug; only its errors count (and go to stderr).
  const logger = new Logger(() => (level, message) => {
    if (level === "error") {
      onError();
      logError(`graphile-worker: ${message}`);
    }
  });
  const utils = await makeWorkerUtils({
    connectionString: config.databaseUrl,
    schema: config.schema,
    logger,
  });
  await utils.migrate();
  let runner;
  let stopping = false;
  const runnerEnded = (why) => {
    if (stopping) return;
    console.error(`graphile-worker: ${why}; exiting as graphile-worker's CLI does`);
    process.exit(2);
  };
  await runLoad({
    enqueue: async (payloads) => {
      await utils.addJobs(payloads.map((payload) => ({ identifier: "noop", payload })));
    },
    startWorkers: async (started, failed) => {
      onError = () => failed("error");
      runner = await run({
        connectionString: config.databaseUrl,
        schema: config.schema,
        logger,
        noHandleSignals: true,
        crontab: "",
        concurrency: 50,
        maxPoolSize: 20,
        preset: { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0 } },
        taskList: {
          noop: async (payload) => {
            started(payload);
          },
        },
      });
      // A runner that ends by itself (its pool or local queue gave up) runs no job again while
      // the process idles; graphile-worker's own CLI exits then, and so does this driver, so
      // the scenario reports it as a crash instead of counting the jobs it never runs.
      runner.promise.then(
        () => runnerEnded("the runner stopped by itself"),
        (err) => runnerEnded(`the runner failed: ${err?.stack ?? err}`),
      );
    },
    stop: async () => {
      stopping = true;
      await runner?.stop();
      await utils.release();
    },
  });
} else if (config.system === "pg-boss") {
  const boss = new PgBoss({
    connectionString: config.databaseUrl,
    schema: config.schema,
    application_name: config.applicationName,
    max: 20,
    useListenNotify: true,
  });
  let onError = () => {};
  boss.on("error", (err) => {
    onError();
    logError(`pg-boss: ${err?.message ?? err}`);
  });
  await boss.start();
  await boss.createQueue(config.queue, { notify: true });
  await runLoad({
    enqueue: async (payloads) => {
      await boss.insert(
        config.queue,
        payloads.map((data) => ({ data })),
      );
    },
    startWorkers: async (started, failed) => {
      onError = () => failed("error");
      await boss.work(
        config.queue,
        {
          batchSize: 100,
          localConcurrency: 4,
          pollingIntervalSeconds: 0.5,
          notifyPollingIntervalSeconds: 2,
          burstWhenBatchFull: true,
        },
        async (jobs) => {
          for (const job of jobs) started(job.data);
        },
      );
    },
    stop: () => boss.stop({ graceful: false, wait: true, close: true }),
  });
} else {
  throw new Error(`unknown system ${config.system}`);
}
