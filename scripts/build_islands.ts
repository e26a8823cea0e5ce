/** `deno task build`: rebuilds the island bundles into `static/islands/` and removes old files. */
import { buildIslands, configureIslands, OUT_DIR } from "../lib/web/build.ts";
import { BROWSER_SAFE } from "../lib/app.ts";

configureIslands({ browserSafe: BROWSER_SAFE });
await Deno.mkdir(OUT_DIR, { recursive: true });
const t0 = performance.now();
const m = await buildIslands({ clean: true });
console.log(
  `built ${Object.keys(m.islands).length} islands into static/islands/ in ${
    Math.round(performance.now() - t0)
  } ms`,
);
