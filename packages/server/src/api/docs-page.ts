import type { JsonSchema, OpenApiParameter } from "./openapi.js";

// The reference page, rendered once on the server from the OpenAPI document: no script, no
// fonts, no CDN. Everything user-visible is escaped.

type Operation = {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  parameters?: OpenApiParameter[];
  requestBody?: { required: boolean; content: Record<string, { schema: JsonSchema; example?: unknown }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: JsonSchema }> }>;
};

const METHODS = ["get", "post", "put", "patch", "delete"];

const STYLE = `
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d2330;background:#fff}
main{max-width:980px;margin:0 auto;padding:1rem 2rem 4rem}
nav{background:#f4f6f9;padding:1rem 2rem;border-bottom:1px solid #dde3ea}
nav a{margin-right:1rem}
h1{margin:.2em 0} h2{margin-top:2.5rem;border-bottom:1px solid #dde3ea}
section{border:1px solid #dde3ea;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}
.m{display:inline-block;min-width:4.5em;font-weight:700;font-family:monospace}
.get{color:#17803d}.post{color:#1f5fbf}.put{color:#a35c00}.delete{color:#b3261e}
table{border-collapse:collapse;width:100%;margin:.5rem 0} td,th{border-top:1px solid #e6e9ee;padding:.3rem .5rem;text-align:left;vertical-align:top}
code,pre{font-family:ui-monospace,monospace;font-size:13px} pre{background:#f4f6f9;padding:.6rem;overflow:auto;border-radius:4px}
.req{color:#b3261e} .muted{color:#5d6675}`;

