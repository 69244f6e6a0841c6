import { type FoundCron, importError, scheduleName } from "./found.js";

/**
 * The cron jobs of a render.yaml Blueprint: services with `type: cron`, a `schedule` (UTC, as
 * Render reads it) and a `startCommand` (or `dockerCommand` for Docker runtimes).
 *
 * @example
 * renderCrons({ services: [{ type: "cron", name: "cleanup", schedule: "0 3 * * *", startCommand: "npm run cleanup" }] }, "render.yaml");
 */
export function renderCrons(doc: unknown, file: string): FoundCron[] {
  const services = (doc as { services?: unknown } | null)?.services;
  if (!Array.isArray(services)) {
    throw importError(
      file,
      "no services list: a render.yaml declares cron jobs under services: with type: cron",
    );
  }
  const found: FoundCron[] = [];
  services.forEach((service, i) => {
    const s = (service ?? {}) as Record<string, unknown>;
    if (s.type !== "cron") return;
    const where = `services[${i}]${typeof s.name === "string" ? ` (${s.name})` : ""}`;
    if (typeof s.name !== "string" || s.name === "")
      throw importError(file, `${where}: a cron job needs a name`);
    if (typeof s.schedule !== "string" || s.schedule.trim() === "") {
      throw importError(file, `${where}: "schedule" must be a cron expression string (like "0 3 * * *")`);
    }
    const command = s.startCommand ?? s.dockerCommand;
    if (typeof command !== "string" || command.trim() === "") {
      throw importError(file, `${where}: a cron job needs a startCommand (or dockerCommand)`);
    }
    found.push({
      where,
      name: scheduleName(s.name, "render-cron"),
      cron: s.schedule.trim(),
      timezone: "UTC",
      call: { kind: "command", command: command.trim() },
    });
  });
  if (found.length === 0) throw importError(file, "no service with type: cron: there is nothing to import");
  return found;
}
