/**
 * The SQL seam, checked on the source: statements only in lib/queue (plus
 * lib/migrate.ts and lib/db.ts), the constants routes, islands and the queue
 * share written once (lib/job_constants.ts), and every advisory-lock key in
 * lib/queue/lock_keys.ts, which the migrations' SQL functions agree with.
 */
import { join, relative } from "node:path";
import { ROOT } from "../lib/web/paths.ts";
import * as keys from "../lib/queue/lock_keys.ts";
import { assertEquals } from "./_helpers/assert.ts";

const CODE_DIRS = ["lib", "routes", "components", "islands", "worker", "scripts"];
const SQL_HOMES = [/^lib\/queue\//, /^lib\/migrate\.ts$/, /^lib\/db\.ts$/];

/** Every .ts/.tsx file under `dirs`, as [path relative to the root, text]. */
async function sources(dirs: string[]): Promise<[string, string][]> {
  const out: [string, string][] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = join(dir, e.name);
      if (e.isDirectory) await walk(path);
      // Unit tests beside their modules (lib/web/*_test.ts) are tests, like tests/: not the seam's.
      else if (/\.tsx?$/.test(e.name) && !/_test\.tsx?$/.test(e.name)) {
        out.push([relative(ROOT, path), await Deno.readTextFile(path)]);
      }
    }
  };
  for (const d of dirs) await walk(join(ROOT, d));
  return out.sort(([a], [b]) => a.localeCompare(b));
}

/** Files whose text matches `re`. */
async function filesMatching(re: RegExp): Promise<string[]> {
  return (await sources(CODE_DIRS)).filter(([, text]) => re.test(text)).map(([path]) => path);
}

Deno.test("seam: SQL statements live only in lib/queue, lib/migrate.ts and lib/db.ts", async () => {
  // A postgres.js tagged template (`sql\``, `tx<Row[]>\``, `opts.sql\``), not `sql` quoted in a comment.
  const statement = /(?<!`)\b(?:sql|tx|conn|pool)(?:<[^>`]*>)?`/;
  const outside = (await filesMatching(statement)).filter((p) =>
    !SQL_HOMES.some((re) => re.test(p))
  );
  assertEquals(outside, []);
});

Deno.test("seam: statuses, sort columns and the job-id pattern are written once", async () => {
  assertEquals(await filesMatching(/\[\s*"pending",\s*"processing",\s*"completed",/), [
    "lib/job_constants.ts",
  ]);
  assertEquals(await filesMatching(/"status",\s*"type",\s*"queue",?\s*\]/), [
    "lib/job_constants.ts",
  ]);
  assertEquals(await filesMatching(/\{8\}-\[0-9a-f/i), ["lib/job_constants.ts"]);
});

Deno.test("seam: advisory-lock keys are distinct, named once, and the migrations agree", async () => {
  const values = Object.values(keys);
  assertEquals(new Set(values).size, values.length);
  // No lock taken with a number written in place, outside lock_keys.ts.
  assertEquals(await filesMatching(/advisory_\w*lock\(\s*\d/), []);
  assertEquals(
    (await filesMatching(/\b7_?245_?0\d\d\b/)).filter((p) => p !== "lib/queue/lock_keys.ts"),
    [],
  );
  const taken: number[] = [];
  for await (const e of Deno.readDir(join(ROOT, "migrations"))) {
    const text = await Deno.readTextFile(join(ROOT, "migrations", e.name));
    for (const m of text.matchAll(/advisory_\w*lock(?:_shared)?\((\d+)[,)]/g)) {
      taken.push(Number(m[1]));
    }
  }
  assertEquals([...new Set(taken)].sort(), [
    keys.STATUS_COUNT_COMPACTION_LOCK_KEY,
    keys.TREND_COMPACTION_LOCK_KEY,
    keys.QUEUE_CLAIM_LOCK_KEY,
    keys.SEARCH_INDEX_LOCK_KEY,
  ]);
});
