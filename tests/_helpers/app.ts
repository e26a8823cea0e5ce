/**
 * The in-process harness for API and page tests (Hono's `app.request()`
 * way): a database of its own (tests/_helpers/db.ts) and the app from
 * `createApp`, called without a socket. `ctx.info` is a loopback client
 * unless a test names another address.
 *
 * Tests that are about a socket (SSE streams, client disconnects, the worker
 * protocol under load, a server that must be reached by another process) use
 * `startApiServer` in ./api_server.ts instead.
 */
import { type App, createApp } from "../../lib/app.ts";
import { parseConfig } from "../../lib/config.ts";
import { setLogLevel } from "../../lib/log.ts";
import type { ApiServer } from "./api_server.ts";
import { createTestDb, type TestDb } from "./db.ts";

/** The in-process app: the same calls as a served one (`base` is only the URLs' origin). */
export interface TestApp extends ApiServer {
  /** Calls as if from `address` (the routes' `ctx.info`), e.g. for per-address limits. */
  callFrom(
    address: string,
    path: string,
    init?: RequestInit & { token?: string },
  ): Promise<Response>;
  /**
   * A `fetch` of the app for clients that take a base URL and a fetch (an
   * OpenAPI client): URLs on `base`, from loopback, no default token.
   */
  fetch(input: Request | URL | string, init?: RequestInit): Promise<Response>;
  /** The app itself (its coalescer, …). */
  app: App;
}

/** Options of {@link openApp}. */
export interface AppOptions {
  /** Bearer token sent with every call that does not name its own. */
  token?: string;
  /** An existing database to use (not dropped on close); default: a new one. */
  db?: TestDb;
  /** The URLs' origin (e.g. the configured `PUBLIC_URL`); default `http://127.0.0.1:8000`. */
  base?: string;
}

const DEFAULT_BASE = "http://127.0.0.1:8000";

function loopback(hostname = "127.0.0.1"): Deno.ServeHandlerInfo {
  return {
    remoteAddr: { transport: "tcp", hostname, port: 40_000 },
    completed: Promise.resolve(),
  } as Deno.ServeHandlerInfo;
}

/** Opens the app with extra environment (`API_TOKEN`, limits, …); `close()` when done. */
export async function openApp(
  env: Record<string, string> = {},
  opts: AppOptions = {},
): Promise<TestApp> {
  setLogLevel("error");
  const BASE = opts.base ?? DEFAULT_BASE;
  const db = opts.db ?? await createTestDb({ max: 20 });
  const config = parseConfig({ DATABASE_URL: db.url, LOG_LEVEL: "error", ...env });
  const app = await createApp({ sql: db.sql, config });
  const callFrom = async (
    address: string,
    path: string,
    init: RequestInit & { token?: string } = {},
  ) => {
    const headers = new Headers(init.headers);
    const token = init.token ?? opts.token;
    if (token && !headers.has("authorization")) headers.set("authorization", `Bearer ${token}`);
    const { token: _token, ...rest } = init;
    return await app.fetch(new Request(BASE + path, { ...rest, headers }), loopback(address));
  };
  const call = (path: string, init: RequestInit & { token?: string } = {}) =>
    callFrom("127.0.0.1", path, init);
  const fetch = async (input: Request | URL | string, init?: RequestInit) => {
    const req = new Request(input, init);
    if (!req.url.startsWith(BASE + "/")) throw new TypeError(`not on ${BASE}: ${req.url}`);
    return await app.fetch(req, loopback());
  };
  return {
    base: BASE,
    db,
    app,
    call,
    callFrom,
    fetch,
    post(path, body, init = {}) {
      const headers = new Headers(init.headers);
      if (!headers.has("content-type")) headers.set("content-type", "application/json");
      return call(path, { method: "POST", ...init, headers, body: JSON.stringify(body) });
    },
    async close() {
      await app.close();
      if (!opts.db) await db.drop();
    },
  };
}

/**
 * Runs `fn` with an app of its own and closes it afterwards, also when `fn`
 * throws: each test step that calls it gets its own database.
 */
export async function withApp<T>(
  fn: (app: TestApp) => Promise<T>,
  env: Record<string, string> = {},
  opts: AppOptions = {},
): Promise<T> {
  const app = await openApp(env, opts);
  try {
    return await fn(app);
  } finally {
    await app.close();
  }
}
