/** RETAIN_AUDIT: the worker's pruner deletes audit entries past their retention, and only those. */
import { ageMs, parseConfig } from "../lib/config.ts";
import { audit } from "../lib/queue/mod.ts";
import { PrunerService } from "../worker/services/pruner.ts";
import { assertEquals } from "./_helpers/assert.ts";
import { setupService } from "./_helpers/worker_services.ts";

const DAY = 86_400_000;
const FOREVER = { completed: 0, failed: 0, cancelled: 0 };

Deno.test("config: RETAIN_AUDIT defaults to 90 days; 0 keeps entries forever", () => {
  assertEquals(ageMs(parseConfig({}).RETAIN_AUDIT), 90 * DAY);
  assertEquals(ageMs(parseConfig({ RETAIN_AUDIT: "12h" }).RETAIN_AUDIT), DAY / 2);
  assertEquals(ageMs(parseConfig({ RETAIN_AUDIT: "0" }).RETAIN_AUDIT), 0);
});

Deno.test("pruner: audit entries older than RETAIN_AUDIT go, newer ones stay", async () => {
  const b = await setupService();
  try {
    const sql = b.db.sql;
    const actor = { name: "ci", via: "token" as const, address: "10.0.0.7" };
    const now = Date.now();
    for (const days of [120, 91, 89, 1]) {
      await audit.record(sql, {
        actor,
        action: "queue.pause",
        target: `q${days}`,
        now: new Date(now - days * DAY),
      });
    }
    // Jobs kept forever, audit entries 0 days: the pruner does not run at all.
    const off = new PrunerService({ sql, worker: b.id, retain: FOREVER, retainAuditMs: 0 });
    off.start();
    assertEquals([off.running, await off.runNow()], [false, null]);
    await off.stop();

    const svc = new PrunerService({
      sql,
      worker: b.id,
      retain: FOREVER,
      retainAuditMs: 90 * DAY,
    });
    svc.start();
    assertEquals(svc.running, true);
    const r = await svc.runNow();
    await svc.stop();
    assertEquals([r?.audit, r?.jobs], [2, 0]);
    const left = await audit.list(sql);
    assertEquals(left.items.map((e) => e.target).sort(), ["q1", "q89"]);
  } finally {
    await b.teardown();
  }
});
