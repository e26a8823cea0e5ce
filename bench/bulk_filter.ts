/**
 * The time of bulk actions by filter (lib/queue/bulk.ts) over many jobs:
 *
 *   deno run -A bench/bulk_filter.ts [--jobs 100000] [--others 100000]
 *                                    [--database-url postgres://postgres@127.0.0.1:5432/postgres]
 *
 * In a scratch database (`jobq_bench_<pid>`, dropped at the end): `--jobs`
 * failed email jobs among `--others` completed ones, then, each timed: the
 * dry run of "retry every failed email", the retry itself (batches of 2000
 * per transaction, undo rows and audit entry included), its undo, a cancel
 * by filter of the same jobs (now pending again after a second retry), and a
 * delete by filter. JSON lines on stdout, a summary on stderr.
 */
import { parseArgs } from "node:util";
import { setLogLevel } from "../lib/log.ts";
import { bulk } from "../lib/queue/mod.ts";
import type { Actor } from "../lib/queue/audit.ts";
import { createScratch } from "./scratch.ts";
import { assertLoopback, now, round, say, settle } from "./util.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    jobs: { type: "string", default: "100000" },
    others: { type: "string", default: "100000" },
    "database-url": { type: "string" },
  },
});
const N = Number(values.jobs);
const OTHERS = Number(values.others);
const serverUrl = values["database-url"] ?? Deno.env.get("DATABASE_URL") ??
  "postgres://postgres@127.0.0.1:5432/postgres";
assertLoopback(serverUrl);
setLogLevel("error");

const ACTOR: Actor = { name: "bench", via: "token", address: "127.0.0.1" };
const FILTER = { status: ["failed" as const], type: ["email"] };
const db = await createScratch(serverUrl);
const sql = db.admin;
const emit = (metric: string, ms: number, extra: Record<string, unknown> = {}) => {
  console.log(JSON.stringify({ bench: "bulk_filter", metric, ms: round(ms), jobs: N, ...extra }));
  say(`${metric.padEnd(28)} ${(ms / 1000).toFixed(2)} s  ${JSON.stringify(extra)}`);
};
const timed = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
  await settle(sql);
  const t0 = now();
  const r = await fn();
  return [r, now() - t0];
};
try {
  const past = new Date(Date.now() - 3_600_000);
  await sql`
    INSERT INTO job (type, status, payload, error, attempts, max_attempts, created_at, updated_at,
      scheduled_for, started_at)
    SELECT 'email', 'failed', jsonb_build_object('to', 'u' || g || '@example.com', 'subject', 's',
      'body', 'b'), 'smtp down', 3, 3, ${past}, ${past}, ${past}, ${past}
    FROM generate_series(1, ${N}) g`;
  await sql`
    INSERT INTO job (type, status, payload, attempts, created_at, updated_at, scheduled_for,
      started_at, completed_at)
    SELECT 'email', 'completed', '{}'::jsonb, 1, ${past}, ${past}, ${past}, ${past}, ${past}
    FROM generate_series(1, ${OTHERS}) g`;
  await sql`VACUUM ANALYZE job`;
  say(`bulk by filter: ${N} failed jobs among ${N + OTHERS}`);

  const [count, dry] = await timed(() =>
    bulk.countFilter(sql, { action: "retry", filter: FILTER })
  );
  emit("dry_run", dry, { count });
  const [retry, tRetry] = await timed(() =>
    bulk.applyFilter(sql, { action: "retry", filter: FILTER, actor: ACTOR })
  );
  emit("retry_by_filter", tRetry, { count: retry.count, matched: retry.matched });
  const [undo, tUndo] = await timed(() => bulk.undo(sql, { id: retry.undo!.id, actor: ACTOR }));
  emit("undo", tUndo, { restored: undo?.restored, moved_on: undo?.moved_on });
  await bulk.applyFilter(sql, { action: "retry", filter: FILTER });
  const pending = { status: ["pending" as const], type: ["email"] };
  const [cancel, tCancel] = await timed(() =>
    bulk.applyFilter(sql, { action: "cancel", filter: pending, actor: ACTOR })
  );
  emit("cancel_by_filter", tCancel, { count: cancel.count });
  const [del, tDelete] = await timed(() =>
    bulk.applyFilter(sql, {
      action: "delete",
      filter: { status: ["cancelled"], type: ["email"] },
      actor: ACTOR,
    })
  );
  emit("delete_by_filter", tDelete, { count: del.count });
} finally {
  await db.drop();
}
