/**
 * The multihost test's PgBouncer (Debian's `/usr/sbin/pgbouncer`), started
 * with an ini of its own in a temporary directory and listening on the
 * bridge address only. One process, two database names for the same
 * PostgreSQL database:
 *
 * - {@link TX_DB} in TRANSACTION mode: `DATABASE_URL` of every host, so many
 *   client connections share a few server connections;
 * - {@link LISTEN_DB} in SESSION mode: `DATABASE_LISTEN_URL`, the path LISTEN
 *   needs (a session that stays on one server connection). PostgreSQL itself
 *   listens on 127.0.0.1 only, so the namespaces reach it through something
 *   in the root namespace; a session-mode pool of the same PgBouncer is that
 *   something, with nothing new to write, and its server connections show
 *   up in the same `pg_stat_activity` count as the rest.
 *
 * PgBouncer refuses to run as root, so it is started with `-u` (the
 * `postgres` user when there is one, else `nobody`).
 */
import { PREFIX } from "./net.ts";
import { terminate } from "./procs.ts";

/** The transaction-mode database name hosts use for `DATABASE_URL`. */
export const TX_DB = `${PREFIX}_tx`;
/** The session-mode database name hosts use for `DATABASE_LISTEN_URL`. */
export const LISTEN_DB = `${PREFIX}_listen`;
/** Where the pidfile of a run's PgBouncer is kept, so the next run can stop a leftover one. */
export const PIDFILE = `/tmp/${PREFIX}-pgbouncer.pid`;
/** Where a run's PgBouncer directory is made (readable by the user PgBouncer runs as). */
const TMP = "/tmp";

/** Where PgBouncer forwards to (parsed from `DATABASE_URL`). */
export interface Upstream {
  host: string;
  port: number;
  user: string;
  password: string;
  dbname: string;
}

/** Options of {@link startPgBouncer}. */
export interface PgBouncerOptions {
  listenAddr: string;
  listenPort: number;
  upstream: Upstream;
  /** Server connections of the transaction-mode pool. */
  txPoolSize: number;
  /** Server connections of the session-mode (LISTEN) pool. */
  sessionPoolSize: number;
}

/** A running PgBouncer. */
export interface PgBouncer {
  pid: number;
  dir: string;
  /** Client URL of a database name ({@link TX_DB} or {@link LISTEN_DB}). */
  url(db: string): string;
  /** Stops it (SIGTERM, then SIGKILL) and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

function runAs(): string {
  try {
    const passwd = Deno.readTextFileSync("/etc/passwd");
    return passwd.split("\n").some((l) => l.startsWith("postgres:")) ? "postgres" : "nobody";
  } catch {
    return "nobody";
  }
}

function iniOf(o: PgBouncerOptions, dir: string): string {
  const u = o.upstream;
  const server = `host=${u.host} port=${u.port} dbname=${u.dbname} user=${u.user}` +
    (u.password ? ` password=${u.password}` : "");
  return [
    "[databases]",
    `${TX_DB} = ${server} pool_mode=transaction pool_size=${o.txPoolSize}`,
    `${LISTEN_DB} = ${server} pool_mode=session pool_size=${o.sessionPoolSize}`,
    "[pgbouncer]",
    `listen_addr = ${o.listenAddr}`,
    `listen_port = ${o.listenPort}`,
    "unix_socket_dir =",
    // Clients may name any user: the [databases] lines say which one logs in.
    "auth_type = any",
    // Read-only SHOW POOLS / SHOW STATS on the admin console, to watch a run.
    `stats_users = ${u.user}`,
    "max_client_conn = 1000",
    // postgres.js sends these at startup; PgBouncer would refuse the connection.
    "ignore_startup_parameters = extra_float_digits,jit",
    `logfile = ${dir}/pgbouncer.log`,
    `pidfile = ${PIDFILE}`,
    "",
  ].join("\n");
}

/**
 * Stops a PgBouncer an earlier run left (its pidfile names it) and removes
 * the directories of earlier runs. True when a PgBouncer was stopped.
 */
export function stopLeftover(): boolean {
  let stopped = false;
  try {
    const pid = Number(Deno.readTextFileSync(PIDFILE).trim());
    const cmd = Deno.readTextFileSync(`/proc/${pid}/cmdline`);
    if (cmd.includes("pgbouncer") && cmd.includes(`${PREFIX}-pgbouncer`)) {
      Deno.kill(pid, "SIGKILL");
      stopped = true;
    }
  } catch { /* no pidfile, or not running */ }
  try {
    Deno.removeSync(PIDFILE);
  } catch { /* gone */ }
  for (const e of Deno.readDirSync(TMP)) {
    if (e.isDirectory && e.name.startsWith(`${PREFIX}-pgbouncer.`)) {
      Deno.removeSync(`${TMP}/${e.name}`, { recursive: true });
    }
  }
  return stopped;
}

async function waitForPort(host: string, port: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      (await Deno.connect({ hostname: host, port })).close();
      return;
    } catch (err) {
      if (Date.now() > until) throw new Error(`multihost: pgbouncer not listening: ${err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Starts PgBouncer and resolves once it accepts connections. */
export async function startPgBouncer(o: PgBouncerOptions): Promise<PgBouncer> {
  const dir = await Deno.makeTempDir({ dir: TMP, prefix: `${PREFIX}-pgbouncer.` });
  const user = runAs();
  await Deno.writeTextFile(`${dir}/pgbouncer.ini`, iniOf(o, dir), { mode: 0o600 });
  await new Deno.Command("chown", { args: ["-R", user, dir] }).output();
  const child = new Deno.Command("/usr/sbin/pgbouncer", {
    args: ["-u", user, `${dir}/pgbouncer.ini`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  let stopped: Promise<void> | null = null;
  const stop = () =>
    stopped ??= (async () => {
      await terminate(child, 3000);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      await Deno.remove(PIDFILE).catch(() => {});
    })();
  try {
    await Promise.race([
      waitForPort(o.listenAddr, o.listenPort, 10_000),
      child.status.then((s) => {
        throw new Error(`multihost: pgbouncer exited at start (${s.code}); see ${dir}`);
      }),
    ]);
  } catch (err) {
    let tail = "";
    try {
      tail = (await Deno.readTextFile(`${dir}/pgbouncer.log`)).split("\n").slice(-5).join("\n");
    } catch { /* no log */ }
    await stop();
    throw new Error(`${(err as Error).message}\n${tail}`);
  }
  return {
    pid: child.pid,
    dir,
    url: (db) => {
      const u = o.upstream;
      return `postgres://${encodeURIComponent(u.user)}@${o.listenAddr}:${o.listenPort}/${db}`;
    },
    stop,
  };
}
