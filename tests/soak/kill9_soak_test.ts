/** kill -9 of a worker process 10 times during a 20,000-job run (`deno task soak`). */
import { killNineScenario } from "../_helpers/fault_scenarios.ts";

Deno.test("soak: kill -9 of a worker process 10 times during 20,000 jobs loses nothing, re-runs only rescued jobs", async () => {
  await killNineScenario("kill -9 (soak)", {
    jobs: 20_000,
    kills: 10,
    ms: 15,
    command: "deno test -A tests/soak/kill9_soak_test.ts",
  });
});
