/**
 * `deno task prune [--older-than 30d] [--batch-size N] [--dry-run]`: deletes
 * finished jobs (completed, failed, cancelled) that finished longer ago than
 * their state's retention (`RETAIN_COMPLETED`, `RETAIN_FAILED`,
 * `RETAIN_CANCELLED`), or than `--older-than` (`30d`, `12h`, `90m`) for every
 * state, with their events and artifacts, in short batches that never block
 * workers. Pending and processing jobs stay.
 * Uses DATABASE_URL, else the embedded database; applies pending migrations
 * first, like every entry point.
 */
import { describeAge, loadConfig, retentionOf } from "../lib/config.ts";
import { configuredDatabase, openPool, redactUrl } from "../lib/db.ts";
import { migrate } from "../lib/migrate.ts";
import { FINISHED_STATUSES, prune, PRUNE_BATCH_SIZE, prunesAnything } from "../lib/queue/prune.ts";
import { formatDuration, parseCount, parseDuration, parseFlags, UsageError } from "./args.ts";

const USAGE = `usage: deno task prune [--older-than AGE] [--batch-size N] [--dry-run]
  (no --older-than)  delete finished jobs past RETAIN_COMPLETED, RETAIN_FAILED, RETAIN_CANCELLED
  --older-than AGE   delete finished jobs of any state that finished more than AGE ago: 30d, 12h or 90m
  --batch-size N     jobs deleted per transaction (default ${PRUNE_BATCH_SIZE})
  --dry-run          only count what would be deleted`;

let olderThanMs: number | undefined;
let batchSize: number;
let dryRun: boolean;
try {
  const flags = parseFlags(Deno.args, {
    "older-than": "value",
    "batch-size": "value",
    "dry-run": "switch",
    help: "switch",
  });
  if (flags.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  olderThanMs = flags["older-than"] === undefined
    ? undefined
    : parseDuration("older-than", flags["older-than"]);
  batchSize = flags["batch-size"] === undefined
    ? PRUNE_BATCH_SIZE
    : parseCount("batch-size", flags["batch-size"], 1, 100_000);
  dryRun = flags["dry-run"] === "true";
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  console.error(`prune: ${err.message}\n${USAGE}`);
  Deno.exit(64);
}

const config = loadConfig();
const retain = olderThanMs === undefined ? retentionOf(config) : undefined;
if (retain && !prunesAnything(retain)) {
  console.log(
    "nothing to prune: RETAIN_COMPLETED, RETAIN_FAILED and RETAIN_CANCELLED are all 0 (keep forever)",
  );
  Deno.exit(0);
}
const db = await configuredDatabase(config, { quiet: true });
const sql = openPool(db.url, { max: 1, name: "jobq-prune" });
const controller = new AbortController();
const onSignal = () => controller.abort();
Deno.addSignalListener("SIGINT", onSignal);
Deno.addSignalListener("SIGTERM", onSignal);
try {
  await migrate(sql, { quiet: true });
  const started = performance.now();
  let lastReport = started;
  const r = await prune(sql, {
    ...(retain ? { retain } : { olderThanMs }),
    batchSize,
    dryRun,
    signal: controller.signal,
    onBatch: (t) => {
      const now = performance.now();
      if (now - lastReport < 2000) return;
      lastReport = now;
      console.log(`  … ${t.jobs} jobs, ${t.events} events deleted so far (${t.batches} batches)`);
    },
  });
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  const what = `${r.jobs} finished jobs, ${r.events} events and ${r.artifacts} artifacts`;
  const when = olderThanMs !== undefined && r.cutoff
    ? `finished before ${r.cutoff.toISOString()} (older than ${formatDuration(olderThanMs)})`
    : `past their retention (${
      FINISHED_STATUSES.filter((s) => r.cutoffs[s]).map((s) =>
        `${s}: kept ${describeAge(retain?.[s] ?? 0)}, finished before ${
          r.cutoffs[s]?.toISOString()
        }`
      ).join("; ")
    })`;
  if (r.dryRun) {
    console.log(`dry run: would delete ${what} ${when} from ${redactUrl(db.url)}`);
  } else {
    console.log(
      `${r.stopped ? "stopped early: " : ""}deleted ${what} ${when} in ${r.batches} batches, ` +
        `${secs} s, from ${redactUrl(db.url)}`,
    );
  }
} finally {
  Deno.removeSignalListener("SIGINT", onSignal);
  Deno.removeSignalListener("SIGTERM", onSignal);
  await sql.end({ timeout: 5 });
}
