/** mountRoutes: what a Fresh 2 app relies on, on in-memory route modules. */
import type { ComponentType } from "preact";
import { Hono } from "hono";
import { mountRoutes } from "./app.ts";
import { HttpError } from "./error.ts";
import type { Context, PageProps } from "./define.ts";
import { assertEquals, assertStringIncludes } from "../../tests/_helpers/assert.ts";

type State = { who: string };
type Props = PageProps<unknown, State>;
const Wrap = (tag: string) => ({ Component }: { Component: ComponentType }) => (
  <section data-wrap={tag}>
    <Component />
  </section>
);

async function appOf(modules: Record<string, Record<string, unknown>>) {
  const app = new Hono<{ Variables: { state: State } }>();
  await mountRoutes<State>(app, { modules, state: () => ({ who: "me" }) });
  return (path: string, init?: RequestInit, info?: Deno.ServeHandlerInfo) =>
    Promise.resolve(app.fetch(new Request("http://x" + path, init), info));
}

Deno.test("fresh: a function handler answers every method; a method map 405s the others", async () => {
  const fetch = await appOf({
    "any.ts": { handler: (ctx: Context<State>) => new Response(ctx.req.method) },
    "get.ts": { handler: { GET: () => new Response("get") } },
  });
  assertEquals(await (await fetch("/any", { method: "PUT" })).text(), "PUT");
  assertEquals(await (await fetch("/any")).text(), "GET");
  const wrong = await fetch("/get", { method: "DELETE" });
  assertEquals([wrong.status, wrong.headers.get("allow")], [405, "GET, HEAD"]);
  await wrong.body?.cancel();
});

Deno.test("fresh: async pages and layouts are awaited; page() data, status and headers", async () => {
  const fetch = await appOf({
    "_layout.tsx": {
      default: async ({ Component }: Props) => {
        await Promise.resolve();
        return (
          <main>
            <Component />
          </main>
        );
      },
    },
    "p.tsx": {
      handler: { GET: () => ({ data: { n: 2 }, status: 201, headers: { "x-a": "1" } }) },
      default: async ({ data, state }: PageProps<{ n: number }, State>) => {
        await Promise.resolve();
        return <p>{state.who} {data.n}</p>;
      },
    },
  });
  const res = await fetch("/p");
  assertEquals([res.status, res.headers.get("x-a")], [201, "1"]);
  assertEquals(await res.text(), "<main><p>me 2</p></main>");
});

Deno.test("fresh: nested _layout and _error apply to their folder; skipInheritedLayouts", async () => {
  const boom = () => {
    throw new HttpError(409, "taken");
  };
  const ErrorPage = (tag: string) => ({ error }: Props) => (
    <b>{tag} {(error as HttpError).status} {(error as HttpError).message}</b>
  );
  const fetch = await appOf({
    "_app.tsx": { default: Wrap("app") },
    "_layout.tsx": { default: Wrap("root") },
    "_error.tsx": { default: ErrorPage("root") },
    "a/_layout.tsx": { default: Wrap("a") },
    "a/_error.tsx": { default: ErrorPage("a") },
    "a/page.tsx": { default: () => <i>a</i> },
    "a/bare.tsx": { config: { skipInheritedLayouts: true }, default: () => <i>bare</i> },
    "a/boom.ts": { handler: boom },
    "b/boom.ts": { handler: boom },
  });
  assertEquals(
    await (await fetch("/a/page")).text(),
    '<section data-wrap="app"><section data-wrap="root"><section data-wrap="a"><i>a</i>' +
      "</section></section></section>",
  );
  assertEquals(
    await (await fetch("/a/bare")).text(),
    '<section data-wrap="app"><i>bare</i></section>',
  );
  const a = await fetch("/a/boom");
  assertEquals(a.status, 409);
  assertStringIncludes(await a.text(), "<b>a 409 taken</b>");
  assertStringIncludes(await (await fetch("/b/boom")).text(), "<b>root 409 taken</b>");
});

Deno.test("fresh: files in (_name) folders are not routes; (group) folders add no segment", async () => {
  const fetch = await appOf({
    "(_lib)/helpers.ts": { handler: () => new Response("helper") },
    "(admin)/users.ts": { handler: () => new Response("users") },
  });
  const helper = await fetch("/helpers");
  assertEquals(helper.status, 404);
  await helper.body?.cancel();
  assertEquals(await (await fetch("/users")).text(), "users");
});

Deno.test("routes: /jobs/new wins over /jobs/:id, whatever the file order", async () => {
  const app = new Hono<{ Variables: { state: Record<string, never> } }>();
  await mountRoutes(app, {
    modules: {
      "jobs/[id].tsx": {
        handler: {
          GET: (c: { params: Record<string, string> }) => new Response("id:" + c.params.id),
        },
      },
      "jobs/new.tsx": { handler: { GET: () => new Response("new") } },
    },
    state: () => ({}),
  });
  assertEquals(await (await app.fetch(new Request("http://x/jobs/new"))).text(), "new");
  assertEquals(await (await app.fetch(new Request("http://x/jobs/abc"))).text(), "id:abc");
  assertEquals((await app.fetch(new Request("http://x/jobs/abc", { method: "POST" }))).status, 405);
});
