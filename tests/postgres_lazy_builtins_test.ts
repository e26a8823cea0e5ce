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
import { ROOT } from "../lib/web/paths.ts";
import { adminUrl } from "./_helpers/db.ts";
import { assert, assertEquals } from "./_helpers/assert.ts";

const LAZY = ["net", "tls", "crypto", "stream", "fs", "os", "perf_hooks"].map((m) => `node:${m}`);

interface Dep {
  isDynamic?: boolean;
  code?: { specifier: string };
}

Deno.test("postgres.js: a runner's static imports reach none of the lazily loaded Node built-ins", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", join(ROOT, "worker", "runner.ts")],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: { specifier: string; dependencies?: Dep[] }[];
    redirects: Record<string, string>;
  };
  const bySpecifier = new Map(graph.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const walk = (specifier: string, via: string) => {
    const target = graph.redirects[specifier] ?? specifier;
    if (seen.has(target)) return;
    seen.add(target);
    assert(!LAZY.includes(target), `worker/runner.ts reaches ${target} (through ${via})`);
    for (const d of bySpecifier.get(target)?.dependencies ?? []) {
      if (d.code && !d.isDynamic) walk(d.code.specifier, target);
    }
  };
  for (const root of graph.roots) walk(root, "the entry");
  assert(
    [...seen].some((s) => s.endsWith("/vendor/postgres/src/connection.js")),
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
