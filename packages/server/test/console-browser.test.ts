import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createWorker } from "@keel/engine";
import { chromium, type Page } from "playwright-core";
import { guardLeaks, testEngine, waitFor } from "../../engine/test/helpers.js";
import { consoleSettings } from "../src/config/env.js";
import { buildApp } from "../src/http/app.js";

// The operator console in a real browser (Debian's Chromium driven by playwright-core): sign in,
// act, see the effect; a read session cannot act; a cross-site form is refused; sign-out ends
// the session. Each view is screenshotted into docs/console/ and checked with axe-core.

const CHROMIUM = process.env.KEEL_TEST_CHROMIUM ?? process.env.KEEL_CHROMIUM ?? "/usr/bin/chromium";
const skip = existsSync(CHROMIUM)
  ? false
  : `no Chromium at ${CHROMIUM}: apt-get install chromium (or set KEEL_CHROMIUM) to run the console browser test`;
if (skip && process.env.CI === "true") throw new Error(`CI=true and ${skip}`);

const SHOTS = new URL("../../../docs/console/", import.meta.url).pathname;
const AXE = (createRequire(import.meta.url)("axe-core") as { source: string }).source;

guardLeaks();

test("the console in Chromium: retry a failure group, drain, pause and resume, trigger, replay; read sessions and forged forms refused", {
  skip,
}, async () => {
  // Undone last first, whatever happens: the browser before the servers it holds connections to.
  const cleanups: (() => unknown)[] = [];
  try {
    await scenario(cleanups);
  } finally {
    for (const undo of cleanups.reverse()) await undo();
  }
});

