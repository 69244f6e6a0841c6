import assert from "node:assert/strict";
import { test } from "node:test";
import { StopRequests } from "../src/runtime/stop-requests.js";

test("the npx launcher going away and the SIGTERM that ended it are one request, in either order", () => {
  for (const order of [
    ["SIGTERM", "launcher exited"],
    ["launcher exited", "SIGTERM"],
  ] as const) {
    const stops = new StopRequests();
    assert.deepEqual(
      order.map((cause) => stops.request(cause)),
      ["drain", "keep-draining"],
      order.join(" then "),
    );
  }
});

test("a second signal exits at once, whatever else asked to stop", () => {
  const stops = new StopRequests();
  assert.equal(stops.request("SIGTERM"), "drain");
  assert.equal(stops.request("SIGINT"), "exit-now");
  const afterLauncher = new StopRequests();
  assert.equal(afterLauncher.request("launcher exited"), "drain");
  assert.equal(afterLauncher.request("SIGTERM"), "keep-draining");
  assert.equal(afterLauncher.request("SIGINT"), "exit-now");
});
