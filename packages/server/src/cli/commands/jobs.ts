import type { Attempt, JobRecord, JobSummary, JobTarget } from "@keel/engine";
import { JOB_STATES, JOBS_CURSOR, type JobState } from "@keel/protocol/names";
import { type Command, InvalidArgumentError, Option } from "commander";
import { presentTarget } from "../../api/present.js";
import { shellWord } from "../../console/html.js";
import { duration, fields, table, time } from "../output.js";
import { type JsonFlag, runOperator } from "../run.js";
import { group, leaf } from "./command.js";

const PAYLOAD_SHOWN = 500;

interface ListFlags extends JsonFlag {
  queue?: string;
  state?: JobState;
  tenant?: string;
  handler?: string;
  host?: string;
  dedupeKey?: string;
  createdFrom?: string;
  createdTo?: string;
  limit: number;
  cursor?: string;
}

/** `keel jobs get|list|retry|cancel`. */
export function jobsCommand(): Command {
  const jobs = group("jobs", "Inspect jobs, retry dead ones, cancel unfinished ones.");

  leaf(jobs, "get <id>", "One job with its payload and every attempt.").action(
    (id: string, flags: JsonFlag) =>
      runOperator(flags, async ({ engine }, out) => {
        const stored = await engine.getJob(id);
        // Literal credentials (in header values or the URL) are not printed, as in the API.
        const job = { ...stored, target: presentTarget(stored.target) };
        out.result(job, () => describeJob(job));
      }),
  );

  leaf(jobs, "list", "Jobs newest first, a page at a time.")
    .option("--queue <queue>", "only this queue")
    .addOption(new Option("--state <state>", "only jobs in this state").choices(JOB_STATES))
    .option("--tenant <tenant>", "only this tenant's jobs")
    .option("--handler <name>", "only jobs for this handler (@http: HTTP targets)")
    .option("--host <host>", "only HTTP jobs whose URL has this host")
    .option("--dedupe-key <key>", "only jobs with this dedupe key")
    .option("--created-from <time>", "created at or after (ISO 8601)", isoTime)
    .option("--created-to <time>", "created before (ISO 8601)", isoTime)
    .option("--limit <n>", "jobs per page, 1 to 1000", pageSize, 50)
    .option(
      "--cursor <cursor>",
      "the page after this cursor (printed as the next cursor) or job id",
      jobsCursor,
    )
    .action((flags: ListFlags) =>
      runOperator(flags, async ({ engine }, out) => {
        const limit = flags.limit;
        const { jobs: page, nextCursor } = await engine.listJobsPage({
          queue: flags.queue,
          state: flags.state,
          tenant: flags.tenant,
          handler: flags.handler,
          host: flags.host,
          dedupeKey: flags.dedupeKey,
          createdFrom: flags.createdFrom,
          createdTo: flags.createdTo,
          before: flags.cursor,
          limit,
        });
        const shown = page.map((j) => ({ ...j, target: presentTarget(j.target) }));
        out.result({ jobs: shown, nextCursor }, () => {
          if (page.length === 0) return flags.cursor ? "No more jobs." : "No jobs match.";
          const next = nextCursor
            ? `\n\nNext page: keel jobs list${sameFilters(flags)} --cursor ${nextCursor}`
            : "";
          return `${jobTable(shown)}${next}`;
        });
      }),
    );

  leaf(
    jobs,
    "retry <id>",
    "Put a dead or cancelled job back in its queue with a fresh set of attempts.",
  ).action((id: string, flags: JsonFlag) =>
    runOperator(flags, async (session, out) => {
      const { engine } = session;
      await engine.retry(id, session.as);
      const job = await engine.getJob(id);
      out.result(
        { id: job.id, queue: job.queue, state: job.state },
        () =>
          `Job ${job.id} is back in queue ${job.queue} (${job.state}), attempts reset to 0 of ${job.maxAttempts}.`,
      );
    }),
  );

  leaf(jobs, "cancel <id>", "Cancel an unfinished job; a running job's worker loses its lease.").action(
    (id: string, flags: JsonFlag) =>
      runOperator(flags, async (session, out) => {
        const { id: jobId, previousState } = await session.engine.cancel(id, session.as);
        out.result({ id: jobId, state: "cancelled", previousState }, () =>
          previousState === "running"
            ? `Job ${jobId} cancelled while running: its worker loses the lease and its result is discarded.`
            : `Job ${jobId} cancelled (it was ${previousState}).`,
        );
      }),
  );

  return jobs;
}

