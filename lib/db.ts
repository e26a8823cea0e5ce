/**
 * Database access: postgres.js pools, and the choice of database.
 * `DATABASE_URL` wins; without it the embedded PostgreSQL is started (or found).
 */
import postgres from "postgres";
import { log } from "./log.ts";
import { pgSocketFactory } from "./pg_socket.ts";

/** A postgres.js pool or transaction. Every queue function takes one first. */
// deno-lint-ignore no-explicit-any
export type Sql = postgres.Sql<any>;
/** A transaction handle (same API as {@link Sql} inside `sql.begin`). */
// deno-lint-ignore no-explicit-any
export type TxSql = postgres.TransactionSql<any>;

/** Options for {@link openPool}. */
export interface PoolOptions {
  /** Most connections this pool opens (default 10). */
  max?: number;
  /** Label shown in `pg_stat_activity.application_name`. */
  name?: string;
  /** Seconds before an idle connection is closed (default 30). */
  idleTimeout?: number;
  /** Seconds a new connection may take to be ready (default 10); then CONNECT_TIMEOUT. */
  connectTimeout?: number;
  /**
   * Seconds a query may wait for a free connection when every one is busy or
   * still connecting (default: no limit); then QUEUE_TIMEOUT, and it never runs.
   */
  queueTimeout?: number;
  /**
   * How connections reach PostgreSQL: `"deno"` (default) over `Deno.connect`
   * (lib/pg_socket.ts; TLS and multi-host URLs still use node:net), `"node"`
   * over postgres.js's own node:net socket. Default: `DATABASE_SOCKET`, else `"deno"`.
   */
  socket?: "deno" | "node";
  /**
   * Named (server-side) prepared statements (default: `DATABASE_PREPARE`, else
   * true). `false` for a transaction-mode pooler such as PgBouncer 1.18, whose
   * server connections change between transactions: statements go unnamed,
   * and the connection sends no startup parameter a pooler refuses (`jit`).
   */
  prepare?: boolean;
  /**
   * Where {@link Listener}s made from this pool LISTEN: a direct session to
   * PostgreSQL (`DATABASE_LISTEN_URL`), not a transaction pooler. Default: `url`.
   */
  listenUrl?: string;
}

/** `DATABASE_SOCKET` (`deno` or `node`), when readable and set. */
function socketFromEnv(): "deno" | "node" | undefined {
  try {
    const v = Deno.env.get("DATABASE_SOCKET");
    return v === "node" || v === "deno" ? v : undefined;
  } catch {
    return undefined; // no env permission
  }
}

/**
 * `DATABASE_PREPARE` (`true`/`1` or `false`/`0`), when readable and set;
 * lib/config.ts refuses any other value at start.
 */
function prepareFromEnv(): boolean | undefined {
  try {
    const v = Deno.env.get("DATABASE_PREPARE");
    return v === "false" || v === "0" ? false : v === "true" || v === "1" ? true : undefined;
  } catch {
    return undefined; // no env permission
  }
}

/**
 * Longest pause (seconds) before a connection that failed is tried again.
 * postgres.js grows it to 20 s by default, so a request made during, or just
 * after, an outage waited up to that long before even trying. Callers that
 * retry (the worker) have backoffs of their own.
 */
const MAX_RECONNECT_DELAY_S = 0.5;

/** postgres.js reconnect delay after `retries` failed attempts in a row: jittered, capped. */
function reconnectDelay(retries: number): number {
  return (0.5 + Math.random() / 2) * Math.min(3 ** retries / 100, MAX_RECONNECT_DELAY_S);
}

/** The postgres.js options of a pool, and where its listeners connect. */
interface PoolSetup {
  // deno-lint-ignore no-explicit-any
  options: Record<string, any>;
  listenUrl: string;
}

const setups = new WeakMap<Sql, PoolSetup>();

/**
 * Opens a postgres.js pool. Queries are prepared unless `prepare` (or
 * `DATABASE_PREPARE`) says not; `bigint` count columns come back as numbers;
 * notices are dropped. Connections open lazily. A request waits for a
 * connection at most `queueTimeout` (for a free one) plus `connectTimeout`
 * (for a new one) plus {@link MAX_RECONNECT_DELAY_S}.
 */
export function openPool(url: string, opts: PoolOptions = {}): Sql {
  const prepare = opts.prepare ?? prepareFromEnv() ?? true;
  const options = {
    max: opts.max ?? 10,
    idle_timeout: opts.idleTimeout ?? 30,
    connect_timeout: opts.connectTimeout ?? 10,
    queue_timeout: opts.queueTimeout ?? null,
    backoff: reconnectDelay,
    prepare,
    onnotice: () => {},
    // JIT compiles plans in 100+ ms; queue statements are short OLTP queries it never pays off for.
    // A pooler (prepare off) refuses startup parameters it does not know: there, set jit on the server.
    connection: prepare
      ? { application_name: opts.name ?? "jobq", jit: "off" }
      : { application_name: opts.name ?? "jobq" },
    socket: opts.socket,
    types: {
      // int8 (COUNT(*)) as a JS number: counts here stay far below 2^53.
      bigint: {
        to: 20,
        from: [20],
        serialize: (x: number) => String(x),
        parse: (x: string) => Number(x),
      },
    },
  };
  const sql = connect(url, options);
  setups.set(sql, { options, listenUrl: opts.listenUrl ?? url });
  return sql;
}