async function scenario(cleanups: (() => unknown)[]): Promise<void> {
  const engine = await testEngine();
  const admin = await engine.tokens.create({ name: "ops", scopes: ["admin"] });
  const reader = await engine.tokens.create({ name: "viewer", scopes: ["read"] });

  // A queue with three dead jobs: the handler fails until `healthy`, each job has one attempt.
  let healthy = false;
  const worker = createWorker({
    engine,
    queues: ["mail", "hooks", "reports"],
    leaseMs: 10_000,
    maintenance: false,
    handlers: {
      send: async () => {
        if (!healthy) throw new Error("smtp: connection refused");
      },
      ingest: async () => {},
      report: async () => {},
    },
  });
  await worker.start();
  cleanups.push(() => worker.stop());
  await engine.upsertQueue("mail", { maxAttempts: 1, concurrency: 4 });
  for (let i = 1; i <= 3; i++) {
    await engine.enqueue({
      queue: "mail",
      target: { handler: "send" },
      payload: { to: `user${i}@example.com` },
    });
  }
  const counts = async (queue: string) => (await engine.listQueues()).find((q) => q.name === queue)?.counts;
  await waitFor(async () => (await counts("mail"))?.dead === 3, 10_000, "three dead jobs");
  healthy = true;

  await engine.schedules.upsert("nightly-report", {
    cron: "30 2 * * *",
    timezone: "Europe/Paris",
    target: { handler: "report" },
    queue: "reports",
  });
  const { source } = await engine.intake.sources.put(
    "github",
    {
      provider: "github",
      secrets: ["s3cret-for-test"],
      routes: [{ target: { handler: "ingest" }, queue: "hooks" }],
    },
    { managedBy: "api" },
  );
  const accepted = await engine.intake.events.accept({
    source,
    eventId: "delivery-1",
    type: "push",
    contentType: "application/json",
    headers: { "x-github-event": "push" },
    body: Buffer.from('{"ref":"refs/heads/main"}'),
    verification: { provider: "github", secret: 1 },
  });

  const app = buildApp({
    pool: engine.pool,
    schema: engine.schema,
    role: "all",
    api: { engine, adminToken: undefined, console: consoleSettings(undefined, undefined, false) },
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  cleanups.push(() => app.close());
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

  // Another site (localhost is not 127.0.0.1's site) whose page posts a form to the console.
  const evil = createServer((_req, res) => {
    res.setHeader("content-type", "text/html");
    res.end(`<form id="f" method="post" action="${base}/console/queues/mail/pause">
<input name="_csrf" value="guess"></form><script>document.getElementById("f").submit()</script>`);
  });
  await new Promise<void>((resolve) => evil.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => {
    evil.closeAllConnections();
    return new Promise((resolve) => evil.close(resolve));
  });
  const evilUrl = `http://localhost:${(evil.address() as AddressInfo).port}/`;

  const profile = mkdtempSync(join(tmpdir(), "keel-chromium-"));
  cleanups.push(() => rmSync(profile, { recursive: true, force: true }));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  cleanups.push(() => browser.close());
  const page = browser.pages()[0] ?? (await browser.newPage());
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`${page.url()}: ${m.text()}`);
  });

  /** Screenshot into docs/console/<name>.png and fail on serious or critical axe violations. */
  async function view(name: string): Promise<void> {
    await page.screenshot({ path: join(SHOTS, `${name}.png`) });
    // Evaluated through the DevTools protocol: the page's CSP (no inline script) still holds for the page.
    await page.evaluate(AXE);
    // A string: it runs in the page, not in Node (no DOM types here).
    const violations = (await page.evaluate(`axe.run(document).then((r) =>
      r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length })))`)) as {
      id: string;
      impact: string;
      nodes: number;
    }[];
    const serious = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    assert.deepEqual(serious, [], `${name}: accessibility violations ${JSON.stringify(serious)}`);
  }
  const text = (p: Page) => p.locator("main").innerText();
  /** Follows a link by its exact name and waits for the page it leads to. */
  async function follow(name: string, path: string): Promise<void> {
    await page.getByRole("link", { name, exact: true }).first().click();
    await page.waitForURL(`${base}${path}`, { timeout: 10_000 });
  }

  // Sign in as admin.
  await page.goto(`${base}/console`);
  assert.equal(new URL(page.url()).pathname, "/console/sign-in");
  await view("sign-in");
  await page.getByLabel("API token").fill(admin.token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${base}/console`);
  assert.match(await text(page), /Queue mail has 3 dead job\(s\)/);
  await view("overview");

  await follow("Queues", "/console/queues");
  await view("queues");
  await follow("mail", "/console/queues/mail");
  await follow("Retry dead jobs…", "/console/queues/mail/retry-dead");
  assert.match(await text(page), /Dry run: 3 dead job\(s\) in queue mail would be retried/);
  assert.match(await text(page), /keel queues retry-dead mail/);

  // The failure group of the three dead jobs, retried as a group from the Failures view.
  await follow("Failures", "/console/failures");
  const [group] = await engine.failureGroups({ queue: "mail" });
  assert.match(group?.shape ?? "", /smtp: connection refused/);
  assert.match(await text(page), /mail\s+.*smtp: connection refused[\s\S]*\s3\s+3\s+3\s/);
  await view("failures");
  await follow("Retry group…", `/console/queues/mail/retry-dead?fingerprint=${group?.fingerprint}`);
  assert.match(
    await text(page),
    /Dry run: 3 dead job\(s\) in queue mail matching these filters would be retried/,
  );
  assert.match(
    await text(page),
    new RegExp(`keel queues retry-dead mail --fingerprint ${group?.fingerprint}`),
  );
  await view("queue-retry-dead");
  await page.getByRole("button", { name: "Retry 3 dead job(s)" }).click();
  assert.match(await page.getByRole("status").innerText(), /Retried 3 dead jobs of queue mail/);
  await waitFor(async () => (await counts("mail"))?.succeeded === 3, 10_000, "the retried jobs to succeed");
  await page.reload();
  assert.match(await text(page), /succeeded\s+3/);
  await view("queue");

  // Drain: enqueue off through the queue's switch; with nothing left the page says drained.
  page.once("dialog", (dialog) => dialog.accept());
  await page.getByRole("button", { name: "Drain queue" }).click();
  assert.match(await page.getByRole("status").first().innerText(), /Switch enqueue:mail is now off/);
  assert.match(await text(page), /Drained: enqueue is off \(switch enqueue:mail\) and no job is left/);
  await view("queue-drained");
  await page.getByRole("button", { name: "Accept new jobs again" }).click();
  assert.equal(await engine.switches.isEnabled("enqueue:mail"), true);

  await page.getByRole("button", { name: "Pause queue" }).click();
  assert.match(await page.getByRole("status").innerText(), /Paused queue mail/);
  assert.equal((await engine.listQueues()).find((q) => q.name === "mail")?.paused, true);
  await page.getByRole("button", { name: "Resume queue" }).click();
  assert.equal((await engine.listQueues()).find((q) => q.name === "mail")?.paused, false);

  await page.goto(`${base}/console/jobs?queue=mail&handler=send`);
  assert.match(await text(page), /keel jobs list --queue mail --handler send/);
  await view("jobs");
  await page.locator("tbody a").first().click();
  await page.waitForURL(/\/console\/jobs\/\d+$/);
  assert.match(await text(page), /user\d@example\.com/, "an admin sees the payload");
  assert.match(await text(page), /smtp: connection refused/, "the failed attempt is in the timeline");
  await view("job");

  await follow("Schedules", "/console/schedules");
  await view("schedules");
  await follow("nightly-report", "/console/schedules/nightly-report");
  assert.equal(await page.locator("ol.fire-times li").count(), 10);
  assert.match(await text(page), /02:30 GMT\+1/);
  await page.getByRole("button", { name: "Trigger now" }).click();
  assert.match(await page.getByRole("status").innerText(), /Triggered schedule nightly-report: 1 job/);
  const triggered = await engine.listJobs({ queue: "reports" });
  assert.equal(triggered[0]?.origin?.trigger, "manual");
  await view("schedule");

  await follow("Intake", "/console/intake");
  await view("intake");
  await follow("github", "/console/intake/sources/github");
  assert.match(await text(page), /handler ingest/);
  await view("source");
  await follow("Intake", "/console/intake");
  await follow(accepted.id, `/console/intake/events/${accepted.id}`);
  await page.getByRole("button", { name: "Replay event" }).click();
  assert.match(await page.getByRole("status").innerText(), /Replayed event .*: 1 job/);
  assert.equal((await engine.intake.events.get(accepted.id)).replays, 1);
  await view("event");

  await follow("Switches", "/console/switches");
  await view("switches");
  await follow("Tokens", "/console/tokens");
  await view("tokens");
  await follow("Audit log", "/console/audit");
  assert.match(await text(page), new RegExp(`console:token:${admin.id}\\s+queue\\.retry_dead\\s+queue:mail`));
  await view("audit");

  // The doctor's scorecard: the checks of `keel doctor`, problems first, run again on request.
  await follow("Doctor", "/console/doctor");
  assert.match(await page.getByRole("status").innerText(), /^\d+ fail, \d+ warn, \d+ pass/);
  assert.equal(await page.locator("td code", { hasText: /^postgres\.version$/ }).count(), 1);
  await page.getByRole("button", { name: "Run checks" }).click();
  await page.waitForURL(/\/console\/doctor\?run=1/);
  assert.match(await text(page), /keel doctor --no-probes/);
  await view("doctor");

  // A form posted from another site is refused, and changes nothing.
  const forged = page.waitForResponse((r) => r.url().endsWith("/console/queues/mail/pause"));
  await page.goto(evilUrl);
  assert.equal((await forged).status(), 403);
  assert.equal((await engine.listQueues()).find((q) => q.name === "mail")?.paused, false);

  // Sign-out ends the session on the server: the old cookie no longer opens a page.
  await page.goto(`${base}/console`);
  const [cookie] = await browser.cookies(base);
  await page.getByRole("button", { name: "Sign out" }).click();
  assert.match(await page.getByRole("status").innerText(), /signed out/);
  const replayed = await fetch(`${base}/console`, {
    headers: { cookie: `${cookie?.name}=${cookie?.value}` },
    redirect: "manual",
  });
  assert.equal(replayed.status, 303);

  // A read session: no buttons, payloads redacted, and the endpoints answer 403.
  await page.getByLabel("API token").fill(reader.token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${base}/console`);
  await page.goto(`${base}/console/queues/mail`);
  assert.equal(await page.locator("main button").count(), 0);
  await page.goto(`${base}/console/schedules/nightly-report`);
  assert.equal(await page.locator("main button").count(), 0);
  await page.goto(`${base}/console/failures`);
  assert.equal(await page.getByRole("link", { name: "Retry group…" }).count(), 0);
  await page.goto(`${base}/console/jobs/${triggered[0]?.id}`);
  assert.match(await text(page), /Redacted for the read role/);
  const paths = [
    "/console/queues/mail/pause",
    "/console/queues/mail/retry-dead",
    "/console/queues/mail/drain",
    "/console/schedules/nightly-report/trigger",
    `/console/intake/events/${accepted.id}/replay`,
    `/console/jobs/${triggered[0]?.id}/cancel`,
  ];
  // Posted from the page with the session's own CSRF token: only the role stands in the way.
  const statuses = await page.evaluate(`(async () => {
    const csrf = document.querySelector("input[name=_csrf]").value;
    const out = [];
    for (const path of ${JSON.stringify(paths)}) {
      const res = await fetch(path, { method: "POST", body: new URLSearchParams({ _csrf: csrf }), redirect: "manual" });
      out.push(res.status);
    }
    return out;
  })()`);
  assert.deepEqual(statuses, [403, 403, 403, 403, 403, 403]);
  assert.deepEqual(
    problems.filter((p) => !/status of 403/.test(p)),
    [],
    "no console errors (CSP refusals among them)",
  );
}
