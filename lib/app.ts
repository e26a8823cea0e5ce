/**
 * The application: the pool, the clock, the enqueue coalescer and the
 * notifiers on every request's state, and the file-system routes mounted on
 * Hono. Tests call `(await createApp({ sql, config })).fetch(new Request(...))`
 * in-process.
 */
import { Hono } from "hono";
import { join } from "node:path";
import type { Config } from "./config.ts";
import { ping, type Sql } from "./db.ts";
import { CHANNEL_CHANGED, CHANNEL_NEW_JOBS, Notifier } from "./queue/notify.ts";
import { EnqueueCoalescer } from "./queue/enqueue_coalescer.ts";
import { mountRoutes } from "fresh";
import { OutageLog } from "./http/outage.ts";
import { answerError, toHttpError } from "./http/errors.ts";
import { requestId } from "hono/request-id";
import { allowedHosts } from "./config.ts";
import { guardFormData, hostCheck, refuseWildcardPath } from "./http/guards.ts";
import { apiMiddleware } from "./http/api_middleware.ts";
import { nonceOf, pageCsrf, pageHeaders } from "./http/page_middleware.ts";
import { configureIslands } from "./web/build.ts";
import { ROOT } from "./web/paths.ts";
import type { State } from "../utils.ts";

/** The folders islands import from (their changes rebuild the island bundles). */
export const BROWSER_SAFE = ["islands", "components", "lib/jobs", "lib/browser"];

/** Options of {@link createApp}. */
export interface AppOptions {
  sql: Sql;
  config: Config;
  /** Clock for queue functions; default: the database's. */
  now?: () => Date | null;
  /** Route folder (default `routes/`) or in-memory modules (route-layer tests). */
  routesDir?: string;
  modules?: Record<string, Record<string, unknown>>;
}

/** A Hono app plus the resources it owns. */
export interface App {
  /** Serves a request; `info` (from Deno.serve) is the routes' `ctx.info` (the client address). */
  fetch: (req: Request, info?: Deno.ServeHandlerInfo) => Response | Promise<Response>;
  hono: Hono<{ Variables: { state: State } }>;
  /** Writes concurrent `POST /api/jobs` enqueues in shared statements, each notifying workers. */
  enqueuer: EnqueueCoalescer;
  newJobs: Notifier;
  changed: Notifier;
  /**
   * Waits for accepted enqueues to be written, then flushes the notifiers
   * (does not close the pool, which the caller owns).
   */
  close(): Promise<void>;
}

/** Builds the web application on an open pool. */
export async function createApp(opts: AppOptions): Promise<App> {
  configureIslands({ browserSafe: BROWSER_SAFE });
  const hono = new Hono<{ Variables: { state: State } }>();
  // Its statements notify CHANNEL_NEW_JOBS as they commit: one at a time, so nothing serialises.
  const enqueuer = new EnqueueCoalescer(opts.sql, { notify: CHANNEL_NEW_JOBS });
  const newJobs = new Notifier(opts.sql, CHANNEL_NEW_JOBS);
  const changed = new Notifier(opts.sql, CHANNEL_CHANGED, { minGapMs: 100 });
  const now = opts.now ?? (() => null);
  const outage = new OutageLog({ probe: () => ping(opts.sql) });
  const config = opts.config;
  hono.use("*", hostCheck(allowedHosts(config)));
  hono.use("/api/*", requestId());
  hono.use("*", pageHeaders);
  hono.use("*", async (c, next) => {
    c.set("state", {
      sql: opts.sql,
      config,
      now,
      enqueuer,
      newJobs,
      changed,
      outage,
      requestId: c.get("requestId") ?? crypto.randomUUID(),
      nonce: nonceOf(c),
    });
    await next();
  });
  for (const mw of apiMiddleware(config)) hono.use("/api/*", mw);
  hono.use("*", pageCsrf, guardFormData);
  await mountRoutes<State>(hono, {
    toHttpError,
    onError: answerError,
    routesDir: opts.modules ? undefined : (opts.routesDir ?? join(ROOT, "routes")),
    modules: opts.modules,
  });
  return {
    fetch: (req, info) => refuseWildcardPath(req) ?? hono.fetch(req, info),
    hono,
    enqueuer,
    newJobs,
    changed,
    async close() {
      outage.close();
      await enqueuer.close();
      await newJobs.close();
      await changed.close();
    },
  };
}
