/**
 * Where the embedded PostgreSQL runs from. Run by root, the server runs as the
 * unprivileged `postgres` user, which must reach its binaries and its data
 * folder. Inside a private folder (mode 0700: root's home, `mktemp -d`) it
 * reaches neither; then the server runs from a copy of the binaries, and keeps
 * its data, in `/var/tmp/jobq-<hash of the data root>/`, and
 * `<DATA_DIR>/postgres` is a symlink to that data folder (so it is still found
 * there). A checkout whose server already works is left as it is.
 */
import { dirname, join, resolve } from "node:path";
import { log } from "./log.ts";

/** A case the embedded server cannot run in; the message says what to do, in one line. */
export class EmbeddedPgError extends Error {
  override name = "EmbeddedPgError";
}

/** Parent of the per-checkout folders of relocated binaries and data. */
export const RELOCATED_BASE = "/var/tmp";

/** Binaries and data folder of one embedded server, as the server sees them. */
export interface Placement {
  /** Folder of initdb, pg_ctl and postgres. */
  binDir: string;
  /** The data folder, with no symlink on the way. */
  dataDir: string;
}

/** True when the process runs as root (and so runs the server as `postgres`). */
export function isRoot(): boolean {
  return Deno.uid() === 0;
}

/**
 * Places the server of `dataRoot` (its data in `<dataRoot>/postgres`) whose
 * binaries are in `binDir`. Call under the data root's lock. Throws
 * {@link EmbeddedPgError} when existing data cannot be reached.
 */
export async function placeEmbedded(
  opts: { dataRoot: string; binDir: string },
): Promise<Placement> {
  const root = resolve(opts.dataRoot);
  const home = join(root, "postgres");
  if (!isRoot()) return { binDir: opts.binDir, dataDir: home };
  // A symlinked data folder (made here earlier, or by hand) is used where it points.
  const linked = await linkTarget(home);
  const dataOk = linked !== null || await postgresCanReach(root);
  const binOk = await postgresCanReach(join(opts.binDir, "initdb"));
  if (dataOk && binOk) return { binDir: opts.binDir, dataDir: linked ?? home };
  if (!dataOk) await refuseUnreachableData(home);
  const base = await relocatedFolder(root);
  const binDir = binOk ? opts.binDir : await copyBinaries(opts.binDir, base);
  const dataDir = dataOk ? linked ?? home : await relocateData(home, base);
  log("info", "embedded_pg.relocated", {
    postgres_cannot_reach: [...(binOk ? [] : [opts.binDir]), ...(dataOk ? [] : [root])],
    binaries: binDir,
    data_dir: dataDir,
    ...(dataOk ? {} : { symlink: home }),
  });
  return { binDir, dataDir };
}

/** The folder `path` is a symlink to, or `null` when it is not one (or does not exist). */
async function linkTarget(path: string): Promise<string | null> {
  try {
    if (!(await Deno.lstat(path)).isSymlink) return null;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
  return resolve(dirname(path), await Deno.readLink(path));
}

/** True when the `postgres` user can search (folder) or execute (file) `path`. */
export async function postgresCanReach(path: string): Promise<boolean> {
  const out = await new Deno.Command("runuser", {
    args: ["-u", "postgres", "--", "test", "-x", path],
    stdout: "null",
    stderr: "null",
  }).output();
  return out.success;
}

/** A short hex digest of `text`. */
async function shortHash(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest).slice(0, 8)].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/**
 * `/var/tmp/jobq-<hash of root>`, created if needed: a folder of root's
 * that others may enter but not write (/var/tmp is shared: a folder someone
 * else made there is refused, never used).
 */
async function relocatedFolder(root: string): Promise<string> {
  const base = join(RELOCATED_BASE, `jobq-${await shortHash(root)}`);
  try {
    await Deno.mkdir(base, { mode: 0o755 });
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
  }
  const st = await Deno.lstat(base);
  if (!st.isDirectory || st.uid !== 0 || ((st.mode ?? 0) & 0o022) !== 0) {
    throw new EmbeddedPgError(
      `${base} is not a folder owned and writable only by root: remove it, or set DATABASE_URL`,
    );
  }
  await Deno.chmod(base, 0o755); // whatever the umask, postgres must enter it
  return base;
}

/**
 * A copy of the platform package's `native/` folder (binaries, libraries,
 * share) in `base`, made once per package version; returns its `bin/`.
 */
async function copyBinaries(binDir: string, base: string): Promise<string> {
  const native = dirname(binDir);
  const pkg = JSON.parse(await Deno.readTextFile(join(dirname(native), "package.json")));
  const target = join(base, `native-${pkg.version}`);
  const done = join(target, ".copied");
  if (await isFile(done)) return join(target, "bin");
  const tmp = `${target}.tmp-${Deno.pid}`;
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  await runOrThrow("cp", ["-a", native, tmp]);
  await runOrThrow("chmod", ["-R", "a+rX,go-w", tmp]);
  await Deno.writeTextFile(join(tmp, ".copied"), `${native}\n`);
  await Deno.remove(target, { recursive: true }).catch(() => {});
  await Deno.rename(tmp, target);
  log("info", "embedded_pg.binaries_copied", { from: native, to: target });
  return join(target, "bin");
}

/**
 * Data already in `home`, out of the postgres user's reach, is not moved
 * (it is the user's): an {@link EmbeddedPgError} says what to do.
 */
async function refuseUnreachableData(home: string): Promise<void> {
  if (await isFile(join(home, "PG_VERSION"))) {
    throw new EmbeddedPgError(
      `the postgres user cannot reach the data in ${home} (a folder above it is private): ` +
        `allow others to enter those folders (chmod o+x), move the checkout, or set DATABASE_URL`,
    );
  }
}

/**
 * Moves the empty or missing data folder `home` to `<base>/postgres`,
 * leaving a symlink in its place.
 */
async function relocateData(home: string, base: string): Promise<string> {
  const target = join(base, "postgres");
  try {
    await Deno.remove(home); // an empty folder an earlier failed start left behind
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) {
      throw new EmbeddedPgError(
        `the postgres user cannot reach ${home} and it is not empty: remove it, or set DATABASE_URL`,
      );
    }
  }
  await Deno.mkdir(target, { recursive: true });
  await Deno.symlink(target, home);
  return target;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

async function runOrThrow(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}
