/**
 * Ctrl-C of `deno task worker` / `deno task start`: the signal reaches the
 * whole process group, and `deno task` forwards it to its child as well. That
 * is one request to stop, not two: the stop is graceful every time. A second
 * signal more than a second later still forces the exit.
 */
import { createTestDb } from "../_helpers/db.ts";
import { report } from "../_helpers/faults.ts";
import {
  type EntryTask,
  groupForceTry,
  groupSignalTry,
  type SignalAt,
  slowWebhook,
} from "../_helpers/group_signal.ts";

const TRIES: [EntryTask, Deno.Signal, SignalAt][] = [
  ["worker", "SIGINT", "running"],
  ["worker", "SIGINT", "running"],
  ["worker", "SIGTERM", "running"],
  ["worker", "SIGINT", "running"],
  ["start", "SIGINT", "running"],
  ["start", "SIGTERM", "running"],
  // While `start` is still starting (its runners already hold jobs).
  ["start", "SIGINT", "started"],
  ["worker", "SIGINT", "started"],
];

async function withDb(
  webhookMs: number,
  fn: (db: Awaited<ReturnType<typeof createTestDb>>, env: Record<string, string>) => Promise<void>,
) {
  const db = await createTestDb();
  const hook = slowWebhook(webhookMs);
  const dataDir = await Deno.makeTempDir({ prefix: "jobq-group-signal-" });
  const env = {
    DATABASE_URL: db.url,
    DATA_DIR: dataDir,
    NOTIFY_WEBHOOK_URL: hook.url,
    SHUTDOWN_GRACE_SECONDS: "25",
  };
  try {
    await fn(db, env);
  } finally {
    await hook.close();
    await db.drop();
    await Deno.remove(dataDir, { recursive: true });
  }
}

Deno.test("group signal: one Ctrl-C to the process group of deno task worker/start stops gracefully", async () => {
  await withDb(2500, async (db, env) => {
    const figures: Record<string, unknown>[] = [];
    for (const [task, sig, at] of TRIES) {
      figures.push({ task, sig, at, ...await groupSignalTry(db, task, env, sig, at) });
    }
    await report("group signal", {
      command: "deno test -A tests/faults/group_signal_test.ts",
      tries: figures,
    });
  });
});

Deno.test("group signal: a second signal more than a second later forces the exit", async () => {
  for (const task of ["worker", "start"] as const) {
    // A database each: the forced exit leaves its jobs processing until their lease ends.
    await withDb(20_000, async (db, env) => {
      await report("group signal: forced", { task, ...await groupForceTry(db, task, env) });
    });
  }
});
