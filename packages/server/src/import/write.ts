import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { basename, extname } from "node:path";
import { KeelError } from "@keel/engine";
import { Document, isMap, parseDocument, type Scalar, YAMLMap } from "yaml";
import { parseConfigFile } from "../config/file.js";
import { importError } from "./found.js";
import type { ImportResult } from "./schedules.js";

/**
 * The imported schedules as a config file in YAML, with a comment above each schedule saying
 * where it came from and what is left to do.
 *
 * @example
 * process.stdout.write(importedYaml(importCrons("vercel.json", { baseUrl })));
 */
export function importedYaml(result: ImportResult): string {
  const doc = new Document({ schedules: {} });
  doc.commentBefore = header(result);
  const map = doc.get("schedules") as YAMLMap;
  addSchedules(doc, map, result);
  return doc.toString({ lineWidth: 0 });
}

/** What `--write` did. */
export interface WriteOutcome {
  path: string;
  added: string[];
  replaced: string[];
}

/**
 * Merges the imported schedules into a YAML or JSON config file (created when missing). A
 * schedule the file already declares is replaced only with `force`; otherwise `schedule_exists`
 * names every one and nothing is written. The merged file must pass Keel's config loader.
 */
export function writeImported(path: string, result: ImportResult, force: boolean): WriteOutcome {
  const ext = extname(path).toLowerCase();
  if (![".yaml", ".yml", ".json"].includes(ext)) {
    throw importError(
      result.file,
      `--write ${path}: only YAML and JSON config files can be merged into; print the config and paste it into a JS module yourself`,
    );
  }
  const text = existsSync(path) ? readFileSync(path, "utf8") : "";
  const names = Object.keys(result.schedules);
  const outcome: WriteOutcome = { path, added: [], replaced: [] };
  let output: string;
  let merged: unknown;
  if (ext === ".json") {
    let config: Record<string, unknown>;
    try {
      config = text.trim() === "" ? {} : (JSON.parse(text) as Record<string, unknown>);
    } catch (err) {
      throw importError(result.file, `--write ${path}: not valid JSON (${(err as Error).message})`);
    }
    const schedules = (config.schedules ?? {}) as Record<string, unknown>;
    sortOut(names, (n) => n in schedules, outcome, path, force);
    config.schedules = { ...schedules, ...result.schedules };
    merged = config;
    output = `${JSON.stringify(config, null, 2)}\n`;
  } else {
    const doc = parseDocument(text);
    if (doc.errors.length > 0) {
      throw importError(
        result.file,
        `--write ${path}: not valid YAML (${doc.errors[0]?.message.split("\n")[0]})`,
      );
    }
    if (doc.contents === null) doc.contents = doc.createNode({}) as never;
    let map = doc.get("schedules");
    if (map === undefined || map === null) {
      map = new YAMLMap();
      doc.set("schedules", map);
    }
    if (!isMap(map)) throw importError(result.file, `--write ${path}: schedules: is not a map`);
    sortOut(names, (n) => map.has(n), outcome, path, force);
    for (const name of outcome.replaced) map.delete(name);
    addSchedules(doc, map, result);
    merged = doc.toJS();
    output = doc.toString({ lineWidth: 0 });
  }
  const parsed = parseConfigFile(merged, path);
  if ("problems" in parsed) {
    throw new KeelError("invalid_config", {
      problems: `- ${parsed.problems.join("\n- ")}`,
      list: parsed.problems,
    });
  }
  writeFileSync(path, output);
  return outcome;
}

function sortOut(
  names: string[],
  exists: (name: string) => boolean,
  outcome: WriteOutcome,
  path: string,
  force: boolean,
): void {
  const taken = names.filter(exists);
  if (taken.length > 0 && !force) {
    throw new KeelError("schedule_exists", {
      file: basename(path),
      names: taken.map((n) => `'${n}'`).join(", "),
    });
  }
  outcome.replaced = taken;
  outcome.added = names.filter((n) => !taken.includes(n));
}

function addSchedules(doc: Document, map: YAMLMap, result: ImportResult): void {
  for (const [name, definition] of Object.entries(result.schedules)) {
    const pair = doc.createPair(name, definition);
    const note = result.notes[name];
    if (note) (pair.key as Scalar).commentBefore = ` ${note}`;
    map.add(pair);
  }
}

function header(result: ImportResult): string {
  const lines = [` Imported from ${basename(result.file)} (${result.format}) by keel import.`];
  if (result.format !== "crontab")
    lines.push(
      ` ${result.format === "vercel" ? "Vercel" : "Render"} reads cron expressions in UTC: timezone is UTC.`,
    );
  if (result.baseUrl) lines.push(` Base URL: ${result.baseUrl}`);
  for (const note of result.fileNotes) lines.push(` ${note}`);
  return lines.join("\n");
}
