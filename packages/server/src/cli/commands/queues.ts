import { type DeadFilter, type FlowBacklog, KeelError, type QueueInfo } from "@keel/engine";
import { type Command, InvalidArgumentError } from "commander";
import { duration, type Output, table } from "../output.js";
import { ProgressBar } from "../progress.js";
import { type JsonFlag, runOperator } from "../run.js";
import type { Session } from "../session.js";
import { group, leaf } from "./command.js";

/** `keel queues list|show|pause|resume|retry-dead|purge-dead|failures`. */
export function queuesCommand(): Command {
  const queues = group("queues", "List queues, pause and resume them, retry their dead jobs.");

  leaf(
    queues,
    "list",
    "Every queue with its jobs per state and how long its oldest ready job has waited.",
  ).action((flags: JsonFlag) =>
    runOperator(flags, async ({ engine }, out) => {
      const list = await engine.listQueues();
      out.result({ queues: list }, () =>
        list.length === 0 ? "No queues yet: a queue is created by its first job." : queueTable(list),
      );
    }),
  );

  leaf(
    queues,
    "show <name>",
    "One queue: its settings, jobs per state, and with flow control its keys with the most waiting jobs.",
  )
    .option("--top <n>", "how many keys to list (default 10)")
    .action((name: string, flags: JsonFlag & { top?: string }) =>
      runOperator(flags, async (session, out) => {
        const queue = await findQueue(session, name);
        const top = flags.top === undefined ? 10 : Number(flags.top);
        const flow = queue.flow ? await session.engine.flowBacklog(name, top) : null;
        out.result({ queue, flowBacklog: flow }, () => showQueue(queue, flow));
      }),
    );

  leaf(
    queues,
    "pause <name>",
    "Stop workers everywhere from claiming the queue's jobs; running jobs finish.",
  ).action((name: string, flags: JsonFlag) =>
    runOperator(flags, (session, out) => setPaused(session, out, name, true)),
  );

  leaf(queues, "resume <name>", "Let workers claim the queue's jobs again.").action(
    (name: string, flags: JsonFlag) =>
      runOperator(flags, (session, out) => setPaused(session, out, name, false)),
  );

  deadFilterOptions(
    leaf(
      queues,
      "retry-dead <name>",
      "Put every dead job of the queue (or those matching the filters) back with a fresh set of attempts (a progress bar on a terminal).",
    ),
  ).action((name: string, flags: DeadFlags) =>
    runOperator(flags, async (session, out) => {
      const filter = filterOf(flags);
      await findQueue(session, name);
      const matching = await session.engine.countDead(name, filter);
      if (flags.dryRun) {
        out.result(
          { queue: name, dryRun: true, matching },
          () => `${matching} dead jobs of queue ${name} would be retried.`,
        );
        return;
      }
      const bar =
        !out.json && process.stdout.isTTY && process.stderr.isTTY && matching > 0
          ? new ProgressBar(process.stderr, matching, `retrying dead jobs of ${name}`)
          : undefined;
      bar?.update(0);
      let retried: number;
      try {
        retried = await session.engine.retryDead(name, (n) => bar?.update(n), session.as, filter);
      } finally {
        bar?.clear();
      }
      const stillDead = await session.engine.countDead(name, filter);
      out.result({ queue: name, retried, stillDead }, () => {
        const done =
          retried === 0
            ? `Queue ${name} had no dead jobs to retry.`
            : `Retried ${retried} dead jobs of queue ${name}.`;
        // Dead jobs whose dedupe key a live job holds (or a newer dead one) are left for later.
        return stillDead === 0
          ? done
          : `${done} ${stillDead} stay dead: a live or newer job holds their dedupe key.`;
      });
    }),
  );

  deadFilterOptions(
    leaf(
      queues,
      "purge-dead <name>",
      "Delete every dead job of the queue (or those matching the filters) with its attempts.",
    ),
  ).action((name: string, flags: DeadFlags) =>
    runOperator(flags, async (session, out) => {
      const filter = filterOf(flags);
      await findQueue(session, name);
      if (flags.dryRun) {
        const matching = await session.engine.countDead(name, filter);
        out.result(
          { queue: name, dryRun: true, matching },
          () => `${matching} dead jobs of queue ${name} would be deleted.`,
        );
        return;
      }
      const purged = await session.engine.purgeDead(name, undefined, session.as, filter);
      out.result({ queue: name, purged }, () =>
        purged === 0 ? `Queue ${name} had no dead jobs.` : `Deleted ${purged} dead jobs of queue ${name}.`,
      );
    }),
  );

  leaf(
    queues,
    "failures",
    "Jobs that died in the last 7 days, grouped by queue and error fingerprint (code + message shape).",
  )
    .option("--queue <name>", "only this queue")
    .action((flags: JsonFlag & { queue?: string }) =>
      runOperator(flags, async ({ engine }, out) => {
        const failures = await engine.failureGroups({ queue: flags.queue });
        out.result({ failures }, () =>
          failures.length === 0
            ? "No job died in the last 7 days."
            : table(failures, [
                { header: "QUEUE", value: (g) => g.queue },
                { header: "FINGERPRINT", value: (g) => g.fingerprint },
                { header: "1H", value: (g) => g.counts.lastHour, align: "right" },
                { header: "24H", value: (g) => g.counts.lastDay, align: "right" },
                { header: "7D", value: (g) => `${g.counts.lastWeek}${g.capped ? "+" : ""}`, align: "right" },
                { header: "SHAPE", value: (g) => g.shape },
              ]),
        );
      }),
    );

  return queues;
}

