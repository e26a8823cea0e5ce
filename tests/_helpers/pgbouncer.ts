/**
 * A real PgBouncer (Debian's `pgbouncer`, 1.18 here) in transaction pooling
 * mode, in front of the test database's server: on a free loopback port, with
 * its ini and userlist in a temporary directory, clients trusted (the test
 * server is trust auth; a password in the database URL is passed on). Its
 * pool is smaller than the clients' connections, so consecutive transactions
 * of one client land on different server sessions, as in production.
 * Without the binary it throws: tests that need it fail, they do not skip.
 */

/** Where Debian installs it (`apt-get install pgbouncer`); `PGBOUNCER_BIN` overrides. */
const DEFAULT_BIN = "/usr/sbin/pgbouncer";

/** A running PgBouncer. */
export interface PgBouncer {
  /** Its TCP port on 127.0.0.1. */
  readonly port: number;
  /** `databaseUrl` (any database of the same server) as reached through PgBouncer. */
  url(databaseUrl: string): string;
  /** Everything it printed (its log goes to stderr). */
  log(): string;
  /** Kills it at once (SIGKILL): every client and server connection drops. */
  kill(): Promise<void>;
  /** Starts it again on the same port (after {@link kill}). */
  restart(): Promise<void>;
  /** Stops it and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

/** Options of {@link startPgBouncer}. */
export interface PgBouncerOptions {
  /** Server connections per database and user (default 6). */
  poolSize?: number;
}

/** Starts PgBouncer in transaction mode in front of the server of `databaseUrl`. */
export async function startPgBouncer(
  databaseUrl: string,
  opts: PgBouncerOptions = {},
): Promise<PgBouncer> {
  const bin = Deno.env.get("PGBOUNCER_BIN") || DEFAULT_BIN;
  try {
    await Deno.stat(bin);
  } catch {
    throw new Error(
      `pgbouncer not found at ${bin}: install it (Debian: apt-get install pgbouncer), ` +
        "or set PGBOUNCER_BIN to its path",
    );
  }
  const server = new URL(databaseUrl);
  const user = decodeURIComponent(server.username || "postgres");
  const password = decodeURIComponent(server.password);
  const port = freePort();
  const dir = await Deno.makeTempDir({ prefix: "jobq-pgbouncer-" });
  const target = [
    `host=${server.hostname || "127.0.0.1"}`,
    `port=${server.port || 5432}`,
    `user=${user}`,
    ...(password ? [`password=${password}`] : []),
  ].join(" ");
  const ini = [
    "[databases]",
    `* = ${target}`,
    "[pgbouncer]",
    "listen_addr = 127.0.0.1",
    `listen_port = ${port}`,
    "unix_socket_dir =",
    "auth_type = trust",
    `auth_file = ${dir}/userlist.txt`,
    "pool_mode = transaction",
    `default_pool_size = ${opts.poolSize ?? 6}`,
    "max_client_conn = 1000",
    "server_login_retry = 1",
    // PgBouncer refuses to run as root; the files below are world-readable for this user.
    ...(Deno.uid() === 0 ? ["user = nobody"] : []),
    "",
  ].join("\n");
  await Deno.writeTextFile(`${dir}/pgbouncer.ini`, ini);
  await Deno.writeTextFile(`${dir}/userlist.txt`, `"${user}" ""\n`);
  await Deno.chmod(dir, 0o755);
  for (const f of ["pgbouncer.ini", "userlist.txt"]) await Deno.chmod(`${dir}/${f}`, 0o644);

  let output = "";
  let child: Deno.ChildProcess | null = null;
  let stopped = false;

  async function launch(): Promise<void> {
    const proc = new Deno.Command(bin, {
      args: [`${dir}/pgbouncer.ini`],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    child = proc;
    const collect = async (s: ReadableStream<Uint8Array>) => {
      const dec = new TextDecoder();
      for await (const chunk of s) output += dec.decode(chunk, { stream: true });
    };
    collect(proc.stdout).catch(() => {});
    collect(proc.stderr).catch(() => {});
    const exited = proc.status.then(() => true);
    for (let i = 0; i < 200; i++) {
      if (await Promise.race([exited, new Promise<false>((r) => setTimeout(() => r(false), 50))])) {
        throw new Error(`pgbouncer exited at start:\n${output}`);
      }
      if (await accepts(port)) return;
    }
    throw new Error(`pgbouncer did not listen on 127.0.0.1:${port} within 10 s:\n${output}`);
  }

  async function kill(): Promise<void> {
    const proc = child;
    child = null;
    if (!proc) return;
    try {
      proc.kill("SIGKILL");
    } catch {
      // already gone
    }
    await proc.status;
  }

  await launch();
  return {
    port,
    url(dbUrl: string) {
      const u = new URL(dbUrl);
      u.hostname = "127.0.0.1";
      u.port = String(port);
      return u.toString();
    },
    log: () => output,
    kill,
    async restart() {
      await kill();
      await launch();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await kill();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** A TCP port on 127.0.0.1 nobody listens on right now. */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** True when something accepts a TCP connection on 127.0.0.1:`port`. */
async function accepts(port: number): Promise<boolean> {
  try {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    c.close();
    return true;
  } catch {
    return false;
  }
}
