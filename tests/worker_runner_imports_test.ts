/**
 * A runner is a V8 isolate that loads every module it imports, once per Web
 * Worker: its static imports stay off the job schemas (zod), the scheduler
 * (croner) and the whole queue core, which would add tens of milliseconds of
 * CPU to the start of each.
 */
import { assert } from "./_helpers/assert.ts";
import { staticImports } from "./_helpers/module_graph.ts";

const FORBIDDEN = [
  /^npm:\/?zod@/,
  /^npm:\/?croner@/,
  /\/lib\/queue\/mod\.ts$/,
  /\/lib\/queue\/jobs\.ts$/,
  /\/lib\/jobs\/mod\.ts$/,
  /\/lib\/jobs\/common\.ts$/,
];

Deno.test("runner: a Web Worker loads neither the job schemas, zod nor the whole queue core", async () => {
  for (const [module, via] of await staticImports("worker/runner.ts")) {
    const bad = FORBIDDEN.find((re) => re.test(module));
    assert(!bad, `worker/runner.ts reaches ${module} (through ${via})`);
  }
});
