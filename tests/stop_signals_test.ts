/** The stop-signal rule: the same signal twice within a second is one request to stop. */
import { stopSignalHandler } from "../lib/stop_signals.ts";
import { assertEquals } from "./_helpers/assert.ts";

Deno.test("stop signals: a repeat within a second is the same request, a later one forces", () => {
  let t = 0;
  const calls: string[] = [];
  const handle = stopSignalHandler({
    stop: (sig) => calls.push(`stop ${sig}`),
    force: (sig) => calls.push(`force ${sig}`),
    now: () => t,
  });
  handle("SIGINT"); // the process group's copy
  t = 3;
  handle("SIGINT"); // deno task's forwarded copy
  t = 999;
  handle("SIGTERM");
  assertEquals(calls, ["stop SIGINT"]);
  t = 1000;
  handle("SIGINT"); // a deliberate second Ctrl-C
  t = 5000;
  handle("SIGTERM");
  assertEquals(calls, ["stop SIGINT", "force SIGINT", "force SIGTERM"]);
});
