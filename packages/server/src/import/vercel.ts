import { type FoundCron, importError, scheduleName } from "./found.js";

/**
 * The `crons` of a vercel.json: `[{ path, schedule }]`. Vercel reads every expression in UTC and
 * calls the path with GET on the production deployment.
 *
 * @example
 * vercelCrons({ crons: [{ path: "/api/cron/digest", schedule: "0 8 * * *" }] }, "vercel.json");
 * // [{ where: "crons[0]", name: "digest", cron: "0 8 * * *", timezone: "UTC", call: { kind: "path", path: "/api/cron/digest" } }]
 */
export function vercelCrons(doc: unknown, file: string): FoundCron[] {
  const crons = (doc as { crons?: unknown } | null)?.crons;
  if (doc === null || typeof doc !== "object" || Array.isArray(doc) || crons === undefined) {
    throw importError(
      file,
      'no "crons" array: a vercel.json lists its cron jobs as "crons": [{ "path", "schedule" }]',
    );
  }
  if (!Array.isArray(crons)) throw importError(file, '"crons" must be an array of { "path", "schedule" }');
  if (crons.length === 0) throw importError(file, '"crons" is empty: there is nothing to import');
  return crons.map((entry, i) => {
    const where = `crons[${i}]`;
    const { path, schedule } = (entry ?? {}) as { path?: unknown; schedule?: unknown };
    if (typeof path !== "string" || !path.startsWith("/")) {
      throw importError(file, `${where}: "path" must be a string starting with / (like "/api/cron/digest")`);
    }
    if (typeof schedule !== "string" || schedule.trim() === "") {
      throw importError(file, `${where}: "schedule" must be a cron expression string (like "0 8 * * *")`);
    }
    const segments = (path.split("?")[0] ?? "").split("/").filter(Boolean);
    return {
      where,
      name: scheduleName(segments.at(-1) ?? "", "root"),
      cron: schedule.trim(),
      timezone: "UTC",
      call: { kind: "path", path },
    };
  });
}
