/**
 * postgres.js (vendor/postgres) loads the Node built-ins it needs only for
 * some connections — node:net, node:tls, node:crypto, node:stream, node:fs,
 * node:os — when it first uses them: each costs every Web Worker that
 * imports it CPU at start-up, and a runner on lib/pg_socket.ts without TLS,
 * password hashing or COPY uses none. The runner's static graph reaches none
 * of them, and the paths that load them still work: a node:net socket, COPY
 * streams (node:stream) and `sql.file` (node:fs).
 */
import { join } from "node:path";
import { openPool } from "../lib/db.ts";
import { adminUrl } from "./_helpers/db.ts";
import { assert, assertEquals } from "./_helpers/assert.ts";
import { staticImports } from "./_helpers/module_graph.ts";

const LAZY = ["net", "tls", "crypto", "stream", "fs", "os", "perf_hooks"].map((m) => `node:${m}`);

Deno.test("postgres.js: a runner's static imports reach none of the lazily loaded Node built-ins", async () => {
  const graph = await staticImports("worker/runner.ts");
  for (const [module, via] of graph) {
    assert(!LAZY.includes(module), `worker/runner.ts reaches ${module} (through ${via})`);
  }
  assert(
    [...graph.keys()].some((s) => s.endsWith("/vendor/postgres/src/connection.js")),
    "postgres.js not found in the graph: it was not read",
  );
});

Deno.test("postgres.js: node:net sockets, COPY streams and sql.file still work", async () => {
  const url = await adminUrl();
  const sql = openPool(url, { socket: "node", max: 1 });
  const dir = await Deno.makeTempDir();
  try {
    const [{ v }] = await sql`SELECT 40 + 2 AS v`;
    assertEquals(v, 42);

    await sql`CREATE TEMP TABLE lazy_copy (n int, s text)`;
    const writable = await sql`COPY lazy_copy FROM STDIN`.writable();
    await new Promise<void>((resolve, reject) => {
      writable.on("error", reject);
      writable.write("1\tone\n");
      writable.end("2\ttwo\n", () => resolve());
    });
    // The COPY ends when the stream finishes; the next query waits for it on this one connection.
    const rows = await sql<{ n: number; s: string }[]>`SELECT n, s FROM lazy_copy ORDER BY n`;
    assertEquals(rows.map((r) => [r.n, r.s]), [[1, "one"], [2, "two"]]);

    const readable = await sql`COPY (SELECT n FROM lazy_copy ORDER BY n) TO STDOUT`.readable();
    let text = "";
    for await (const chunk of readable) text += new TextDecoder().decode(chunk);
    assertEquals(text, "1\n2\n");

    const file = join(dir, "q.sql");
    await Deno.writeTextFile(file, "SELECT 'from a file' AS s");
    const [{ s }] = await sql.file(file);
    assertEquals(s, "from a file");
  } finally {
    await sql.end({ timeout: 5 });
    await Deno.remove(dir, { recursive: true });
  }
});
