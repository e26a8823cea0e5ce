/** The embedded PostgreSQL: starts from nothing, is shared, and keeps its data across restarts. */
import { dirname, join } from "node:path";
import { ensureEmbedded, stopEmbedded } from "../lib/embedded_pg.ts";
import { placeEmbedded } from "../lib/embedded_pg_place.ts";
import { openPool } from "../lib/db.ts";
import { assert, assertEquals, assertMatch } from "./_helpers/assert.ts";
import { type Proc, repoPath, spawnCommand, waitFor } from "./_helpers/faults.ts";
import { privateClone } from "./_helpers/private_clone.ts";

Deno.test({
  name: "embedded postgres: initialises, is found by a second caller, survives a restart",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dataRoot = await Deno.makeTempDir({ prefix: "jobq-embedded-" });
    if (Deno.uid() === 0) await new Deno.Command("chmod", { args: ["755", dataRoot] }).output();
    try {
      const [a, b] = await Promise.all([
        ensureEmbedded({ dataRoot }),
        ensureEmbedded({ dataRoot }),
      ]);
      assertEquals([a.started, b.started].sort(), [false, true], "exactly one caller started it");
      assertEquals(a.url, b.url);
      // A folder the postgres user can enter keeps the data where it always was.
      assertEquals(a.dataDir, join(dataRoot, "postgres"));
      assert(!(await Deno.lstat(a.dataDir)).isSymlink, "the data folder is not moved");
      const sql = openPool(a.url, { max: 1 });
      await sql`CREATE TABLE kept (v text)`;
      await sql`INSERT INTO kept VALUES ('still here')`;
      await sql.end();
      await stopEmbedded({ dataRoot });
      const again = await ensureEmbedded({ dataRoot });
      assertEquals(again.started, true);
      const sql2 = openPool(again.url, { max: 1 });
      const rows = await sql2<{ v: string }[]>`SELECT v FROM kept`;
      assertEquals(rows.map((r) => r.v), ["still here"]);
      await sql2.end();
    } finally {
      await stopEmbedded({ dataRoot }).catch(() => {});
      await Deno.remove(dataRoot, { recursive: true });
    }
  },
});

/** `deno task start` in `project` with DATABASE_URL unset; resolves once it serves. */
async function startTask(project: string) {
  const p = spawnCommand(Deno.execPath(), ["task", "start"], {
    cwd: project,
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH") ?? "", HOME: Deno.env.get("HOME") ?? "/", PORT: "0" },
  });
  const listening = await p.waitForLog((l) => l.msg === "web.listening", 240_000);
  const db = p.lines.find((l) => l.msg === "database")!;
  return {
    p,
    web: String(listening.url),
    url: String(db.url),
    dataDir: String(db.data_dir),
    startedNow: db.started_now,
  };
}

Deno.test({
  name: "embedded postgres: deno task start works from a clone inside a private (0700) folder",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const clone = await privateClone();
    const dataRoot = join(clone.project, ".data");
    const procs: Proc[] = [];
    let dataDir = "";
    try {
      const first = await startTask(clone.project);
      procs.push(first.p);
      dataDir = first.dataDir;
      assertEquals(first.startedNow, true);
      if (Deno.uid() === 0) {
        // The postgres user cannot enter the clone: the server runs from outside it.
        assertMatch(dataDir, /^\/var\/tmp\/jobq-[0-9a-f]{16}\/postgres$/);
        assertEquals(await Deno.realPath(join(dataRoot, "postgres")), dataDir);
        const moved = first.p.lines.find((l) => l.msg === "embedded_pg.relocated");
        assertMatch(String(moved?.binaries), /^\/var\/tmp\/jobq-[0-9a-f]{16}\/native-/);
      } else {
        assertEquals(dataDir, join(dataRoot, "postgres"));
      }
      const ready = await fetch(first.web + "readyz");
      assertEquals(ready.status, 200, await ready.text());
      const sql = openPool(first.url, { max: 1 });
      const [{ dir }] = await sql<
        { dir: string }[]
      >`SELECT current_setting('data_directory') AS dir`;
      assertEquals(dir, dataDir);
      await sql`CREATE TABLE kept (v text)`;
      await sql`INSERT INTO kept VALUES ('still here')`;
      await sql.end();
      first.p.kill("SIGINT");
      assertEquals((await first.p.status).code, 0);

      // Started again: the server still running from the first start is found, not doubled.
      const second = await startTask(clone.project);
      procs.push(second.p);
      assertEquals([second.startedNow, second.url, second.dataDir], [false, first.url, dataDir]);
      second.p.kill("SIGINT");
      assertEquals((await second.p.status).code, 0);

      // A server that died (kill -9: its postmaster.pid left behind) is started again.
      const pid = Number((await Deno.readTextFile(join(dataDir, "postmaster.pid"))).split("\n")[0]);
      Deno.kill(pid, "SIGKILL");
      await waitFor(async () => !(await Deno.stat(`/proc/${pid}`).then(() => true, () => false)));
      const again = await ensureEmbedded({ dataRoot });
      assertEquals([again.started, again.dataDir], [true, dataDir]);
      const sql2 = openPool(again.url, { max: 1 });
      const rows = await sql2<{ v: string }[]>`SELECT v FROM kept`;
      assertEquals(rows.map((r) => r.v), ["still here"]);
      await sql2.end();
    } finally {
      for (const p of procs) p.kill("SIGKILL");
      await Promise.all(procs.map((p) => p.status));
      await stopEmbedded({ dataRoot }).catch(() => {});
      if (dataDir.startsWith("/var/tmp/jobq-")) {
        await Deno.remove(dirname(dataDir), { recursive: true });
      }
      await clone.remove();
    }
  },
});

Deno.test("embedded postgres: data the postgres user cannot reach stops the start with one line", async () => {
  const folder = await Deno.makeTempDir({ prefix: "jobq-private-" });
  await Deno.chmod(folder, 0o700);
  const dataRoot = join(folder, "data");
  try {
    await Deno.mkdir(join(dataRoot, "postgres"), { recursive: true });
    await Deno.writeTextFile(join(dataRoot, "postgres", "PG_VERSION"), "18\n");
    if (Deno.uid() !== 0) {
      // Not root: the server runs as this user, who reaches the data where it is.
      const placed = await placeEmbedded({ dataRoot, binDir: "/nonexistent" });
      assertEquals(placed.dataDir, join(dataRoot, "postgres"));
      return;
    }
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["task", "migrate"],
      cwd: repoPath(""),
      clearEnv: true,
      env: {
        PATH: Deno.env.get("PATH") ?? "",
        HOME: Deno.env.get("HOME") ?? "/",
        DATA_DIR: dataRoot,
        NO_COLOR: "1",
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const lines = new TextDecoder().decode(out.stderr).trim().split("\n")
      .filter((l) => !l.startsWith("Task migrate "));
    assertEquals(out.code, 1);
    assertEquals(lines, [
      `embedded PostgreSQL: the postgres user cannot reach the data in ${dataRoot}/postgres ` +
      "(a folder above it is private): allow others to enter those folders (chmod o+x), " +
      "move the checkout, or set DATABASE_URL",
    ]);
    assert(await Deno.stat(join(dataRoot, "postgres", "PG_VERSION")), "the data is left in place");
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});
