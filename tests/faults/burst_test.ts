/**
 * A burst of 5,000 enqueues while 3 worker processes drain (CI size; the
 * 50,000-job burst is in tests/soak/).
 */
import { burstScenario } from "../_helpers/fault_scenarios.ts";

Deno.test("faults: a burst of 5,000 enqueues while 3 worker processes drain: no deadlock, no double claim", async () => {
  await burstScenario("burst (CI)", {
    jobs: 5000,
    command: "deno test -A tests/faults/burst_test.ts",
  });
});
