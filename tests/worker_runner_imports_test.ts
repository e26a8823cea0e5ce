/**
 * A runner is a V8 isolate that loads every module it imports, once per Web
 * Worker: its static imports stay off the job schemas (zod), the scheduler
 * (croner) and the whole queue core, which would add tens of milliseconds of
 * CPU to the start of each.
 */
import { join } from "node:path";
import { ROOT } from "../lib/web/paths.ts";
import { assert } from "./_helpers/assert.ts";

const FORBIDDEN = [
  /^npm:\/?zod@/,
  /^npm:\/?croner@/,
  /\/lib\/queue\/mod\.ts$/,
  /\/lib\/queue\/jobs\.ts$/,
  /\/lib\/jobs\/mod\.ts$/,
  /\/lib\/jobs\/common\.ts$/,
];

interface Dep {
  specifier: string;
  isDynamic?: boolean;
  code?: { specifier: string };
}

Deno.test("runner: a Web Worker loads neither the job schemas, zod nor the whole queue core", async () => {
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
  // Static runtime imports only: type-only imports are erased, and dynamic
  // ones (nodemailer, loaded on the first e-mail over SMTP) load on demand.
  const seen = new Set<string>();
  const walk = (specifier: string, via: string) => {
    const target = graph.redirects[specifier] ?? specifier;
    if (seen.has(target)) return;
    seen.add(target);
    const bad = FORBIDDEN.find((re) => re.test(target));
    assert(!bad, `worker/runner.ts reaches ${target} (through ${via})`);
    for (const d of bySpecifier.get(target)?.dependencies ?? []) {
      if (d.code && !d.isDynamic) walk(d.code.specifier, target);
    }
  };
  for (const root of graph.roots) walk(root, "the entry");
  assert(seen.size > 10, `only ${seen.size} modules found: the graph was not read`);
});
