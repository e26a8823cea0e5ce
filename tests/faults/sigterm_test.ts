/** SIGTERM during a run: in-flight jobs finish (grace) or go back to pending (no grace). */
import { sigtermScenario } from "../_helpers/fault_scenarios.ts";

Deno.test("faults: SIGTERM mid-run finishes or gives back in-flight jobs and counts no failed attempt", async () => {
  await sigtermScenario("SIGTERM", { command: "deno test -A tests/faults/sigterm_test.ts" });
});
