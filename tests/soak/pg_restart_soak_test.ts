/**
 * The Postgres server itself stopped and started during a run. It disturbs
 * every other user of the server, so it runs only in `deno task soak`: the
 * machine's cluster (127.0.0.1:5432) through pg_ctlcluster, else the embedded
 * server through lib/embedded_pg.ts.
 */
import { ensureEmbedded, PROJECT_ROOT, stopEmbedded } from "../../lib/embedded_pg.ts";
import { adminUrl } from "../_helpers/db.ts";
import { outageScenario } from "../_helpers/fault_scenarios.ts";
import { hostPort } from "../_helpers/faults.ts";
import { join } from "node:path";

async function pgctl(action: "stop" | "start"): Promise<void> {
  const out = await new Deno.Command("pg_ctlcluster", {
    args: ["--skip-systemctl-redirect", "15", "main", action],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`pg_ctlcluster ${action}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

Deno.test("soak: Postgres stopped for a moment and started again during a run: web 503 meanwhile, all reconnect, nothing lost", async () => {
  const { hostname, port } = hostPort(await adminUrl());
  const machine = port === 5432 && (hostname === "127.0.0.1" || hostname === "localhost");
  const dataRoot = join(PROJECT_ROOT, ".data");
  const server = machine ? { stop: () => pgctl("stop"), start: () => pgctl("start") } : {
    stop: () => stopEmbedded({ dataRoot }),
    start: async () => void await ensureEmbedded({ dataRoot, port }),
  };
  try {
    await outageScenario("Postgres restart (soak)", {
      outage: "restart",
      jobs: 3000,
      times: 2,
      server,
      command: "deno test -A tests/soak/pg_restart_soak_test.ts",
    });
  } finally {
    if (machine) await pgctl("start").catch(() => {}); // leave the machine's server running
  }
});
