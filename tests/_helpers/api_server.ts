/**
 * A real server for API tests: a database of its own (tests/_helpers/db.ts),
 * the app from `createApp`, served by `Deno.serve` on a free loopback port.
 */
import { createApp } from "../../lib/app.ts";
import { parseConfig } from "../../lib/config.ts";
import { setLogLevel } from "../../lib/log.ts";
import { createTestDb, type TestDb } from "./db.ts";

/** A running API server and its database. */
export interface ApiServer {
  /** `http://127.0.0.1:<port>` */
  base: string;
  db: TestDb;
  /** `fetch(base + path, init)`, with `Authorization: Bearer <token>` when `token` is set. */
  call(path: string, init?: RequestInit & { token?: string }): Promise<Response>;
  /** Sends `body` as JSON (`Content-Type: application/json`). */
  post(path: string, body: unknown, init?: RequestInit & { token?: string }): Promise<Response>;
  close(): Promise<void>;
}

/** Starts a server with extra environment (`API_TOKEN`, limits, …). */
export async function startApiServer(
  env: Record<string, string> = {},
  opts: { token?: string } = {},
): Promise<ApiServer> {
  setLogLevel("error");
  const db = await createTestDb({ max: 20 });
  const config = parseConfig({ DATABASE_URL: db.url, LOG_LEVEL: "error", ...env });
  const app = await createApp({ sql: db.sql, config });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  const base = `http://127.0.0.1:${server.addr.port}`;
  const call = (path: string, init: RequestInit & { token?: string } = {}) => {
    const headers = new Headers(init.headers);
    const token = init.token ?? opts.token;
    if (token && !headers.has("authorization")) headers.set("authorization", `Bearer ${token}`);
    return fetch(base + path, { ...init, headers });
  };
  return {
    base,
    db,
    call,
    post(path, body, init = {}) {
      const headers = new Headers(init.headers);
      if (!headers.has("content-type")) headers.set("content-type", "application/json");
      return call(path, { method: "POST", ...init, headers, body: JSON.stringify(body) });
    },
    async close() {
      await server.shutdown();
      await app.close();
      await db.drop();
    },
  };
}

/** Reads a JSON body, with the status and text in the message when it is not JSON. */
export async function bodyJson<T = Record<string, unknown>>(res: Response): Promise<T> {
  const text = await res.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`expected JSON from ${res.status}, got ${text.slice(0, 500)}`);
  }
}

/**
 * A hash of every row of job, job_event, job_artifact, queue, schedule and alert:
 * equal before and after means unchanged.
 */
export async function snapshot(db: TestDb): Promise<string> {
  const [row] = await db.sql<Record<string, string | number | null>[]>`
    SELECT (SELECT md5(string_agg(j::text, ',' ORDER BY id)) FROM job j) AS jobs,
           (SELECT md5(string_agg(e::text, ',' ORDER BY id)) FROM job_event e) AS events,
           (SELECT count(*)::int FROM job_artifact) AS n,
           (SELECT md5(string_agg(q::text, ',' ORDER BY name)) FROM queue q) AS queues,
           (SELECT md5(string_agg(s::text, ',' ORDER BY name)) FROM schedule s) AS schedules,
           (SELECT md5(string_agg(a::text, ',' ORDER BY id)) FROM alert a) AS alerts`;
  return JSON.stringify(row);
}
