/**
 * Web entry (`deno task web`): configuration, database, migrations, routes,
 * `Deno.serve`. With `--with-worker` (`deno task start`) it also runs a worker
 * pool in this process, so one command runs everything; without, it still
 * runs the search indexer (`worker/services/search_indexer.ts`).
 */
import { loadConfig } from "./lib/config.ts";
import { configuredDatabase, openPool } from "./lib/db.ts";
import { migrate } from "./lib/migrate.ts";
import { createApp } from "./lib/app.ts";
import { log } from "./lib/log.ts";
import { closeLiveStreams } from "./lib/live.ts";
import { prepareIslands } from "./lib/web/build.ts";
import { onStopSignals } from "./lib/stop_signals.ts";

const config = loadConfig();

// Signals are handled from the start: a stop asked for while the process is
// still starting waits until it is up (the worker may already hold jobs),
// then stops gracefully. One Ctrl-C reaches this process twice (from the
// process group and from `deno task`): only a signal more than a second after
// the first forces the exit.
const up = Promise.withResolvers<() => Promise<void>>();
onStopSignals({
  async stop(signal) {
    log("info", "web.stopping", { signal });
    await (await up.promise)();
    Deno.exit(0);
  },
  force(signal) {
    log("warn", "web.exit_now", { signal, reason: "second signal" });
    Deno.exit(130);
  },
});

const db = await configuredDatabase(config);
// A request waits a bounded time for a connection; then it is answered 503 (database unavailable).
const sql = openPool(db.url, {
  max: 20,
  name: "jobq-web",
  prepare: config.DATABASE_PREPARE,
  listenUrl: config.DATABASE_LISTEN_URL,
  connectTimeout: config.DB_WAIT_SECONDS,
  queueTimeout: config.DB_WAIT_SECONDS,
});
await migrate(sql);
const app = await createApp({ sql, config });
// Island bundles: rebuilt now when missing or out of date (else on the first page request).
await prepareIslands();

let stopWorker: (() => Promise<void>) | undefined;
if (Deno.args.includes("--with-worker")) {
  const { startSupervisor } = await import("./worker/supervisor.ts");
  const sup = await startSupervisor({ databaseUrl: db.url, config, handleSignals: false });
  stopWorker = () => sup.stop();
} else {
  // The search indexer runs here too (one process of the cluster at a time),
  // so the search's un-indexed tail stays a few seconds' worth of jobs even
  // when no worker process runs.
  const { SearchIndexer } = await import("./worker/services/search_indexer.ts");
  const { DbHealth } = await import("./worker/services/health.ts");
  const worker = `web:${Deno.hostname()}:${Deno.pid}`;
  const indexer = new SearchIndexer({ sql, worker, health: new DbHealth({ worker }) });
  indexer.start();
  stopWorker = () => Promise.resolve(indexer.stop());
}

const server = Deno.serve({
  hostname: config.HOST,
  port: config.PORT,
  onListen: ({ hostname, port }) => {
    log("info", "web.listening", { url: `http://${hostname}:${port}/`, database: db.kind });
    console.log(
      `jobq dashboard: http://${hostname === "0.0.0.0" ? "localhost" : hostname}:${port}/`,
    );
  },
}, app.fetch);

up.resolve(async () => {
  await stopWorker?.();
  closeLiveStreams(sql); // open /api/events streams would hold shutdown() forever
  await server.shutdown();
  await app.close();
  await sql.end({ timeout: 5 });
});