/** The flags that give the same list again, for the next page's command. */
function sameFilters(flags: ListFlags): string {
  const given: [string, string | number | undefined][] = [
    ["--queue", flags.queue],
    ["--state", flags.state],
    ["--tenant", flags.tenant],
    ["--handler", flags.handler],
    ["--host", flags.host],
    ["--dedupe-key", flags.dedupeKey],
    ["--created-from", flags.createdFrom],
    ["--created-to", flags.createdTo],
    ["--limit", flags.limit === 50 ? undefined : flags.limit],
  ];
  return given
    .map(([name, value]) => (value === undefined ? "" : ` ${name} ${shellWord(String(value))}`))
    .join("");
}

function jobsCursor(value: string): string {
  if (!JOBS_CURSOR.test(value))
    throw new InvalidArgumentError("Use a next cursor printed by a page, or a job id (digits).");
  return value;
}

function isoTime(value: string): string {
  if (Number.isNaN(Date.parse(value)))
    throw new InvalidArgumentError("Use an ISO 8601 time (2025-05-01T09:00:00Z).");
  return value;
}

function pageSize(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 1000)
    throw new InvalidArgumentError("Use a whole number from 1 to 1000.");
  return n;
}

function describeJob(job: JobRecord): string {
  const payload = JSON.stringify(job.payload) ?? "null";
  const shown =
    payload.length > PAYLOAD_SHOWN
      ? `${payload.slice(0, PAYLOAD_SHOWN)}… (${payload.length} characters; --json shows all)`
      : payload;
  const head = fields([
    ["id", job.id],
    ["queue", job.queue],
    ["state", job.state],
    ["target", target(job.target)],
    ["attempts", `${job.attempt} of ${job.maxAttempts}`],
    ["priority", job.priority],
    ["tenant", job.tenant],
    ["dedupe key", job.dedupeKey],
    ["created", time(job.createdAt)],
    ["run at", time(job.runAt)],
    ["lease until", time(job.leaseUntil)],
    ["worker", job.workerId],
    ["finished", time(job.finishedAt)],
    ["last error", job.lastError ? errorText(job.lastError) : null],
    ["payload", shown],
  ]);
  if (job.attempts.length === 0) return `${head}\n\nNo attempts yet.`;
  return `${head}\n\n${attemptTable(job.attempts)}`;
}

function attemptTable(attempts: Attempt[]): string {
  return table(attempts, [
    { header: "#", value: (a) => a.attempt, align: "right" },
    { header: "OUTCOME", value: (a) => a.outcome },
    { header: "STARTED", value: (a) => time(a.startedAt) },
    {
      header: "TOOK",
      value: (a) => duration((new Date(a.finishedAt).getTime() - new Date(a.startedAt).getTime()) / 1000),
      align: "right",
    },
    { header: "WORKER", value: (a) => a.workerId, max: 30 },
    { header: "STATUS", value: (a) => a.responseStatus, align: "right" },
    { header: "ERROR", value: (a) => (a.error ? errorText(a.error) : null), max: 80 },
  ]);
}

function jobTable(page: JobSummary[]): string {
  return table(page, [
    { header: "ID", value: (j) => j.id, align: "right" },
    { header: "QUEUE", value: (j) => j.queue },
    { header: "STATE", value: (j) => j.state },
    { header: "ATTEMPTS", value: (j) => `${j.attempt}/${j.maxAttempts}`, align: "right" },
    { header: "TARGET", value: (j) => target(j.target), max: 50 },
    { header: "RUN AT", value: (j) => time(j.runAt) },
    { header: "CREATED", value: (j) => time(j.createdAt) },
    { header: "LAST ERROR", value: (j) => (j.lastError ? errorText(j.lastError) : null), max: 50 },
  ]);
}

// Header values may hold credentials when not written as ${VAR}: only their names are shown.
function target(t: JobTarget): string {
  if ("handler" in t) return `handler ${t.handler}`;
  const headers = Object.keys(t.headers ?? {});
  return `${t.method ?? "POST"} ${t.url}${headers.length ? ` (headers: ${headers.join(", ")})` : ""}`;
}

function errorText(error: { code?: string; message: string }): string {
  return error.code ? `${error.code}: ${error.message}` : error.message;
}
