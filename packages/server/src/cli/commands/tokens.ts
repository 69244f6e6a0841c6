import { KeelError, type TokenInfo } from "@keel/engine";
import { SCOPES, type Scope } from "@keel/protocol/names";
import { type Command, InvalidArgumentError, Option } from "commander";
import { clean, table, time } from "../output.js";
import { type JsonFlag, runOperator } from "../run.js";
import { group, leaf } from "./command.js";

/** `keel tokens create|list|revoke`. */
export function tokensCommand(): Command {
  const tokens = group("tokens", "API tokens: create (shown once), list, revoke.");

  leaf(tokens, "create", "Create an API token and print it, the only time it is shown.")
    .requiredOption("--name <name>", "what the token is for, e.g. ci or billing-app")
    .addOption(
      new Option("--scope <scope>", `${SCOPES.join(", ")}; repeat for several`)
        .argParser(collectScope)
        .makeOptionMandatory(),
    )
    .action((flags: JsonFlag & { name: string; scope: Scope[] }) =>
      runOperator(flags, async (session, out) => {
        // The secret never goes into the audit log: the engine records the name and scopes.
        const created = await session.engine.tokens.create(
          { name: flags.name, scopes: flags.scope },
          session.as,
        );
        out.result(created, () =>
          [
            `Created token ${created.id} "${clean(created.name)}" with scopes ${created.scopes.join(", ")}:`,
            "",
            `  ${created.token}`,
            "",
            "This is the only time it is shown; Keel keeps only its hash. Store it now.",
          ].join("\n"),
        );
      }),
    );

  leaf(tokens, "list", "Every token, newest first: never the secret, only its first characters.").action(
    (flags: JsonFlag) =>
      runOperator(flags, async ({ engine }, out) => {
        const list = await engine.tokens.list();
        out.result({ tokens: list }, () =>
          list.length === 0
            ? "No tokens yet: keel tokens create --name <name> --scope <scope>."
            : tokenTable(list),
        );
      }),
  );

  leaf(tokens, "revoke <id>", "Revoke a token at once; requests with it are refused from now on.").action(
    (id: string, flags: JsonFlag) =>
      runOperator(flags, async (session, out) => {
        const before = (await session.engine.tokens.list()).find((t) => t.id === id);
        if (!before) throw new KeelError("token_not_found", { id });
        const alreadyRevoked = before.revokedAt !== null;
        const revoked = alreadyRevoked ? before : await session.engine.tokens.revoke(id, session.as);
        out.result({ ...revoked, alreadyRevoked }, () =>
          alreadyRevoked
            ? `Token ${revoked.id} "${clean(revoked.name)}" was already revoked at ${time(revoked.revokedAt)} by ${clean(revoked.revokedBy ?? "?")}.`
            : `Token ${revoked.id} "${clean(revoked.name)}" revoked.`,
        );
      }),
  );

  return tokens;
}

// `--scope admin --scope read` and `--scope admin,read` both work.
function collectScope(value: string, previous: Scope[] | undefined): Scope[] {
  const scopes = value.split(",").map((s) => s.trim());
  for (const scope of scopes) {
    if (!(SCOPES as readonly string[]).includes(scope)) {
      throw new InvalidArgumentError(`Use ${SCOPES.join(", ")}.`);
    }
  }
  return [...(previous ?? []), ...(scopes as Scope[])];
}

function tokenTable(list: TokenInfo[]): string {
  return table(list, [
    { header: "ID", value: (t) => t.id, align: "right" },
    { header: "NAME", value: (t) => t.name, max: 40 },
    { header: "PREFIX", value: (t) => `${t.prefix}…` },
    { header: "SCOPES", value: (t) => t.scopes.join(",") },
    { header: "STATUS", value: (t) => (t.revokedAt ? "revoked" : "active") },
    { header: "CREATED", value: (t) => time(t.createdAt) },
    { header: "BY", value: (t) => t.createdBy, max: 40 },
    { header: "LAST USED", value: (t) => time(t.lastUsedAt) },
    { header: "REVOKED", value: (t) => time(t.revokedAt) },
  ]);
}