interface DeadFlags extends JsonFlag {
  fingerprint?: string;
  errorCode?: string;
  olderThan?: number;
  tenant?: string;
  dryRun?: boolean;
}

/** The filters of `retry-dead` and `purge-dead`, and `--dry-run`. */
function deadFilterOptions(command: Command): Command {
  return command
    .option(
      "--fingerprint <fp>",
      "only the failure group with this fingerprint (`keel queues failures`)",
      fingerprint,
    )
    .option("--error-code <code>", "only jobs whose error has this code")
    .option("--older-than <age>", "only jobs that died at least this long ago (90s, 30m, 12h, 7d)", age)
    .option("--tenant <tenant>", "only this tenant's jobs")
    .option("--dry-run", "print how many dead jobs would be affected, and change nothing");
}

function filterOf(flags: DeadFlags): DeadFilter {
  return {
    fingerprint: flags.fingerprint,
    errorCode: flags.errorCode,
    olderThanSeconds: flags.olderThan,
    tenant: flags.tenant,
  };
}

function fingerprint(value: string): string {
  if (!/^[0-9a-f]{12}$/.test(value)) {
    throw new InvalidArgumentError(
      "Use a fingerprint of 12 hex digits, as `keel queues failures` prints it.",
    );
  }
  return value;
}

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

/** `90s`, `30m`, `12h`, `7d` (or plain seconds) as seconds. */
function age(value: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(value);
  if (!m) throw new InvalidArgumentError("Use an age like 90s, 30m, 12h or 7d.");
  return Number(m[1]) * UNIT_SECONDS[(m[2] || "s") as keyof typeof UNIT_SECONDS];
}

async function setPaused(session: Session, out: Output, name: string, paused: boolean): Promise<void> {
  const { engine } = session;
  await findQueue(session, name);
  const { wasPaused } = paused
    ? await engine.pauseQueue(name, session.as)
    : await engine.resumeQueue(name, session.as);
  out.result({ queue: name, paused, wasPaused }, () => {
    if (paused === wasPaused) return `Queue ${name} was already ${paused ? "paused" : "active"}.`;
    return paused
      ? `Queue ${name} paused: running jobs finish, no new ones are claimed until \`keel queues resume ${name}\`.`
      : `Queue ${name} resumed: workers claim its jobs again.`;
  });
}

async function findQueue(session: Session, name: string): Promise<QueueInfo> {
  const queue = (await session.engine.listQueues()).find((q) => q.name === name);
  if (!queue) throw new KeelError("queue_not_found", { queue: name });
  return queue;
}

function queueTable(list: QueueInfo[]): string {
  const count = (state: keyof QueueInfo["counts"]) => ({
    header: state.toUpperCase(),
    value: (q: QueueInfo) => q.counts[state],
    align: "right" as const,
  });
  return table(list, [
    { header: "NAME", value: (q) => q.name },
    { header: "STATE", value: (q) => (q.paused ? "paused" : "active") },
    count("scheduled"),
    count("available"),
    count("running"),
    count("succeeded"),
    count("dead"),
    count("cancelled"),
    {
      header: "OLDEST READY",
      value: (q) => (q.oldestReadyAgeSeconds > 0 ? duration(q.oldestReadyAgeSeconds) : "-"),
      align: "right",
    },
    { header: "CONCURRENCY", value: (q) => q.concurrency ?? "-", align: "right" },
  ]);
}

function showQueue(q: QueueInfo, backlog: FlowBacklog | null): string {
  const lines = [
    queueTable([q]),
    "",
    `concurrency ${q.concurrency ?? "no limit"}, max attempts ${q.maxAttempts}`,
    `flow ${q.flow ? flowText(q.flow) : "none"}`,
  ];
  if (backlog) {
    lines.push("", `${backlog.keys} keys hold jobs; most waiting:`);
    lines.push(
      backlog.top.length === 0
        ? "(none)"
        : table(backlog.top, [
            { header: "KEY", value: (k) => k.key },
            { header: "WAITING", value: (k) => k.waiting, align: "right" },
            { header: "RUNNING", value: (k) => k.running, align: "right" },
          ]),
    );
  }
  return lines.join("\n");
}

function flowText(flow: NonNullable<QueueInfo["flow"]>): string {
  const parts = [`key ${flow.key}`];
  if (flow.concurrency !== undefined) parts.push(`concurrency ${flow.concurrency} per key`);
  if (flow.rate) {
    parts.push(
      `rate ${flow.rate.limit} per ${flow.rate.windowSeconds} s per key (burst ${flow.rate.burst ?? 2})`,
    );
  }
  return parts.join(", ");
}
