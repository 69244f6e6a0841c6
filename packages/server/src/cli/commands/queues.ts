import { type FlowBacklog, KeelError, type QueueInfo } from "@keel/engine";
import type { Command } from "commander";
import { duration, type Output, table } from "../output.js";
import { ProgressBar } from "../progress.js";
import { type JsonFlag, runOperator } from "../run.js";
import type { Session } from "../session.js";
import { group, leaf } from "./command.js";

/** `keel queues list|show|pause|resume|retry-dead|purge-dead`. */
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

  leaf(
    queues,
    "retry-dead <name>",
    "Put every dead job of the queue back with a fresh set of attempts (a progress bar on a terminal).",
  ).action((name: string, flags: JsonFlag) =>
    runOperator(flags, async (session, out) => {
      const before = await findQueue(session, name);
      const bar =
        !out.json && process.stdout.isTTY && process.stderr.isTTY && before.counts.dead > 0
          ? new ProgressBar(process.stderr, before.counts.dead, `retrying dead jobs of ${name}`)
          : undefined;
      bar?.update(0);
      let retried: number;
      try {
        retried = await session.engine.retryDead(name, (n) => bar?.update(n), session.as);
      } finally {
        bar?.clear();
      }
      const stillDead = (await findQueue(session, name)).counts.dead;
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

  leaf(queues, "purge-dead <name>", "Delete every dead job of the queue with its attempts.").action(
    (name: string, flags: JsonFlag) =>
      runOperator(flags, async (session, out) => {
        await findQueue(session, name);
        const purged = await session.engine.purgeDead(name, undefined, session.as);
        out.result({ queue: name, purged }, () =>
          purged === 0 ? `Queue ${name} had no dead jobs.` : `Deleted ${purged} dead jobs of queue ${name}.`,
        );
      }),
  );

  return queues;
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
