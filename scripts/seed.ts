/**
 * `deno task seed [--count N] [--spread DAYS]`: fills the configured database
 * (DATABASE_URL, else the embedded one) with demo jobs of every type, priority
 * and status and their events, created over the last DAYS days (default 7);
 * N defaults to 20. Statements of 250,000 jobs on two connections.
 * Applies pending migrations first, like every entry point.
 */
import { loadConfig } from "../lib/config.ts";
import { configuredDatabase, openPool, redactUrl } from "../lib/db.ts";
import { migrate } from "../lib/migrate.ts";
import { CHANNEL_CHANGED, CHANNEL_NEW_JOBS, Notifier } from "../lib/queue/notify.ts";
import { seed, SEED_MAX_COUNT } from "../lib/queue/seed.ts";
import { parseCount, parseDays, parseFlags, UsageError } from "./args.ts";

const USAGE = `usage: deno task seed [--count N] [--spread DAYS] [--index-search]
  --count N        jobs to insert (default 20, at most ${SEED_MAX_COUNT})
  --spread DAYS    finished jobs are spread over the last DAYS days (default 7)
  --index-search   write the jobs' search rows before returning, instead of
                   leaving them to the search indexer of a running worker or
                   web process (searches find the jobs either way)`;

let count: number;
let spreadDays: number;
let indexSearch: boolean;
try {
  const flags = parseFlags(Deno.args, {
    count: "value",
    spread: "value",
    "index-search": "switch",
    help: "switch",
  });
  if (flags.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  count = flags.count === undefined ? 20 : parseCount("count", flags.count, 1, SEED_MAX_COUNT);
  spreadDays = flags.spread === undefined ? 7 : parseDays("spread", flags.spread, 3650);
  indexSearch = flags["index-search"] === "true";
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  console.error(`seed: ${err.message}\n${USAGE}`);
  Deno.exit(64);
}

/** Connections sharing the chunks (both cores of a small machine). */
const SEED_CONNECTIONS = 2;

const config = loadConfig();
const db = await configuredDatabase(config, { quiet: true });
const sql = openPool(db.url, { max: SEED_CONNECTIONS, name: "jobq-seed" });
try {
  await migrate(sql, { quiet: true });
  const started = performance.now();
  const r = await seed(sql, {
    count,
    spreadDays,
    leaseSeconds: config.JOB_LEASE_SECONDS,
    connections: SEED_CONNECTIONS,
    indexSearch,
  });
  const secs = (performance.now() - started) / 1000;
  // Wake idle workers and live dashboards.
  for (const channel of [CHANNEL_NEW_JOBS, CHANNEL_CHANGED]) {
    const n = new Notifier(sql, channel);
    n.poke();
    await n.close();
  }
  const list = (o: Record<string, number>) =>
    Object.entries(o).map(([k, v]) => `${k} ${v}`).join(", ");
  console.log(
    `seeded ${r.jobs} jobs and ${r.events} events in ${secs.toFixed(1)} s ` +
      `(created over the last ${spreadDays} days) into ${redactUrl(db.url)}`,
  );
  console.log(`  by status: ${list(r.byStatus)}`);
  console.log(`  by type:   ${list(r.byType)}`);
  if (!indexSearch) {
    console.log(
      "  search rows: written by the search indexer of a running worker or web process " +
        "(deno task start, worker or web); searches find the jobs meanwhile, more slowly " +
        "(--index-search writes them before returning)",
    );
  }
} finally {
  await sql.end({ timeout: 5 });
}
