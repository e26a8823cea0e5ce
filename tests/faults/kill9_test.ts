/**
 * kill -9 of worker processes mid-run (CI size: 3 kills during 3,000 jobs).
 * The full size (10 kills during 20,000 jobs) is in tests/soak/.
 */
import { killNineScenario } from "../_helpers/fault_scenarios.ts";

Deno.test("faults: kill -9 of a worker process 3 times during 3,000 jobs loses nothing, re-runs only rescued jobs", async () => {
  await killNineScenario("kill -9 (CI)", {
    jobs: 3000,
    kills: 3,
    command: "deno test -A tests/faults/kill9_test.ts",
  });
});
