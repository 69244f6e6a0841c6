import type { Command } from "commander";
import { presentRejection, presentSource } from "../../api/present-intake.js";
import { table, time } from "../output.js";
import { type JsonFlag, runOperator } from "../run.js";
import { group, leaf } from "./command.js";

/** `keel sources list|rejections`. Secrets are never printed: references and fingerprints only. */
export function sourcesCommand(): Command {
  const sources = group("sources", "Webhook sources (POST /in/<source>) and their recent rejections.");

  leaf(sources, "list", "Every source: provider, secrets (references or fingerprints), routes.").action(
    (flags: JsonFlag) =>
      runOperator(flags, async ({ engine }, out) => {
        const list = (await engine.intake.sources.list()).map((s) => presentSource(s, process.env));
        out.result({ sources: list }, () =>
          list.length === 0
            ? "No sources: declare them under sources: in the config file, or PUT /v1/sources/<name>."
            : table(list, [
                { header: "NAME", value: (s) => s.name },
                { header: "PROVIDER", value: (s) => s.provider },
                { header: "URL", value: (s) => s.url },
                {
                  header: "SECRETS",
                  value: (s) => s.secrets.map((x) => x.reference ?? `stored:${x.fingerprint}`).join(" "),
                  max: 60,
                },
                { header: "ROUTES", value: (s) => s.routes.length, align: "right" },
                { header: "MANAGED BY", value: (s) => s.managedBy },
              ]),
        );
      }),
  );

  leaf(
    sources,
    "rejections <name>",
    "The source's most recent refused requests: reason and time (for a misconfigured secret).",
  ).action((name: string, flags: JsonFlag) =>
    runOperator(flags, async ({ engine }, out) => {
      await engine.intake.sources.get(name);
      const list = (await engine.intake.sources.rejections(name, 100)).map(presentRejection);
      out.result({ rejections: list }, () =>
        list.length === 0
          ? `Source ${name} has refused no request recently.`
          : table(list, [
              { header: "AT", value: (r) => time(r.at) },
              { header: "REASON", value: (r) => r.reason },
              { header: "SIZE", value: (r) => r.bodySize, align: "right" },
              { header: "DETAIL", value: (r) => r.detail, max: 100 },
            ]),
      );
    }),
  );

  return sources;
}
