/**
 * A handler's result reads back through `GET /api/jobs/:id` as it was
 * returned, whichever of the worker's statements wrote it (`completeIds`,
 * `completeAndClaim`): `null` and `undefined` as `null`, an object as itself;
 * the timeline reads created, claimed, completed.
 */
import { assertEquals } from "./_helpers/assert.ts";
import { bodyJson } from "./_helpers/api_server.ts";
import { openApp } from "./_helpers/app.ts";
import { completeAndClaim } from "../lib/queue/claim.ts";
import { completeIds } from "../lib/queue/complete.ts";
import { jobs } from "../lib/queue/mod.ts";

Deno.test("worker completions: results read back through the API as the handler returned them", async () => {
  const s = await openApp();
  try {
    const sql = s.db.sql;
    const results: unknown[] = [null, undefined, { ok: true, n: [1, "x"], s: 'a"\\b' }, "text", 0];
    const ids = await jobs.enqueueMany(sql, {
      jobs: results.map((_, i) => ({ type: "email", payload: { to: `u${i}@x.io` } })),
    });
    const got = new Map<string, unknown>();
    // completeIds writes the first half; completeAndClaim the rest.
    const first = await jobs.claim(sql, { worker: "w", limit: 3, leaseSeconds: 60, lean: true });
    const r1 = await completeIds(sql, {
      worker: "w",
      items: first.map((j) => {
        const result = results[ids.indexOf(j.id)];
        got.set(j.id, result);
        return { id: j.id, attempt: j.attempts, result };
      }),
    });
    assertEquals(r1.completed.length, 3);
    const second = await jobs.claim(sql, { worker: "w", limit: 5, leaseSeconds: 60, lean: true });
    const r2 = await completeAndClaim(sql, {
      worker: "w",
      leaseSeconds: 60,
      limit: 1,
      complete: second.map((j) => {
        const result = results[ids.indexOf(j.id)];
        got.set(j.id, result);
        return { id: j.id, attempt: j.attempts, result };
      }),
    });
    assertEquals(r2.completed.length, 2);
    assertEquals(r2.jobs, []);
    for (const [i, id] of ids.entries()) {
      const res = await s.call(`/api/jobs/${id}`);
      assertEquals(res.status, 200);
      const job = await bodyJson(res);
      assertEquals(job.status, "completed");
      assertEquals(job.result, results[i] ?? null, `result of item ${i}`);
      assertEquals(got.get(id), results[i]);
      const kinds = await sql<{ kind: string }[]>`
        SELECT kind FROM job_timeline WHERE job_id = ${id} ORDER BY at, id`;
      assertEquals(kinds.map((k) => k.kind), ["created", "claimed", "completed"]);
    }
    const raw = await sql<{ t: string | null }[]>`
      SELECT jsonb_typeof(result) AS t FROM job WHERE id = ANY(${ids.slice(0, 2)}::uuid[])`;
    // null and undefined are stored as JSON null (not SQL NULL), as before.
    assertEquals(raw.map((r) => r.t), ["null", "null"]);
  } finally {
    await s.close();
  }
});