/** Escapes text for HTML, then turns `code` spans into <code>. */
function md(text: string): string {
  return escapeHtml(text).replace(/`([^`]+)`/g, "<code>$1</code>");
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch] as string,
  );
}

/** A one-line summary of a JSON Schema: type, enum, bounds, pattern. */
export function describeSchema(s: JsonSchema): string {
  const anyOf = (s.anyOf ?? s.oneOf) as JsonSchema[] | undefined;
  if (anyOf) return anyOf.map(describeSchema).join(" | ");
  if (Array.isArray(s.enum)) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (s.const !== undefined) return JSON.stringify(s.const);
  let type = typeof s.type === "string" ? s.type : Array.isArray(s.type) ? s.type.join(" | ") : "any JSON";
  if (type === "array" && s.items) type = `array of ${describeSchema(s.items as JsonSchema)}`;
  if (type === "object" && s.properties) {
    const keys = Object.entries(s.properties as Record<string, JsonSchema>).map(([k, v]) =>
      v.const === undefined ? k : `${k}: ${JSON.stringify(v.const)}`,
    );
    type = `{${keys.join(", ")}}`;
  }
  const bounds = [
    s.minimum !== undefined && `≥ ${s.minimum}`,
    s.maximum !== undefined && s.maximum !== Number.MAX_SAFE_INTEGER && `≤ ${s.maximum}`,
    s.minLength !== undefined && `length ≥ ${s.minLength}`,
    s.maxLength !== undefined && `length ≤ ${s.maxLength}`,
    s.minItems !== undefined && `items ≥ ${s.minItems}`,
    s.maxItems !== undefined && `items ≤ ${s.maxItems}`,
    typeof s.format === "string" && s.format,
    // A format says it better than the regex that checks it.
    typeof s.pattern === "string" && typeof s.format !== "string" && `pattern ${s.pattern}`,
  ].filter(Boolean);
  return bounds.length > 0 ? `${type} (${bounds.join(", ")})` : type;
}

function fieldsTable(schema: JsonSchema): string {
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  if (!properties) return `<p><code>${escapeHtml(describeSchema(schema))}</code></p>`;
  const required = new Set((schema.required ?? []) as string[]);
  const rows = Object.entries(properties).map(
    ([name, s]) =>
      `<tr><td><code>${escapeHtml(name)}</code>${required.has(name) ? ' <span class="req">required</span>' : ""}</td>` +
      `<td><code>${escapeHtml(describeSchema(s))}</code></td><td>${md(String(s.description ?? ""))}</td></tr>`,
  );
  return `<table><tr><th>field</th><th>type</th><th></th></tr>${rows.join("")}</table>`;
}

function json(value: unknown): string {
  return `<pre>${escapeHtml(JSON.stringify(value, null, 2))}</pre>`;
}

function operationHtml(method: string, path: string, op: Operation): string {
  const out = [
    `<section id="${escapeHtml(op.operationId)}">`,
    `<h3><span class="m ${method}">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code></h3>`,
    `<p><strong>${md(op.summary)}</strong></p>`,
    ...(op.description ?? "").split("\n\n").map((p) => `<p>${md(p)}</p>`),
  ];
  if (op.parameters?.length) {
    const rows = op.parameters.map(
      (p) =>
        `<tr><td><code>${escapeHtml(p.name)}</code>${p.required ? ' <span class="req">required</span>' : ""}</td>` +
        `<td>${p.in}</td><td><code>${escapeHtml(describeSchema(p.schema))}</code></td><td>${md(p.description ?? "")}</td></tr>`,
    );
    out.push(`<h4>Parameters</h4><table>${rows.join("")}</table>`);
  }
  const body = op.requestBody?.content["application/json"];
  if (op.requestBody && body) {
    out.push(`<h4>Body${op.requestBody.required ? "" : ' <span class="muted">(optional)</span>'}</h4>`);
    out.push(fieldsTable(body.schema));
    if (body.example !== undefined) out.push(`<p class="muted">Example</p>${json(body.example)}`);
    out.push(`<details><summary>JSON Schema</summary>${json(body.schema)}</details>`);
  }
  out.push("<h4>Responses</h4><table>");
  for (const [status, r] of Object.entries(op.responses)) {
    const [type, media] = Object.entries(r.content ?? {})[0] ?? [];
    const schema = media?.schema && !("$ref" in media.schema) ? media.schema : undefined;
    const detail = schema
      ? `<details><summary>${escapeHtml(type ?? "")}</summary>${json(schema)}</details>`
      : "";
    out.push(`<tr><td><code>${escapeHtml(status)}</code></td><td>${md(r.description)}${detail}</td></tr>`);
  }
  out.push("</table></section>");
  return out.join("\n");
}

/**
 * A self-contained HTML reference of an OpenAPI document.
 *
 * @example
 * const html = renderDocsPage(buildOpenApi(CONTRACTS));
 */
export function renderDocsPage(doc: Record<string, unknown>): string {
  const info = doc.info as { title: string; version: string; description: string };
  const paths = doc.paths as Record<string, Record<string, Operation>>;
  const byTag = new Map<string, string[]>();
  const nav = new Map<string, string[]>();
  for (const [path, item] of Object.entries(paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const tag = op.tags[0] ?? "Other";
      byTag.set(tag, [...(byTag.get(tag) ?? []), operationHtml(method, path, op)]);
      const link = `<a href="#${escapeHtml(op.operationId)}">${method.toUpperCase()} ${escapeHtml(path)}</a>`;
      nav.set(tag, [...(nav.get(tag) ?? []), link]);
    }
  }
  const errorSchema = (doc.components as { schemas: { Error: JsonSchema } }).schemas.Error;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(info.title)} ${escapeHtml(info.version)}</title><style>${STYLE}</style></head>
<body><nav>${[...nav].map(([tag, links]) => `<p><strong>${escapeHtml(tag)}</strong><br>${links.join("<br>")}</p>`).join("")}</nav>
<main><h1>${escapeHtml(info.title)} <span class="muted">${escapeHtml(info.version)}</span></h1>
<p>${md(info.description)}</p>
<p>The machine-readable document is at <a href="openapi.json"><code>/v1/openapi.json</code></a>.</p>
<h2>Errors</h2><p>Every error answers with this envelope; the status and the code are listed per operation.</p>
${json(errorSchema)}
${[...byTag].map(([tag, ops]) => `<h2>${escapeHtml(tag)}</h2>\n${ops.join("\n")}`).join("\n")}
</main></body></html>
`;
}
