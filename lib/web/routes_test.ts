/** File paths as route patterns, and their order. */
import { patternOf, specificity } from "./routes.ts";
import { assert, assertEquals } from "../../tests/_helpers/assert.ts";

Deno.test("routes: file paths become Hono patterns, groups add no segment", () => {
  assertEquals(patternOf("index.tsx"), "/");
  assertEquals(patternOf("jobs/index.tsx"), "/jobs");
  assertEquals(patternOf("jobs/[id].tsx"), "/jobs/:id");
  assertEquals(patternOf("jobs/new.tsx"), "/jobs/new");
  assertEquals(patternOf("(admin)/workers.tsx"), "/workers");
  assertEquals(patternOf("static/[...path].ts"), "/static/*");
  assert(specificity("/jobs/new") < specificity("/jobs/:id"));
  assert(specificity("/jobs/:id") < specificity("/static/*"));
});
