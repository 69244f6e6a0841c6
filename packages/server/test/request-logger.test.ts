import assert from "node:assert/strict";
import { test } from "node:test";
import Fastify from "fastify";
import { lazyChildLogger } from "../src/log.js";
import { memoryLogger } from "./helpers.js";

// Fastify gives every request a child logger bound to its id; Keel's is made only when a line
// at an enabled level is written, and then carries the same binding.

test("a request's logger makes no child until it writes at an enabled level", async () => {
  const { logger, lines } = memoryLogger();
  logger.level = "warn";
  let children = 0;
  const child = logger.child.bind(logger);
  Object.assign(logger, {
    child: (...args: Parameters<typeof child>) => {
      children++;
      return child(...args);
    },
  });
  const app = Fastify({ loggerInstance: logger, childLoggerFactory: lazyChildLogger });
  app.get("/quiet", async (request) => {
    request.log.info("not written at warn");
    request.log.debug({ detail: 1 }, "nor this");
    return { ok: true };
  });
  app.get("/loud", async (request) => {
    request.log.warn({ detail: 2 }, "written");
    request.log.error("and this, by the same child");
    return { ok: true };
  });
  try {
    await app.ready();
    children = 0; // only what requests make from here on
    for (let i = 0; i < 5; i++) assert.equal((await app.inject({ url: "/quiet" })).statusCode, 200);
    assert.equal(children, 0);
    assert.equal(lines.length, 0);

    const res = await app.inject({ url: "/loud" });
    assert.equal(res.statusCode, 200);
    assert.equal(children, 1);
    const written = lines.filter((l) => l.msg === "written" || l.msg === "and this, by the same child");
    assert.equal(written.length, 2);
    for (const line of written) assert.match(String(line.reqId), /^req-/);
    assert.equal(written[0]?.detail, 2);
  } finally {
    await app.close();
  }
});

test("the lazy child reports and changes its level, and makes children of its own", () => {
  const { logger, lines } = memoryLogger();
  logger.level = "info";
  const log = lazyChildLogger(logger, { reqId: "r1" }, {});
  assert.equal(log.level, "info");
  log.level = "error";
  log.warn("dropped: the child's own level is error now");
  assert.equal(logger.level, "info", "the parent keeps its level");
  log.child({ part: "x" }).error("from a grandchild");
  assert.deepEqual(
    lines.map((l) => [l.msg, l.reqId, l.part]),
    [["from a grandchild", "r1", "x"]],
  );
});

test("a route's own level gets a real child at once", () => {
  const { logger, lines } = memoryLogger();
  logger.level = "warn";
  const log = lazyChildLogger(logger, { reqId: "r2" }, { level: "debug" });
  log.debug("kept: the route asked for debug");
  assert.deepEqual(
    lines.map((l) => [l.msg, l.reqId]),
    [["kept: the route asked for debug", "r2"]],
  );
});
