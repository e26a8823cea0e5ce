/** Per-page CSS from the classes a page uses. */
import { classTokens, extractCss } from "./twind.ts";
import { assert, assertStringIncludes } from "../../tests/_helpers/assert.ts";

Deno.test("twind: per-page CSS holds the used classes, dark variants and the theme", () => {
  const css = extractCss(
    '<div class="bg-card text-muted-foreground md:grid dark:bg-red-900/40"></div>',
  );
  assertStringIncludes(css, ".bg-card{");
  assertStringIncludes(css, "@media (min-width:768px){.md\\:grid{display:grid}}");
  assertStringIncludes(css, "prefers-color-scheme");
  assert(
    !extractCss('<div class="p-4"></div>').includes(".bg-card"),
    "the sheet leaks between pages",
  );
  assert(
    classTokens('const a = "px-2 hover:bg-muted"; const b = `w-full`;').includes("hover:bg-muted"),
  );
});
