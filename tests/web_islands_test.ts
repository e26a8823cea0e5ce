/**
 * Every island bundles for the browser, with a shared Preact chunk, and
 * imports only browser-safe code: no lib/db, lib/queue (types aside),
 * lib/config, worker/ or Deno APIs.
 */
import { join } from "node:path";
import { buildIslands } from "../lib/web/build.ts";
import { ROOT } from "../lib/web/paths.ts";
import { assert, assertEquals } from "./_helpers/assert.ts";

const FORBIDDEN = [
  /\/lib\/db\.ts$/,
  /\/lib\/queue\//,
  /\/lib\/config\.ts$/,
  /\/worker\//,
  /\/lib\/migrate/,
];

async function islandNames(): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(join(ROOT, "islands"))) {
    if (e.isFile && e.name.endsWith(".tsx")) names.push(e.name.slice(0, -4));
  }
  return names.sort();
}

Deno.test("islands: each imports only browser-safe modules", async () => {
  for (const name of await islandNames()) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", join(ROOT, "islands", name + ".tsx")],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(out.success, new TextDecoder().decode(out.stderr));
    const graph = JSON.parse(new TextDecoder().decode(out.stdout));
    // Type-only imports are erased from bundles; only runtime dependencies count.
    for (
      const m of graph.modules as {
        specifier: string;
        dependencies?: { specifier: string; code?: { specifier: string } }[];
      }[]
    ) {
      for (const d of m.dependencies ?? []) {
        const target = d.code?.specifier;
        if (!target) continue;
        const bad = FORBIDDEN.find((re) => re.test(target));
        assert(
          !bad,
          `islands/${name}.tsx reaches ${target} (through ${m.specifier}); islands must stay browser-safe`,
        );
      }
    }
  }
});

Deno.test("islands: bundle minified, content-hashed, with shared chunks and no Deno APIs", async () => {
  const outDir = await Deno.makeTempDir();
  try {
    const m = await buildIslands({ outDir });
    assertEquals(Object.keys(m.islands).sort(), await islandNames());
    for (const [name, file] of Object.entries(m.islands)) {
      assert(new RegExp(`^${name}-[A-Z0-9]{8}\\.js$`).test(file), file);
      const code = await Deno.readTextFile(join(outDir, file));
      assert(m.imports[file].length > 0, `${file} shares no chunk`);
      assert(code.split("\n").length < code.length / 300 + 5, `${file} does not look minified`);
    }
    for await (const e of Deno.readDir(outDir)) {
      if (!e.name.endsWith(".js")) continue;
      const code = await Deno.readTextFile(join(outDir, e.name));
      assert(!/\bDeno\.[a-z]/.test(code), `${e.name} uses Deno APIs`);
    }
    const shared = Object.values(m.imports).reduce((a, b) => a.filter((x) => b.includes(x)));
    assert(shared.length > 0, "no chunk is shared by every island (Preact should be)");
  } finally {
    await Deno.remove(outDir, { recursive: true });
  }
});
