/** Static files: caching, ETags and the folder they may not leave. */
import { isHashed, serveStatic } from "./static.ts";
import { assert, assertEquals, assertMatch } from "../../tests/_helpers/assert.ts";

Deno.test("static: ETag with 304, immutable caching only for hashed names, no escape from the folder", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/app-ABCD1234.js`, "export{}");
  await Deno.writeTextFile(`${dir}/logo.svg`, "<svg/>");
  const get = (p: string, h: HeadersInit = {}) =>
    serveStatic(new Request("http://x/static/" + p, { headers: h }), p, dir);
  const hashed = (await get("app-ABCD1234.js"))!;
  assertEquals(hashed.headers.get("cache-control"), "public, max-age=31536000, immutable");
  assertEquals(hashed.headers.get("content-type"), "text/javascript; charset=utf-8");
  const plain = (await get("logo.svg"))!;
  assertMatch(plain.headers.get("cache-control")!, /must-revalidate/);
  const again = (await get("logo.svg", { "if-none-match": plain.headers.get("etag")! }))!;
  assertEquals(again.status, 304);
  await Promise.all([hashed.body?.cancel(), plain.body?.cancel()]);
  assertEquals(await get("../etc/passwd"), null);
  assertEquals(await get("%2e%2e/x"), null);
  assertEquals(await get(".hidden"), null);
  assert(isHashed("chunk-QAPAVIHP.js") && !isHashed("favicon.svg"));
  await Deno.remove(dir, { recursive: true });
});
