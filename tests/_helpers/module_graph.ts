/**
 * The module graph of an entry point as `deno info --json` reports it, walked
 * through static runtime imports only: type-only imports are erased, and
 * dynamic ones load on demand. What a Web Worker or the main thread compiles
 * when it starts.
 */
import { join } from "node:path";
import { ROOT } from "../../lib/web/paths.ts";
import { assert } from "./assert.ts";

interface Dep {
  specifier: string;
  isDynamic?: boolean;
  code?: { specifier: string };
}

/**
 * The modules `entry` (a path from the project root) loads through static
 * imports, each with the module that first imports it ("the entry" for the
 * entry itself).
 */
export async function staticImports(entry: string): Promise<Map<string, string>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", join(ROOT, entry)],
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
  const seen = new Map<string, string>();
  const walk = (specifier: string, via: string) => {
    const target = graph.redirects[specifier] ?? specifier;
    if (seen.has(target)) return;
    seen.set(target, via);
    for (const d of bySpecifier.get(target)?.dependencies ?? []) {
      if (d.code && !d.isDynamic) walk(d.code.specifier, target);
    }
  };
  for (const root of graph.roots) walk(root, "the entry");
  assert(seen.size > 10, `only ${seen.size} modules found: the graph was not read`);
  return seen;
}
