/** A burst of 50,000 enqueues while 3 worker processes drain (`deno task soak`). */
import { burstScenario } from "../_helpers/fault_scenarios.ts";

Deno.test("soak: a burst of 50,000 enqueues while 3 worker processes drain: no deadlock, no double claim", async () => {
  await burstScenario("burst (soak)", {
    jobs: 50_000,
    command: "deno test -A tests/soak/burst_soak_test.ts",
  });
});
