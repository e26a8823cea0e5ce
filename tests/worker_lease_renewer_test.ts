/**
 * The lease renewer alone: extends the leases of the jobs the holders report,
 * and tells a holder it lost a job missing from two renewals in a row.
 */
import type { Sql } from "../lib/db.ts";
import { jobs } from "../lib/queue/mod.ts";
import type { JobRef } from "../worker/protocol.ts";
import { type Holders, LeaseRenewer } from "../worker/services/lease_renewer.ts";
import { assert, assertEquals } from "./_helpers/assert.ts";
import { insertJob } from "./_helpers/factory.ts";
import { type ServiceBundle, setupService, unreachablePool } from "./_helpers/worker_services.ts";

/** Holders kept in a map (as the runner pool keeps them), recording what they were told. */
function holdersOf(held: Map<string, JobRef[]>) {
  const told: [string, string[]][] = [];
  const holders: Holders = {
    holdings: () => [...held].map(([lockedBy, list]) => ({ lockedBy, jobs: list })),
    holds: (lockedBy, id) => (held.get(lockedBy) ?? []).some((j) => j.id === id),
    lost: (lockedBy, ids) => told.push([lockedBy, ids]),
  };
  return { holders, told };
}

async function heldJob(sql: Sql, lockedBy: string): Promise<JobRef> {
  const job = await insertJob(sql, {
    type: "noop",
    status: "processing",
    locked_by: lockedBy,
    locked_until: new Date(Date.now() + 2000),
  });
  return { id: job.id, type: job.type, attempt: job.attempts };
}

function renewerOf(b: ServiceBundle, holders: Holders, sql: Sql = b.db.sql) {
  return new LeaseRenewer({ sql, holders, health: b.health, leaseSeconds: 60 });
}

Deno.test("lease renewer service", async (t) => {
  await t.step("extends the lease of every job held, by the lease length", async () => {
    const b = await setupService();
    try {
      const runner = `${b.id}/1`;
      const job = await heldJob(b.db.sql, runner);
      const { holders, told } = holdersOf(new Map([[runner, [job]]]));
      await renewerOf(b, holders).renew();
      const row = (await jobs.get(b.db.sql, { id: job.id }))!;
      const left = row.locked_until!.getTime() - Date.now();
      assert(left > 50_000 && left <= 60_000, `lease left: ${left} ms`);
      assertEquals(told, []);
    } finally {
      await b.teardown();
    }
  });

  await t.step("a job taken from its runner is reported lost at the second miss", async () => {
    const b = await setupService();
    try {
      const runner = `${b.id}/1`;
      const kept = await heldJob(b.db.sql, runner);
      const taken = await heldJob(b.db.sql, runner);
      await b.db.sql`UPDATE job SET locked_by = 'someone-else/1' WHERE id = ${taken.id}`;
      const { holders, told } = holdersOf(new Map([[runner, [kept, taken]]]));
      const renewer = renewerOf(b, holders);
      await renewer.renew();
      assertEquals(told, [], "one miss is only suspect (a renewal may race a completion)");
      await renewer.renew();
      assertEquals(told, [[runner, [taken.id]]]);
    } finally {
      await b.teardown();
    }
  });

  await t.step("a job the holder dropped meanwhile is never reported", async () => {
    const b = await setupService();
    try {
      const runner = `${b.id}/1`;
      const job = await heldJob(b.db.sql, runner);
      await b.db.sql`UPDATE job SET status = 'completed', locked_by = NULL, locked_until = NULL,
        completed_at = now() WHERE id = ${job.id}`;
      const held = new Map([[runner, [job]]]);
      const { holders, told } = holdersOf(held);
      const renewer = renewerOf(b, { ...holders, holds: () => false });
      await renewer.renew();
      await renewer.renew();
      assertEquals(told, []);
    } finally {
      await b.teardown();
    }
  });

  await t.step("an unreachable database is an outage, never thrown", async () => {
    const b = await setupService();
    const down = unreachablePool();
    try {
      const job = await heldJob(b.db.sql, `${b.id}/1`);
      const { holders, told } = holdersOf(new Map([[`${b.id}/1`, [job]]]));
      await renewerOf(b, holders, down).renew();
      assertEquals([b.downs.length, b.health.up, told.length], [1, false, 0]);
    } finally {
      await b.teardown(down);
    }
  });
});
