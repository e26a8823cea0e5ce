/** The route context: same-origin redirects and `next` paths, the connection info. */
import { Hono } from "hono";
import { mountRoutes } from "./app.ts";
import { sameOriginPath as safeNext } from "./context.ts";
import type { Context } from "./define.ts";
import { assertEquals } from "../../tests/_helpers/assert.ts";

type State = { who: string };

async function appOf(modules: Record<string, Record<string, unknown>>) {
  const app = new Hono<{ Variables: { state: State } }>();
  await mountRoutes<State>(app, { modules, state: () => ({ who: "me" }) });
  return (path: string, init?: RequestInit, info?: Deno.ServeHandlerInfo) =>
    Promise.resolve(app.fetch(new Request("http://x" + path, init), info));
}

Deno.test("login: next only ever points into this site", () => {
  assertEquals(safeNext("/jobs?status=failed"), "/jobs?status=failed");
  assertEquals(safeNext("//evil.example"), "/");
  assertEquals(safeNext("https://evil.example"), "/");
  assertEquals(safeNext("/\\evil.example"), "/");
  assertEquals(safeNext(null), "/");
});

Deno.test("fresh: ctx.redirect stays on this origin; ctx.info is the connection", async () => {
  const fetch = await appOf({
    "go.ts": {
      handler: (ctx: Context<State>) => ctx.redirect(ctx.url.searchParams.get("to") ?? "", 303),
    },
    "who.ts": {
      handler: (ctx: Context<State>) =>
        new Response((ctx.info.remoteAddr as Deno.NetAddr).hostname || "none"),
    },
  });
  for (
    const [to, want] of [
      ["/jobs?x=1", "/jobs?x=1"],
      ["//evil.example/", "/"],
      ["/\\evil.example", "/"],
      ["https://evil.example/", "/"],
    ]
  ) {
    const res = await fetch("/go?to=" + encodeURIComponent(to));
    assertEquals([res.status, res.headers.get("location")], [303, want], to);
  }
  const info = {
    remoteAddr: { transport: "tcp" as const, hostname: "10.1.2.3", port: 1 },
    completed: Promise.resolve(),
  };
  assertEquals(await (await fetch("/who", {}, info)).text(), "10.1.2.3");
  assertEquals(await (await fetch("/who")).text(), "none");
});
