/**
 * The database goes away during a run: every backend of the test database
 * terminated (pg_terminate_backend), and the database unreachable for 4 s
 * (a TCP proxy in front of it drops and refuses connections). Restarting the
 * server itself disturbs other tests on the machine, so it is in tests/soak/.
 */
import { describeError } from "../../lib/http/errors.ts";
import { assertEquals } from "../_helpers/assert.ts";
import { outageScenario } from "../_helpers/fault_scenarios.ts";

Deno.test("faults: pg_terminate_backend of every connection 3 times during a run: all reconnect, nothing lost", async () => {
  await outageScenario("pg_terminate_backend (CI)", {
    outage: "terminate",
    jobs: 1000,
    times: 3,
    command: "deno test -A tests/faults/outage_test.ts",
  });
});

Deno.test("faults: database unreachable for 4 s during a run: web answers 503, all reconnect, nothing lost", async () => {
  await outageScenario("database unreachable (CI)", {
    outage: "proxy",
    jobs: 1000,
    times: 1,
    downMs: 4000,
    command: "deno test -A tests/faults/outage_test.ts",
  });
});

Deno.test("faults: a dropped database connection (EPIPE, ECONNRESET, 57P01, 08006) maps to 503, not 500", () => {
  for (const code of ["EPIPE", "ECONNRESET", "CONNECTION_ENDED", "57P01", "57P02", "08006"]) {
    const d = describeError(Object.assign(new Error("connection lost"), { code }));
    assertEquals([code, d.status, d.code], [code, 503, "database_unavailable"]);
  }
  assertEquals(describeError(new Error("boom")).status, 500);
});