/**
 * A postgres.js client for `url` with `options` (those of {@link openPool},
 * plus any of postgres.js's own): over `Deno.connect` unless `options.socket`
 * (or `DATABASE_SOCKET`) is `"node"`.
 */
// deno-lint-ignore no-explicit-any
export function connect(url: string, options: Record<string, any>): Sql {
  const { socket: kind, ...rest } = options;
  if ((kind ?? socketFromEnv() ?? "deno") === "node") return postgres(url, rest);
  // postgres.js parses the URL (sslmode, hosts, a Unix socket directory); its parsed options say
  // whether our socket can serve them. Opening a pool connects nothing, so this costs no round trip.
  const socket = pgSocketFactory(postgres(url, rest).options);
  // postgres.js reads a `socket` factory but does not declare it.
  return postgres(url, socket ? { ...rest, socket } : rest);
}

/**
 * How a LISTEN connection modelled on `sql` is opened: the pool's options and
 * its listen URL (`null` for a client {@link openPool} did not make).
 */
export function listenSetup(sql: Sql): PoolSetup | null {
  return setups.get(sql) ?? null;
}

/** Where the database is, and how it was chosen. */
export interface DatabaseChoice {
  url: string;
  kind: "url" | "embedded";
}

/**
 * Picks the database: `databaseUrl` when given, else the embedded server in
 * `<dataDir>/postgres` (started if needed). Logs which one, without password.
 */
export async function resolveDatabase(opts: {
  databaseUrl?: string;
  dataDir?: string;
  embeddedPort?: number;
  quiet?: boolean;
}): Promise<DatabaseChoice> {
  if (opts.databaseUrl) {
    if (!opts.quiet) log("info", "database", { kind: "url", url: redactUrl(opts.databaseUrl) });
    return { url: opts.databaseUrl, kind: "url" };
  }
  // Loaded here only: every runner (a Web Worker) imports this module and
  // has no use for the embedded server's code.
  const [{ ensureEmbedded, PROJECT_ROOT }, { isAbsolute, join }] = await Promise.all([
    import("./embedded_pg.ts"),
    import("node:path"),
  ]);
  const dataRoot = opts.dataDir && isAbsolute(opts.dataDir)
    ? opts.dataDir
    : join(PROJECT_ROOT, opts.dataDir ?? ".data");
  const info = await ensureEmbedded({ dataRoot, port: opts.embeddedPort });
  if (!opts.quiet) {
    log("info", "database", {
      kind: "embedded",
      url: redactUrl(info.url),
      data_dir: info.dataDir,
      started_now: info.started,
    });
  }
  return { url: info.url, kind: "embedded" };
}

/**
 * {@link resolveDatabase} for a loaded configuration: `DATABASE_URL`, else
 * the embedded server under `DATA_DIR` (on `EMBEDDED_PG_PORT` when set).
 * For entry points: when the embedded server cannot run here, it prints one
 * line saying what to do and exits with status 1.
 */
export async function configuredDatabase(
  config: { DATABASE_URL?: string; DATA_DIR: string; EMBEDDED_PG_PORT?: number },
  opts: { quiet?: boolean } = {},
): Promise<DatabaseChoice> {
  try {
    return await resolveDatabase({
      databaseUrl: config.DATABASE_URL,
      dataDir: config.DATA_DIR,
      embeddedPort: config.EMBEDDED_PG_PORT,
      quiet: opts.quiet,
    });
  } catch (err) {
    const { EmbeddedPgError } = await import("./embedded_pg.ts");
    if (!(err instanceof EmbeddedPgError)) throw err;
    console.error(`embedded PostgreSQL: ${err.message}`);
    Deno.exit(1);
  }
}

/** The URL with any password replaced by `***`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable url)";
  }
}

/** The same server, another database name. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = "/" + database;
  return u.toString();
}

/**
 * Error codes of a database that is down, restarting, or dropped the
 * connection: socket errors of the client, postgres.js connection states
 * (QUEUE_TIMEOUT: no free connection in time), SQLSTATE class 08 (connection
 * exception), 57P01–57P03 (shutdown, crash, starting up) and 53300 (too many
 * connections).
 */
const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "QUEUE_TIMEOUT",
  "57P01",
  "57P02",
  "57P03",
  "53300",
]);

/** True when `err` says the database is unreachable or dropped the connection. */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (err instanceof Deno.errors.ConnectionRefused || err instanceof Deno.errors.ConnectionReset) {
    return true;
  }
  if (err instanceof Deno.errors.BrokenPipe || err instanceof Deno.errors.TimedOut) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && (UNAVAILABLE_CODES.has(code) || code.startsWith("08"));
}

/**
 * Runs `tx` (one transaction) again when PostgreSQL aborted it as a deadlock
 * victim (40P01), up to `tries` times: an aborted transaction changed
 * nothing. For writes that lock many rows another writer may hold in
 * another order: a runner's completions sent with its next claim hold the
 * rows that claim took while they wait for their own.
 */
export async function retryDeadlock<T>(tx: () => Promise<T>, tries = 5): Promise<T> {
  for (let n = 1;; n++) {
    try {
      return await tx();
    } catch (err) {
      if ((err as { code?: unknown } | null)?.code !== "40P01" || n >= tries) throw err;
      await new Promise((r) => setTimeout(r, 10 * n + Math.random() * 20));
    }
  }
}

/** One round trip to the database (`SELECT 1`): resolves when it answers, rejects when it does not. */
export async function ping(sql: Sql): Promise<void> {
  await sql`SELECT 1`;
}
